"""searchsvc beside its peers: SQLite FTS5, tantivy and Xapian on the same tree and queries.

    .venv/bin/python bench/peers.py [--corpus dev|archive] [--queries 300]

Every system indexes the same content tree and answers the same known-item queries (two or
three words of an event's title or summary, rarer words likelier: bench/quality.py), top
10, one at a time, in one run. Printed: build files/s, index MB, p50 and p95 latency, how
often the event is in the top 10, each with its ratio to the best peer.

- SQLite FTS5 (standard library `sqlite3`): always.
- tantivy (PyPI `tantivy`): `pip install -e '.[bench]'`.
- Xapian (Debian `python3-xapian`, no wheel on PyPI): `apt-get install python3-xapian`;
  the Debian module is found in /usr/lib/python3/dist-packages (appended to the end of
  sys.path for that import only, so the venv's packages still win), or create the venv
  with `--system-site-packages`.

The peers share one small parser (`read_tree`): front matter skipped, the first `# `
line (or the first line) the title, the rest the body; searchsvc parses with its own.
searchsvc is built with a full `searchsvc index` run (its process pool), and queried with
its answer cache off: every query here is computed.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

from corpus import BENCH, CORPORA, corpus, table
from quality import EVAL_SEED, known_item_queries
from query_bench import percentile, start_server

from searchsvc.config import load_config
from searchsvc.index import SearchIndex, run_index
from searchsvc.query import SearchRequest

log = logging.getLogger("bench")
DEBIAN_PACKAGES = "/usr/lib/python3/dist-packages"
WORK = BENCH / "peers"

# What each system does for one query, printed under the table.
DOES = {
    "searchsvc, Python API": "parses the query (Whoosh syntax), matches all documents "
    "(AND, then OR if nothing), counts the total, ranks by BM25F with a phrase and an "
    "exact-form bonus, re-ranks the page, builds 10 hits with highlighted snippets and "
    "facets (tags, locations, years, kinds) over the whole result set",
    "searchsvc, HTTP /search": "the same, plus validation, JSON and a gunicorn round trip",
    "SQLite FTS5": "MATCH of the quoted words (implicit AND), porter stemming, ORDER BY "
    "bm25 (title x2) LIMIT 10: ten ids",
    "tantivy": "its query parser over title (x2) and body (OR of the words), en_stem, "
    "BM25 top 10 (TopDocs): ten ids",
    "Xapian": "QueryParser with the English stemmer (OR of the words, STEM_SOME), BM25 "
    "top 10 (get_mset): ten ids",
}


# --- the peers' one parser ------------------------------------------------------------


def read_tree(root: Path) -> Iterator[tuple[str, str, str]]:
    """(id, title, body) of each event page and source text: a plain reading, no markup
    handling beyond front matter and the title line. Day pages are skipped."""
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".md", ".txt") or path.name == "index.md" or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if text.startswith("---"):
            end = text.find("\n---", 3)
            text = text[end + 4 :] if end > 0 else text
        lines = text.strip().splitlines() or [""]
        title = next((ln[2:] for ln in lines if ln.startswith("# ")), lines[0])
        yield path.relative_to(root).as_posix(), title.strip(), text


def dir_bytes(path: Path) -> int:
    """The bytes of the files under `path`, but searchsvc's search analytics (a record of
    the searches served, kept in the index directory by default: not the index)."""
    if not path.is_dir():
        return 0
    return sum(
        p.stat().st_size
        for p in path.rglob("*")
        if p.is_file() and not p.name.startswith("searchsvc-analytics.sqlite")
    )


# --- the peers --------------------------------------------------------------------------

Search = Callable[[str], list[str]]


def fts5(root: Path, where: Path) -> tuple[int, Search]:
    where.mkdir(parents=True, exist_ok=True)
    db = where / "fts5.db"
    db.unlink(missing_ok=True)
    con = sqlite3.connect(db, check_same_thread=False)
    con.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    with con:
        con.executemany("INSERT INTO docs VALUES (?, ?, ?)", read_tree(root))
    con.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    con.commit()

    def search(q: str) -> list[str]:
        match = " ".join('"' + w.replace('"', "") + '"' for w in q.split())
        sql = "SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0, 2.0, 1.0) LIMIT 10"
        return [r[0] for r in con.execute(sql, (match,))]

    return dir_bytes(where), search


def tantivy_peer(root: Path, where: Path) -> tuple[int, Search]:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", tokenizer_name="en_stem")
    builder.add_text_field("body", tokenizer_name="en_stem")
    schema = builder.build()
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    index = tantivy.Index(schema, path=str(where))
    writer = index.writer()
    for doc_id, title, body in read_tree(root):
        writer.add_document(tantivy.Document(id=doc_id, title=title, body=body))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()

    def search(q: str) -> list[str]:
        query = index.parse_query(q, ["title", "body"], field_boosts={"title": 2.0})
        hits = searcher.search(query, 10).hits
        return [searcher.doc(addr)["id"][0] for _, addr in hits]

    return dir_bytes(where), search


def import_xapian():  # type: ignore[no-untyped-def]
    try:
        import xapian
    except ImportError:
        if not os.path.isdir(os.path.join(DEBIAN_PACKAGES, "xapian")):
            return None
        sys.path.append(DEBIAN_PACKAGES)  # last: the venv's packages still win
        try:
            import xapian
        finally:
            sys.path.remove(DEBIAN_PACKAGES)
    return xapian


def xapian_peer(root: Path, where: Path) -> tuple[int, Search]:
    xapian = import_xapian()
    shutil.rmtree(where, ignore_errors=True)
    db = xapian.WritableDatabase(str(where), xapian.DB_CREATE_OR_OVERWRITE)
    indexer = xapian.TermGenerator()
    indexer.set_stemmer(xapian.Stem("english"))
    for doc_id, title, body in read_tree(root):
        doc = xapian.Document()
        indexer.set_document(doc)
        indexer.index_text(title, 2)
        indexer.increase_termpos()
        indexer.index_text(body)
        doc.set_data(doc_id)
        db.add_document(doc)
    db.commit()
    db.close()
    reader = xapian.Database(str(where))
    parser = xapian.QueryParser()
    parser.set_stemmer(xapian.Stem("english"))
    parser.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
    parser.set_database(reader)

    def search(q: str) -> list[str]:
        enquire = xapian.Enquire(reader)
        enquire.set_query(parser.parse_query(q))
        return [m.document.get_data().decode() for m in enquire.get_mset(0, 10)]

    return dir_bytes(where), search


def available_peers() -> dict[str, Callable[[Path, Path], tuple[int, Search]]]:
    peers: dict[str, Callable[[Path, Path], tuple[int, Search]]] = {"SQLite FTS5": fts5}
    try:
        import tantivy  # noqa: F401

        peers["tantivy"] = tantivy_peer
    except ImportError:
        log.warning("tantivy not installed (pip install -e '.[bench]'): left out")
    if import_xapian() is not None:
        peers["Xapian"] = xapian_peer
    else:
        log.warning("Xapian not installed (apt-get install python3-xapian): left out")
    return peers


# --- measuring --------------------------------------------------------------------------


def timed(
    systems: dict[str, Search], queries: list[tuple[str, str]]
) -> dict[str, tuple[list[float], int]]:
    """Each system's latencies (ms) and how many targets it had in its top 10. The
    systems take turns, query by query (in a rotating order), so that the other work on
    a shared machine weighs on all of them alike. A failing query counts as not found,
    at its time."""
    for search in systems.values():
        for q, _ in queries[:20]:  # warm caches
            with contextlib.suppress(Exception):
                search(q)
    out: dict[str, tuple[list[float], int]] = {name: ([], 0) for name in systems}
    names = list(systems)
    for k, (q, target) in enumerate(queries):
        for name in names[k % len(names) :] + names[: k % len(names)]:
            t0 = time.perf_counter()
            try:
                ids = systems[name](q)
            except Exception:
                ids = []
            lat, found = out[name]
            lat.append((time.perf_counter() - t0) * 1000)
            out[name] = (lat, found + (target in ids[:10]))
    return out


def http_search(port: int) -> Search:
    import http.client
    import json
    from urllib.parse import urlencode

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def search(q: str) -> list[str]:
        conn.request("GET", "/search?" + urlencode({"q": q, "per_page": 10}))
        response = conn.getresponse()
        body = json.loads(response.read())
        return [h["id"] for h in body.get("hits", [])]

    return search


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", choices=sorted(CORPORA), default="dev")
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--reuse", action="store_true", help="keep searchsvc's index (no build)")
    p.add_argument("--index", type=Path, help="searchsvc's index directory (with --reuse)")
    p.add_argument("--skip", nargs="*", default=[], help="peers to leave out (e.g. Xapian)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    root = corpus(args.corpus)
    files = sum(1 for _ in read_tree(root))
    work = WORK / args.corpus
    flags = {
        "content.root": str(root),
        "index.dir": str(args.index or work / "searchsvc"),
        "search.cache_entries": 0,
        "index.nice": 0,  # the build is measured: it must not yield to other work
    }
    config = load_config(env={}, flags=flags)
    rows: dict[str, dict[str, float]] = {}
    systems: dict[str, Search] = {}

    t0 = time.perf_counter()
    report = run_index(config, progress=False, full=not args.reuse)
    build = time.perf_counter() - t0
    log.info("searchsvc: %s", report.lines()[0])
    index = SearchIndex(config)
    queries = known_item_queries(index, args.queries, EVAL_SEED)
    systems["searchsvc, Python API"] = lambda q: [
        h.id for h in index.search(SearchRequest(q=q)).hits
    ]
    rows["searchsvc, Python API"] = {
        "rate": float("nan") if args.reuse else files / build,
        "mb": dir_bytes(config.index.dir) / 1e6,
    }
    rows["searchsvc, HTTP /search"] = {"rate": float("nan"), "mb": float("nan")}
    for name, make in available_peers().items():
        if name in args.skip:
            continue
        t0 = time.perf_counter()
        size, systems[name] = make(root, work / name.split()[-1].lower())
        build = time.perf_counter() - t0
        rows[name] = {"rate": files / build, "mb": size / 1e6}
        log.info("%s: built in %.1f s", name, build)
    env = {"SEARCHSVC_SEARCH_CACHE_ENTRIES": "0"}
    server, port = start_server(root, config.index.dir, env)
    try:
        systems["searchsvc, HTTP /search"] = http_search(port)
        for name, (lat, found) in timed(systems, queries).items():
            rows[name].update(stats(lat, found))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(report_table(rows, len(queries), files, args.corpus))


def stats(lat: list[float], found: int) -> dict[str, float]:
    return {"p50": statistics.median(lat), "p95": percentile(lat, 95), "found": found}


def report_table(rows: dict[str, dict[str, float]], n: int, files: int, name: str) -> str:
    peers = {k: v for k, v in rows.items() if not k.startswith("searchsvc")}
    best = {
        "rate": max(v["rate"] for v in peers.values()),
        "mb": min(v["mb"] for v in peers.values()),
        "p50": min(v["p50"] for v in peers.values()),
        "p95": min(v["p95"] for v in peers.values()),
        "found": max(v["found"] for v in peers.values()),
    }

    def cell(v: float, key: str, fmt: str) -> str:
        if v != v:  # nan: not measured
            return ""
        return f"{v:{fmt}} ({v / best[key]:.2g}x)" if best[key] else f"{v:{fmt}}"

    out = [("system", "build files/s", "index MB", "p50 ms", "p95 ms", f"in top 10 of {n}")]
    for system, v in rows.items():
        out.append(
            (
                system,
                cell(v["rate"], "rate", ",.0f"),
                cell(v["mb"], "mb", ".0f"),
                cell(v["p50"], "p50", ".2f"),
                cell(v["p95"], "p95", ".2f"),
                cell(v["found"], "found", ".0f"),
            )
        )
    lines = [
        f"{name} corpus, {files:,} files; (ratio to the best peer); one run, one query at a time",
        table(out),
        "",
        "Per query:",
        *(f"- {system}: {does}" for system, does in DOES.items() if system in rows),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
