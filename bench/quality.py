"""Quality harness: related events and known-item search, against plain-Whoosh baselines.

    .venv/bin/python bench/quality.py            # evaluate: prints the table for the README
    .venv/bin/python bench/quality.py --tune     # choose the weights for config.toml

Related events (precision@10): a blind copy of the dev corpus holds only the event pages
that belong to a story, each stripped of every trace of it (the "Story:" title prefix,
the story tag, the Related list). For 500 events whose story has at least 5 events there,
GET /events/<id>/related?limit=10 and count the hits of the same story. Baseline: Whoosh's
`more_like` on a plain index of the same texts in one `body` field.

Known items (MRR@10, success@10): 1,000 queries, each two or three words of one event
drawn with a preference for rare words; the event's rank in GET /search. Baseline: a
plain Whoosh index (title, body) searched with a default MultifieldParser (BM25F).

Typo'd known items (bench/typos.py, `--search-only` prints only these): the same
queries with one edit in a word of 5+ letters, MRR@10 before and with typo tolerance;
and the known-item MRR@10 at a few recency half-lives.

Samples use fixed seeds; --tune uses other seeds than the evaluation, so the reported
figures are not those the weights were fitted on.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import logging
import math
import random
import re
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import UNPACKED, corpus, table

from searchsvc.config import Config, load_config
from searchsvc.content import scan
from searchsvc.index import SearchIndex, run_index
from searchsvc.index import related as rel
from searchsvc.index.schema import TEXT_ANALYZER, stored_dict, stored_hit
from searchsvc.model import Document
from searchsvc.parsing import parse_file
from searchsvc.query import SearchRequest
from searchsvc.web import create_app

log = logging.getLogger("bench")
EVAL_SEED, TUNE_SEED = 20261123, 7
MIN_STORY = 5


# --- the blind tree --------------------------------------------------------------------


def _parse_events(root: Path, kinds: tuple[str, ...] = ("event",)) -> dict[str, Document]:
    config = load_config(env={}, flags={"content.root": str(root)})
    out = {}
    for info in scan(config.content).values():
        info = info.classified(config.content)
        if info.role not in kinds:
            continue
        doc = parse_file(Path(info.path), root, info.id, info.role)
        if isinstance(doc, Document):
            out[doc.id] = doc
    return out


def blind_text(text: str, story: str) -> str:
    """The page without any trace of its story: no title prefix, story tag or Related."""
    prefix = re.compile(r"^" + re.escape(story) + r"\s*:\s*", re.I)
    out, skipping, in_front = [], False, text.startswith("---")
    lines = text.split("\n")
    for k, line in enumerate(lines):
        if in_front and k > 0 and line.strip() == "---":
            in_front = False
        if in_front and line.strip().lstrip("- ").strip().casefold() == story.casefold():
            continue  # the story in front matter tags
        if line.startswith("### "):
            skipping = line.strip().rstrip(":").lower() in ("### related", "### related events")
        if skipping:
            continue
        if line.startswith("# "):
            line = "# " + prefix.sub("", line[2:])
        elif not line.startswith("#"):
            line = prefix.sub("", line)
        out.append(line)
    return "\n".join(out)


def blind_tree(src: Path, dest: Path) -> dict[str, str]:
    """Write the blind copy; return the ground truth: event id -> story."""
    truth = {}
    if dest.exists():
        shutil.rmtree(dest)
    for doc_id, doc in _parse_events(src).items():
        if not doc.story:
            continue
        text = (src / doc_id).read_text(encoding="utf-8")
        path = dest / doc_id
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(blind_text(text, doc.story), encoding="utf-8")
        truth[doc_id] = doc.story.casefold()
    return truth


# --- related -----------------------------------------------------------------------------


def related_sample(truth: dict[str, str], n: int, seed: int) -> list[str]:
    sizes = Counter(truth.values())
    eligible = sorted(i for i, s in truth.items() if sizes[s] >= MIN_STORY)
    return random.Random(seed).sample(eligible, min(n, len(eligible)))


def precision(hits: list[str], story: str, truth: dict[str, str]) -> float:
    return sum(1 for h in hits[:10] if truth.get(h) == story) / 10


def eval_related(config: Config, truth: dict[str, str], sample: list[str]) -> tuple[float, float]:
    """(mean precision@10, p50 ms) through the HTTP app, as a client sees it."""
    client = create_app(config).test_client()
    scores, times = [], []
    for doc_id in sample:
        t0 = time.perf_counter()
        r = client.get(f"/events/{quote(doc_id)}/related?limit=10")
        times.append((time.perf_counter() - t0) * 1000)
        hits = [h["id"] for h in r.get_json()["hits"]]
        scores.append(precision(hits, truth[doc_id], truth))
    return statistics.mean(scores), statistics.median(times)


def plain_index(dest: Path, docs: dict[str, Document], title_field: bool) -> object:
    """A plain Whoosh index: stock analyzer, default writer, BM25F."""
    from whoosh import fields, index
    from whoosh.analysis import StemmingAnalyzer

    ana = StemmingAnalyzer()
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        title=fields.TEXT(analyzer=ana),
        body=fields.TEXT(analyzer=ana, stored=True),
    )
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    ix = index.create_in(str(dest), schema)
    writer = ix.writer(procs=2, multisegment=True, limitmb=256)
    for doc in docs.values():
        text = "\n".join(t for t in (doc.summary, doc.body) if t)
        if title_field:
            writer.add_document(id=doc.id, title=doc.title, body=text)
        else:
            writer.add_document(id=doc.id, body=f"{doc.title}\n{text}")
    writer.commit()
    return ix


def baseline_related(ix, truth: dict[str, str], sample: list[str]) -> float:
    scores = []
    with ix.searcher() as s:
        for doc_id in sample:
            docnum = s.document_number(id=doc_id)
            hits = [h["id"] for h in s.more_like(docnum, "body", top=10)]
            scores.append(precision(hits, truth[doc_id], truth))
    return statistics.mean(scores)


# --- known items -------------------------------------------------------------------------


def known_item_queries(index: SearchIndex, n: int, seed: int) -> list[tuple[str, str]]:
    """(query, event id): two or three words of the event, rarer words likelier."""
    rng = random.Random(seed)
    searcher = index.searcher()
    events = sorted((stored_hit(d) for d in searcher.all_stored_fields()), key=lambda d: d["id"])
    events = [e for e in events if e["kind"] == "event"]
    total = searcher.doc_count()
    out: list[tuple[str, str]] = []
    while len(out) < n:
        e = rng.choice(events)
        words: dict[str, float] = {}
        for w in re.findall(r"[^\W\d_]{3,}", f"{e['title']} {e['summary']}"):
            terms = [t.text for t in TEXT_ANALYZER(w)]
            if terms:
                df = max(
                    1,
                    searcher.doc_frequency("title", terms[0])
                    + searcher.doc_frequency("summary", terms[0]),
                )
                words[w] = math.log(total / df)
        k = rng.choice((2, 3))
        if len(words) < k:
            continue
        chosen: list[str] = []
        pool = dict(words)
        while len(chosen) < k:
            pick = rng.choices(list(pool), weights=[v * v for v in pool.values()])[0]
            chosen.append(pick)
            del pool[pick]
        out.append((" ".join(chosen), e["id"]))
    return out


def mrr(ranked: list[list[str]], targets: list[str]) -> tuple[float, float]:
    rr, found = [], 0
    for hits, target in zip(ranked, targets, strict=True):
        rank = hits[:10].index(target) + 1 if target in hits[:10] else 0
        rr.append(1 / rank if rank else 0.0)
        found += bool(rank)
    return statistics.mean(rr), found / len(targets)


def eval_search(index: SearchIndex, queries: list[tuple[str, str]]) -> tuple[float, float]:
    ranked = []
    for q, _ in queries:
        try:
            ranked.append([h.id for h in index.search(SearchRequest(q=q, per_page=10)).hits])
        except Exception:
            ranked.append([])
    return mrr(ranked, [t for _, t in queries])


def baseline_search(ix, queries: list[tuple[str, str]]) -> tuple[float, float]:
    from whoosh.qparser import MultifieldParser

    parser = MultifieldParser(["title", "body"], ix.schema)
    ranked = []
    with ix.searcher() as s:
        for q, _ in queries:
            ranked.append([h["id"] for h in s.search(parser.parse(q), limit=10)])
    return mrr(ranked, [t for _, t in queries])


# --- tuning ------------------------------------------------------------------------------


def _gather(
    config: Config, truth: dict[str, str], sample: list[str]
) -> tuple[list[tuple[str, list[Any]]], Callable[[int], str]]:
    """For each sampled event, its story and its related candidates (widest time window);
    and the id of a document number, cached."""
    index = SearchIndex(config)
    searcher = index.searcher()
    tables = index.tables.get(searcher)
    gathered = []
    for doc_id in sample:
        stored = stored_dict(searcher.document(id=doc_id))
        gathered.append((truth[doc_id], rel.candidates(searcher, tables, stored, 3 * 120)))
    ids: dict[int, str] = {}

    def doc_id_of(d: int) -> str:
        if d not in ids:
            ids[d] = searcher.stored_fields(d)["id"]
        return ids[d]

    return gathered, doc_id_of


def tune_related(config: Config, truth: dict[str, str], sample: list[str]) -> Config:
    """Grid search over the weights the blind tree can measure (words, time, its scale,
    places); tags, story and links cannot be measured blind and keep their values."""
    gathered, doc_id_of = _gather(config, truth, sample)
    best = (-1.0, config.related)
    grid = itertools.product(
        (0.5, 1.0, 2.0),
        (0.0, 0.5, 1.0, 2.0, 4.0),
        (7.0, 15.0, 30.0, 60.0, 120.0),
        (0.0, 0.25, 0.5, 1.0),
    )
    for words, time_w, scale, places in grid:
        weights = dataclasses.replace(
            config.related, words=words, time=time_w, time_scale_days=scale, locations=places
        )
        scores = []
        for story, found in gathered:
            window = found.select(
                np.isnan(found.days_apart)
                | (found.days_apart <= 3 * scale)
                | (found.words > 0)
                | (found.tags > 0)
                | found.story
                | found.linked
            )
            hits = [doc_id_of(d) for _, d in rel.rank(window, weights, 10)]
            scores.append(precision(hits, story, truth))
        p = statistics.mean(scores)
        if p > best[0]:
            best = (p, weights)
            log.info("related p@10 %.3f with %s", p, weights)
    return dataclasses.replace(config, related=best[1])


def tune_labels(config: Config, truth: dict[str, str], sample: list[str]) -> Config:
    """The weights of what the blind tree hides (tags, story, Related links), on the full
    tree where pages carry them: the best precision, the smallest weights among equals."""
    gathered, doc_id_of = _gather(config, truth, sample)
    best = (-1.0, config.related)
    for story, tags, links in itertools.product((1.0, 2.0, 4.0), (0.5, 1.0, 2.0), (0.5, 1.0, 2.0)):
        weights = dataclasses.replace(config.related, story=story, tags=tags, links=links)
        scores = []
        for want, found in gathered:
            hits = [doc_id_of(d) for _, d in rel.rank(found, weights, 10)]
            scores.append(precision(hits, want, truth))
        p = statistics.mean(scores)
        if p > best[0] + 1e-9:
            best = (p, weights)
            log.info("related (full tree) p@10 %.3f with %s", p, weights)
    return dataclasses.replace(config, related=best[1])


def tune_search(config: Config, queries: list[tuple[str, str]]) -> Config:
    best = (-1.0, config.search)
    grid = itertools.product((1.5, 3.0), (0.25, 0.5), (1.0, 0.6), (0.0, 0.3, 0.7, 1.0))
    for title, phrase, source, exact in grid:
        search = dataclasses.replace(
            config.search,
            title_boost=title,
            phrase_boost=phrase,
            source_weight=source,
            exact_boost=exact,
        )
        score = eval_search(SearchIndex(dataclasses.replace(config, search=search)), queries)[0]
        if score > best[0]:
            best = (score, search)
            log.info("search MRR@10 %.3f with %s", score, search)
    return dataclasses.replace(config, search=best[1])


# --- main --------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--tune",
        choices=["all", "related", "search"],
        nargs="?",
        const="all",
        help="search the weights (of related, search or both) and print them",
    )
    p.add_argument("--related", type=int, default=500)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument(
        "--search-only",
        action="store_true",
        help="only known-item search: typo tolerance and recency (bench/typos.py)",
    )
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    root = corpus()
    work = UNPACKED.parent
    full_cfg = load_config(flags={"content.root": str(root), "index.dir": str(work / "query-ix")})
    if args.search_only:
        from typos import figures

        log.info("indexing %s: %s", root, run_index(full_cfg, progress=False).lines()[0])
        queries = known_item_queries(SearchIndex(full_cfg), args.queries, EVAL_SEED)
        rows = [("known items", "before (spell=off, no synonyms)", "now")]
        print(table(rows + figures(full_cfg, queries, mrr)))
        return
    log.info("making the blind tree")
    truth = blind_tree(root, work / "blind" / "content")
    blind_cfg = load_config(
        flags={"content.root": str(work / "blind" / "content"), "index.dir": str(work / "blind-ix")}
    )
    for cfg in (blind_cfg, full_cfg):
        log.info("indexing %s: %s", cfg.content.root, run_index(cfg, progress=False).lines()[0])

    if args.tune in ("all", "related"):
        sample = related_sample(truth, 300, TUNE_SEED)
        tuned = tune_related(blind_cfg, truth, sample)
        tuned = tune_labels(dataclasses.replace(full_cfg, related=tuned.related), truth, sample)
        print("\n[related]")
        for f in dataclasses.fields(tuned.related):
            print(f"{f.name} = {getattr(tuned.related, f.name)}")
    if args.tune in ("all", "search"):
        queries = known_item_queries(SearchIndex(full_cfg), 300, TUNE_SEED)
        tuned_search = tune_search(full_cfg, queries)
        print("\n[search]")
        for name in ("title_boost", "phrase_boost", "source_weight", "exact_boost"):
            print(f"{name} = {getattr(tuned_search.search, name)}")
    if args.tune:
        return

    sample = related_sample(truth, args.related, EVAL_SEED)
    ours_p, related_ms = eval_related(blind_cfg, truth, sample)
    blind_docs = _parse_events(work / "blind" / "content")
    base_p = baseline_related(
        plain_index(work / "blind-plain-ix", blind_docs, False), truth, sample
    )

    queries = known_item_queries(SearchIndex(full_cfg), args.queries, EVAL_SEED)
    ours_mrr, ours_s10 = eval_search(SearchIndex(full_cfg), queries)
    full_docs = _parse_events(root, ("event", "source"))  # what our index holds too
    base_mrr, base_s10 = baseline_search(
        plain_index(work / "full-plain-ix", full_docs, True), queries
    )

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "-"

    rows = [("metric", "searchsvc", "baseline", "ratio")]
    rows.append(
        (
            f"related precision@10 (blind, {len(sample)} events)",
            f"{ours_p:.3f}",
            f"{base_p:.3f}",
            ratio(ours_p, base_p),
        )
    )
    rows.append(
        (
            f"known-item MRR@10 ({len(queries)} queries)",
            f"{ours_mrr:.3f}",
            f"{base_mrr:.3f}",
            ratio(ours_mrr, base_mrr),
        )
    )
    rows.append(
        ("known-item success@10", f"{ours_s10:.3f}", f"{base_s10:.3f}", ratio(ours_s10, base_s10))
    )
    rows.append(("/related p50, ms (in-process app)", f"{related_ms:.1f}", "", ""))
    print(table(rows))
    print(
        f"\nblind tree: {len(truth)} story events in {len(set(truth.values()))} stories; "
        "baselines: Whoosh more_like on body; MultifieldParser(title, body) with BM25F"
    )


if __name__ == "__main__":
    main()
