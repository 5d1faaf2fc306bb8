"""The `searchsvc` command: index, search, show, serve, schedule.

Settings come from flags > environment (`SEARCHSVC_*`) > `config.toml` > defaults.

Exit statuses: see `searchsvc/exits.py` (0 done, 1 not found, 2 bad usage, 70 a run
failed part-way, 73 the index cannot be written, 75 the index is busy).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from searchsvc import __version__, logcontext
from searchsvc.config import Config, ConfigError, SearchConfig, load_config
from searchsvc.exits import EXIT_BUSY, EXIT_CANT_WRITE, EXIT_NOT_FOUND, EXIT_RUN_FAILED, EXIT_USAGE
from searchsvc.query import SEARCH_PARAMS, QueryError, request_from_params

log = logging.getLogger("searchsvc")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="searchsvc", description=__doc__.split("\n")[0])
    p.add_argument("--version", action="version", version=f"searchsvc {__version__}")
    p.add_argument("--config", help="config file (default: $SEARCHSVC_CONFIG or ./config.toml)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def paths(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--content", help="content root (event pages and source texts)")
        sp.add_argument("--index", help="index directory")

    sp = sub.add_parser("index", help="index the content tree (incremental by default)")
    paths(sp)
    sp.add_argument("--full", action="store_true", help="rebuild the whole index")
    sp.add_argument("--json", action="store_true", help="print the report as JSON")
    sp.add_argument("--no-progress", action="store_true", help="no progress bar")
    sp.add_argument(
        "--path",
        action="append",
        dest="paths",
        help="only this changed file or folder (an id; repeatable): no scan of the whole tree",
    )

    sp = sub.add_parser("search", help="search the index")
    sp.add_argument("query", help='Whoosh query syntax: words, "phrases", AND/OR/NOT, field:value')
    paths(sp)
    sp.add_argument("--json", action="store_true", help="print the result as JSON")
    _search_flags(sp)

    sp = sub.add_parser("show", help="show one stored document")
    sp.add_argument("id", help="document id: its path relative to the content root")
    paths(sp)
    sp.add_argument("--json", action="store_true", help="print the document as JSON")

    sp = sub.add_parser("serve", help="serve the HTTP API (and re-index on the schedule)")
    paths(sp)
    sp.add_argument("--host", help="address to bind (default 127.0.0.1)")
    sp.add_argument("--port", type=int, help="port (default 8000)")
    sp.add_argument("--workers", type=int, help="web worker processes (default 2)")
    sp.add_argument(
        "--no-schedule",
        action="store_true",
        help="do not re-index on a schedule nor follow file changes",
    )
    sp.add_argument(
        "--follow",
        metavar="SOURCE",
        help="serve a copy of the index at SOURCE (an indexing host's index folder, as "
        "rsync names it: host:path or a local path), copied as it changes; no index runs",
    )

    sp = sub.add_parser("follow", help="only copy an indexing host's index as it changes")
    sp.add_argument("source", help="the indexing host's index folder (host:path or a path)")
    sp.add_argument("--index", help="index directory (the copy)")

    sp = sub.add_parser("schedule", help="run only the scheduled re-indexing and the file watcher")
    paths(sp)
    return p


def _search_flags(sp: argparse.ArgumentParser) -> None:
    """One flag per parameter of /search (but q, the positional query), from their
    declarations (query.SEARCH_PARAMS); the values are checked as the API checks them."""
    defaults = SearchConfig()
    for p in SEARCH_PARAMS:
        if p.name == "q":
            continue
        names = [p.flag, "--limit"] if p.name == "per_page" else [p.flag]
        choices = f" ({', '.join(p.choices)})" if p.choices else ""
        sp.add_argument(
            *names,
            dest=f"param_{p.name}",
            action="append" if p.repeat else "store",
            metavar=p.name.upper(),
            help=p.describe(defaults) + choices,
        )


def _search_params(args: argparse.Namespace) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {"q": [args.query]}
    for p in SEARCH_PARAMS:
        if p.name != "q":
            value = getattr(args, f"param_{p.name}")
            params[p.name] = list(value or []) if p.repeat else [value] if value else []
    return params


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "content.root": getattr(args, "content", None),
        "index.dir": getattr(args, "index", None),
        "server.host": getattr(args, "host", None),
        "server.port": getattr(args, "port", None),
        "server.workers": getattr(args, "workers", None),
        "follow.source": getattr(args, "follow", None) or getattr(args, "source", None),
    }


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logcontext.install()  # the request id in the lines logged for a request
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    try:
        config = load_config(args.config, flags=_flags(args))
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    command = {
        "index": cmd_index,
        "search": cmd_search,
        "show": cmd_show,
        "serve": cmd_serve,
        "schedule": cmd_schedule,
        "follow": cmd_follow,
    }[args.command]
    return command(config, args)


def _emit(text: str) -> None:
    sys.stdout.write(text + "\n")


def cmd_index(config: Config, args: argparse.Namespace) -> int:
    from searchsvc.content import ContentError
    from searchsvc.index import IndexBusy, IndexRunError, IndexWriteError, run_index

    if config.index.nice > 0:
        os.nice(min(config.index.nice, 19))  # yield to the web workers (see config.toml)
    try:
        report = run_index(
            config,
            full=args.full,
            progress=False if args.no_progress else None,
            paths=args.paths,
        )
    except IndexBusy as exc:
        log.error("%s", exc)
        return EXIT_BUSY
    except IndexRunError as exc:
        log.error("%s", exc)
        return EXIT_RUN_FAILED
    except IndexWriteError as exc:
        log.error("%s", exc)
        return EXIT_CANT_WRITE
    except ContentError as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    if args.json:
        _emit(json.dumps(report.to_dict(), indent=2))
    else:
        _emit("\n".join(report.lines()))
    return 0


def _open(config: Config) -> Any:
    from searchsvc.index import SearchIndex

    return SearchIndex(config)


def cmd_search(config: Config, args: argparse.Namespace) -> int:
    from searchsvc.index import IndexUnavailable

    params = _search_params(args)
    try:
        req = request_from_params(params, config.search)
        result = _open(config).search(req)
    except QueryError as exc:
        log.error("%s", exc.message)
        return EXIT_USAGE
    except IndexUnavailable as exc:
        log.error("%s", exc)
        return EXIT_NOT_FOUND
    if args.json:
        _emit(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return 0
    _emit(f"{result.total} hits for {result.query!r} ({result.took_ms:.1f} ms)")
    if result.corrected_query:
        _emit(f"(also searched as {result.corrected_query!r}: --spell off for the words as typed)")
    for n, hit in enumerate(result.hits, start=(result.page - 1) * result.per_page + 1):
        _emit(f"{n:3}. {hit.date or '----------'}  {hit.title}")
        _emit(f"     {hit.id}  [{hit.kind}, score {hit.score}]")
        snippet = re.sub(r"</?mark>", "", hit.snippet)
        if snippet and snippet != hit.title:
            _emit(f"     {snippet}")
    return 0


def cmd_show(config: Config, args: argparse.Namespace) -> int:
    from searchsvc.index import IndexUnavailable

    try:
        doc = _open(config).get(args.id)
    except IndexUnavailable as exc:
        log.error("%s", exc)
        return EXIT_NOT_FOUND
    if doc is None:
        log.error("no document with id %r in the index", args.id)
        return EXIT_NOT_FOUND
    if args.json:
        _emit(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    for key in ("id", "kind", "date", "title", "story", "category"):
        _emit(f"{key + ':':10} {doc.get(key) if doc.get(key) is not None else '-'}")
    _emit(f"{'tags:':10} {', '.join(doc['tags']) or '-'}")
    _emit(f"{'locations:':10} {', '.join(doc['locations']) or '-'}")
    for s in doc["sources"]:
        _emit(f"{'source:':10} {s['name']}" + (f" <{s['url']}>" if s["url"] else ""))
    for r in doc["related"]:
        _emit(f"{'related:':10} {r['title']} ({r['id']}) [{', '.join(r['context'])}]")
    for key in ("summary", "body"):
        if doc.get(key):
            _emit(f"\n{doc[key]}")
    return 0


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from searchsvc.server import serve

    return serve(config, schedule=not args.no_schedule)


def cmd_schedule(config: Config, args: argparse.Namespace) -> int:
    from searchsvc.scheduler import run_forever

    return run_forever(config, index_main=main)


def cmd_follow(config: Config, args: argparse.Namespace) -> int:
    import signal
    import threading

    from searchsvc.index.follow import follow_forever

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    f = config.follow
    log.info("following %s into %s every %g s", f.source, config.index.dir, f.interval)
    follow_forever(f.source, config.index.dir, f.interval, f.timeout, stop)
    return 0
