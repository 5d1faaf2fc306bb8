// The search box as a WAI-ARIA 1.2 combobox: a listbox of completions from /suggest under
// the input. Typing opens it (the number of suggestions is announced); ArrowDown and
// ArrowUp move through the options (ArrowDown opens the list when it is closed), Enter
// picks one, Escape closes the list and keeps the text. The form works without this
// script, and so do the filters (a disclosure, closed on a phone).
(function () {
  "use strict";
  const input = document.getElementById("q");
  const list = document.getElementById("suggestions");
  const status = document.getElementById("suggest-status");
  const PHONE = window.matchMedia("(max-width: 700px)");

  // Without ::details-content (CSS), a wide screen opens the filters here.
  const filters = document.querySelector("details.filters");
  if (filters && !CSS.supports("selector(::details-content)") && !PHONE.matches) {
    filters.open = true;
  }
  if (!input || !list) return;

  const form = input.form;
  const cache = new Map(); // text -> suggestions, for this page
  let active = -1;
  let timer = null;
  let wanted = ""; // the text whose suggestions are awaited or shown

  function options() { return Array.from(list.querySelectorAll('[role="option"]')); }

  function say(text) { if (status) status.textContent = text; }

  function close() {
    list.hidden = true;
    list.replaceChildren();
    active = -1;
    wanted = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function choose(text) {
    input.value = text;
    close();
    form.submit();
  }

  function highlight(index) {
    const opts = options();
    if (!opts.length) return;
    active = (index + opts.length) % opts.length;
    opts.forEach((o, i) => o.setAttribute("aria-selected", i === active ? "true" : "false"));
    input.setAttribute("aria-activedescendant", opts[active].id);
    opts[active].scrollIntoView({ block: "nearest" });
  }

  function render(items) {
    list.replaceChildren();
    items.forEach((item, i) => {
      const li = document.createElement("li");
      li.id = "suggestion-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("aria-setsize", String(items.length));
      li.setAttribute("aria-posinset", String(i + 1));
      li.dataset.text = item.text;
      li.append(item.text);
      if (item.kind !== "word") {
        const kind = document.createElement("span");
        kind.className = "suggest-kind";
        kind.textContent = ", " + (item.kind === "location" ? "place" : item.kind);
        li.appendChild(kind);
      }
      li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(item.text); });
      list.appendChild(li);
    });
    const open = items.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
    say(open ? items.length + (items.length === 1 ? " suggestion" : " suggestions") +
      ": up and down arrows to choose" : "No suggestions");
  }

  async function suggest(text, then) {
    wanted = text;
    if (cache.has(text)) { render(cache.get(text)); if (then) then(); return; }
    try {
      const r = await fetch("/suggest?limit=8&q=" + encodeURIComponent(text));
      if (!r.ok) return;
      const items = (await r.json()).suggestions;
      cache.set(text, items);
      if (input.value.trim() !== text || wanted !== text) return; // typed on, or closed
      render(items);
      if (then) then();
    } catch (e) {
      close();
    }
  }

  input.addEventListener("input", () => {
    const text = input.value.trim();
    clearTimeout(timer);
    if (text.length < 2) { close(); return; }
    timer = setTimeout(() => suggest(text), 120);
  });

  input.addEventListener("keydown", (e) => {
    if (list.hidden) {
      // Closed: ArrowDown (or Alt+ArrowDown) opens the list for the text as it is.
      const text = input.value.trim();
      if (e.key === "ArrowDown" && text.length >= 2) {
        e.preventDefault();
        suggest(text, e.altKey ? null : () => highlight(0));
      }
      return;
    }
    if (e.key === "ArrowDown") { e.preventDefault(); highlight(active + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); highlight(active - 1); }
    else if (e.key === "Escape") { e.preventDefault(); close(); say("Suggestions closed"); }
    else if (e.key === "Enter" && active >= 0) {
      e.preventDefault();
      choose(options()[active].dataset.text);
    } else if (e.key === "Tab") { close(); }
  });

  input.addEventListener("blur", () => setTimeout(() => {
    if (document.activeElement !== input) close();
  }, 150));
})();
