"""Documents pushed by a CMS (`PUT`/`DELETE /admin/documents/<id>`), without HTTP.

The content tree stays the one source of truth: a pushed document is parsed first (a
document that does not parse is refused and nothing is written), then written into the
tree at its id atomically (a temporary file beside it, fsync, rename, fsync of the
folder: a reader or a crash sees the old file or the new one, never a torn one), then
indexed at once by an index run over that one path (the same run as any other:
`searchsvc index --path <id>`, under the index lock). When another run holds the lock
longer than `admin.push_wait` (a full rebuild), the document is written and a run that
waits for the lock is left to index it: searchable when that run ends.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import logging
import os
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searchsvc.config import Config
from searchsvc.exits import EXIT_BUSY
from searchsvc.model import Document, Skipped
from searchsvc.parsing import classify, parse_bytes
from searchsvc.reindex import request_run
from searchsvc.runs import start_run, supervise
from searchsvc.watch_socket import ask

log = logging.getLogger(__name__)


class PushError(Exception):
    """A push refused: `status` (400, 404, 413, 503) and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Pushed:
    status: int  # 200 replaced, 201 new, 202 written and waiting for a run under way
    document: dict[str, Any] | None  # the parsed document (None for a deletion)


def target(config: Config, doc_id: str) -> Path:
    """The file of `doc_id` in the content tree; PushError(400) for anything that is not
    a content id: absolute, `.`/`..`, empty parts, a hidden part, control characters, a
    name no content glob takes, or a path through a link or a file."""
    content = config.content
    parts = doc_id.split("/")
    if not doc_id or doc_id.startswith("/") or "\\" in doc_id:
        raise PushError(400, "the id must be a path relative to the content root")
    if any(not p or p in (".", "..") for p in parts):
        raise PushError(400, "the id must not hold empty, '.' or '..' parts")
    if any(p.startswith(".") for p in parts):
        raise PushError(400, "the id must not name a hidden file or folder")
    if any(ord(c) < 32 or ord(c) == 127 for c in doc_id):
        raise PushError(400, "the id must not hold control characters")
    role = classify(doc_id, content.event_globs, content.source_globs, content.day_globs)
    if role == "sniff":
        raise PushError(400, "no content glob takes this id (see content.*_globs)")
    if role == "day":
        raise PushError(400, "this id is a day page's: day pages are not documents")
    path = str(content.root)
    for i, part in enumerate(parts):
        path = os.path.join(path, part)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            break
        except OSError as exc:
            raise PushError(400, f"the id cannot be used: {exc.strerror}") from None
        last = i == len(parts) - 1
        if stat.S_ISLNK(mode):
            raise PushError(400, "the id leads through a link")
        if not last and not stat.S_ISDIR(mode):
            raise PushError(400, "the id leads through a file")
        if last and not stat.S_ISREG(mode):
            raise PushError(400, "the id names something other than a file")
    return Path(content.root, *parts)


def parse(config: Config, doc_id: str, data: bytes) -> Document:
    """The document `data` holds, parsed as the index would parse the file; PushError
    with the parser's reason when it does not parse."""
    if len(data) > config.content.max_file_bytes:
        raise PushError(
            413, f"larger than content.max_file_bytes ({config.content.max_file_bytes})"
        )
    content = config.content
    role = classify(doc_id, content.event_globs, content.source_globs, content.day_globs)
    result = parse_bytes(doc_id, data, role)
    if isinstance(result, Skipped):
        raise PushError(400, f"the document does not parse: {result.reason}")
    if not isinstance(result, Document):
        raise PushError(400, "the document does not parse into an indexable document")
    return result


def put(config: Config, doc_id: str, data: bytes) -> Pushed:
    """Parse, write atomically, index. Raises PushError (nothing written) when refused."""
    path = target(config, doc_id)
    doc = parse(config, doc_id, data)
    try:
        created = _write_atomic(path, data)
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise PushError(400, "the id is too long for the file system") from None
        log.error("cannot write %s: %s", path, exc)
        # The system's reason ("No space left on device", "Read-only file system") and
        # no path: the client named the document, the log names the file.
        raise PushError(503, f"the document cannot be written: {exc.strerror or exc}") from None
    status = _index(config, doc_id)
    return Pushed(status if status == 202 else 201 if created else 200, doc.to_dict())


