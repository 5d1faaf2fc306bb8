// Completions for the search box: a listbox under the input, driven by /suggest.
// The form works without this script; with it, typing shows suggestions that can be
// chosen with the arrow keys and Enter, or by clicking.
(function () {
  "use strict";
  const input = document.getElementById("q");
  const list = document.getElementById("suggestions");
  if (!input || !list) return;
  const form = input.form;
  let active = -1;
  let timer = null;
  let last = "";

  function options() { return Array.from(list.querySelectorAll('[role="option"]')); }

  function close() {
    list.hidden = true;
    list.innerHTML = "";
    active = -1;
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
  }

  function render(items) {
    list.innerHTML = "";
    items.forEach((item, i) => {
      const li = document.createElement("li");
      li.id = "suggestion-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.textContent = item.text;
      const kind = document.createElement("span");
      kind.className = "suggest-kind";
      kind.textContent = item.kind === "word" ? "" : " " + item.kind;
      li.appendChild(kind);
      li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(item.text); });
      list.appendChild(li);
    });
    const open = items.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    active = -1;
  }

  async function fetchSuggestions(text) {
    try {
      const r = await fetch("/suggest?limit=8&q=" + encodeURIComponent(text));
      if (!r.ok || input.value.trim() !== text) return;
      render((await r.json()).suggestions);
    } catch (e) {
      close();
    }
  }

  input.addEventListener("input", () => {
    const text = input.value.trim();
    clearTimeout(timer);
    if (text.length < 2 || text === last) { if (text.length < 2) close(); return; }
    timer = setTimeout(() => { last = text; fetchSuggestions(text); }, 120);
  });

  input.addEventListener("keydown", (e) => {
    if (list.hidden) return;
    if (e.key === "ArrowDown") { e.preventDefault(); highlight(active + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); highlight(active - 1); }
    else if (e.key === "Escape") { close(); }
    else if (e.key === "Enter" && active >= 0) {
      e.preventDefault();
      choose(options()[active].firstChild.textContent);
    }
  });

  input.addEventListener("blur", () => setTimeout(close, 150));
})();