def delete(config: Config, doc_id: str) -> Pushed:
    """Remove the file and its document; PushError(404) when there is none."""
    path = target(config, doc_id)
    try:
        path.unlink()
    except FileNotFoundError:
        raise PushError(404, f"no document with id {doc_id!r}") from None
    except OSError as exc:
        log.error("cannot remove %s: %s", path, exc)
        raise PushError(503, f"the document cannot be removed: {exc.strerror or exc}") from None
    _fsync_dir(path.parent)
    return Pushed(_index(config, doc_id), None)


def _write_atomic(path: Path, data: bytes) -> bool:
    """Write `path` whole or not at all; True when it is new. Of pushes racing to create
    one file, exactly one creates it (a link fails when the name exists) and the others
    replace it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    # Hidden: neither an index run nor the file watcher takes it for content.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".push")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            # An mtime of its own: two pushes of the same size within one tick of the
            # file system's clock must not look alike to the index's manifest.
            now = time.time_ns()
            os.utime(f.fileno(), ns=(now, now))
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            created = False
        except OSError:  # no hard links on this file system
            created = not path.exists()
        else:
            # Linked: the file is in place. Not a rename of the temporary name onto it:
            # a rename between two links of one file does nothing, and left it behind.
            with contextlib.suppress(OSError):  # else removed as stale, later
                os.unlink(tmp)
            _fsync_dir(path.parent)
            return True
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return created


STALE_PUSH_SECONDS = 3600  # a temporary file this old is no push under way


def _remove_stale(path: Path) -> None:
    """Remove the temporary files a killed push to this id left behind (a push under way
    writes its own for seconds, never an hour)."""
    cutoff = time.time() - STALE_PUSH_SECONDS
    for old in path.parent.glob(f".{glob.escape(path.name)}.*.push"):
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                old.unlink()


def _fsync_dir(folder: Path) -> None:
    """Make a rename or an unlink in `folder` survive a power cut."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _index(config: Config, doc_id: str) -> int:
    """Index `doc_id` now: 200 when done; 202 when another run held the index longer than
    `admin.push_wait` (a run that waits for it is left to index the document). The file
    watcher runs it when there is one (watch_socket.py: one run, forked from a process that
    has everything loaded, instead of a new process here and the watcher's run after it);
    else a process of its own."""
    watched = ask(config, [doc_id])
    if watched is None:
        return _index_alone(config, doc_id)
    code = watched.get("code") if watched["taken"] else EXIT_BUSY
    if code == 0:
        return 200
    if code == EXIT_BUSY:  # queued in the watcher: its next run waits for the index
        log.info("pushed %s: the index is busy; the file watcher will index it", doc_id)
        return 202
    raise PushError(
        503, f"the document was written but its index run failed (exit {code}); see /stats"
    )


def _index_alone(config: Config, doc_id: str) -> int:
    """`_index` without a file watcher: an index run in a new process."""
    proc = start_run(config, "--path", doc_id, lock_timeout=config.admin.push_wait, nice=0)
    code = supervise(proc, config)
    if code == 0:
        return 200
    if code != EXIT_BUSY:
        raise PushError(
            503, f"the document was written but its index run failed (exit {code}); see /stats"
        )
    # Pushes during a long run share one waiting run, as `POST /admin/reindex` requests do
    # (a run over the whole tree, whose scan starts after this write) ...
    answer = request_run(config)
    if answer is not None:
        log.info(
            "pushed %s: the index is busy; run %d (pid %d) will index it",
            doc_id,
            answer.run,
            answer.pid,
        )
        return 202
    # ... unless two runs are at it already (the waiting one may have begun its scan).
    limit = config.index.run_timeout
    later = start_run(config, "--path", doc_id, lock_timeout=limit, nice=0)
    threading.Thread(target=supervise, args=(later, config, 2 * limit), daemon=True).start()
    log.info("pushed %s: the index is busy; run (pid %d) waits for it", doc_id, later.pid)
    return 202
