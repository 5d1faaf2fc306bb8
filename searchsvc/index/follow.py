"""A query host's copy of the index of an indexing host, one whole generation at a time.

Whoosh's segments are immutable and a generation exists only once its table of contents
(`_MAIN_<n>.toc`) is written. So a copy that ships the segment files first and the table
of contents last is always a whole generation: the web workers of this host (`live.py`)
see the new generation only when its table of contents appears, and they check each new
segment file against the checksums the index run recorded before they serve it.

The copying is rsync's (a local path, or `host:path` over SSH), in three steps:

1. the source's newest table of contents, its checksums and its state, into a staging
   folder (`searchsvc-follow/`), where the table of contents says which segments the
   generation holds;
2. those segment files and their vocabularies, into the index folder (rsync writes each
   to a temporary name and renames it whole); each is checked against the checksums;
3. the checksums (old and new: workers still on the old generation keep checking theirs),
   the state, then the table of contents, each renamed into place.

A failed copy (the source away, a file changed or gone under rsync, a checksum that does
not match) leaves this host serving its last good generation; the next attempt starts
over. Files of generations older than the previous one are removed after a switch: a
worker still reading one keeps its open files (Linux keeps an unlinked file's data while
it is open), and a worker that has not switched yet has the previous generation whole.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import subprocess
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from searchsvc.index.manifest import write_atomic
from searchsvc.index.verify import CHECKSUMS, read_checksums

log = logging.getLogger(__name__)

INDEX_NAME = "MAIN"
TOC_RE = re.compile(rf"_{INDEX_NAME}_(\d+)\.toc")
STATE = "searchsvc-state.json"
FOLLOW_STATE = "searchsvc-follow.json"
STAGING = "searchsvc-follow"


class FollowError(Exception):
    """A copy that did not happen; the message says why. The host keeps its generation."""


@dataclass
class FollowState:
    """What this host knows of its source (kept in `searchsvc-follow.json`, for /health)."""

    source: str = ""
    source_generation: int = 0  # the newest the source had at the last look
    generation: int = 0  # the newest this host holds whole
    last_copy: str | None = None  # when a generation was last copied
    last_attempt: str | None = None
    error: str | None = None  # why the last attempt failed; None when it did not
    failures: int = 0  # attempts failed in a row

    def behind(self) -> int:
        return max(0, self.source_generation - self.generation)


def read_state(index_dir: Path) -> FollowState | None:
    try:
        data = json.loads((index_dir / FOLLOW_STATE).read_text(encoding="utf-8"))
        return FollowState(**data)
    except (OSError, ValueError, TypeError):
        return None


def _save_state(index_dir: Path, st: FollowState) -> None:
    write_atomic(index_dir / FOLLOW_STATE, json.dumps(asdict(st)))


def _rsync(args: list[str], timeout: float) -> str:
    """Run rsync, bounded: `--timeout` for a stalled transfer, `timeout` for the whole."""
    cmd = ["rsync", f"--timeout={max(1, int(timeout))}", *args]
    env = {**os.environ, "RSYNC_RSH": f"ssh -o BatchMode=yes -o ConnectTimeout={int(timeout)}"}
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise FollowError(f"rsync took more than {timeout:g} s") from None
    except FileNotFoundError:
        raise FollowError("rsync is not installed") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise FollowError(f"rsync failed ({done.returncode}): {reason}")
    return done.stdout


def _source(source: str) -> str:
    """The source folder as rsync names its contents (`host:path/` or `path/`)."""
    return source.rstrip("/") + "/"


def source_generation(source: str, timeout: float) -> int:
    """The newest generation the source holds (0: none)."""
    listing = _rsync(["--list-only", _source(source)], timeout)
    gens = [int(m[1]) for line in listing.splitlines() if (m := TOC_RE.search(line.split()[-1]))]
    return max(gens, default=0)


def local_generations(index_dir: Path) -> list[int]:
    return sorted(int(m[1]) for p in index_dir.glob("_*.toc") if (m := TOC_RE.fullmatch(p.name)))


def _crc(path: Path) -> list[int]:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return [path.stat().st_size, crc]


def _segments(folder: Path, generation: int) -> list[str]:
    toc = TOC.read(FileStorage(str(folder)), INDEX_NAME, generation)
    return [seg.segment_id() for seg in toc.segments]


def copy_generation(source: str, index_dir: Path, newest: int, timeout: float = 60.0) -> int | None:
    """Copy the source's generation `newest` (its newest) when it is newer than this
    host's: its number, or None when there was nothing new. Raises FollowError, the host
    left as it was."""
    index_dir.mkdir(parents=True, exist_ok=True)
    have = local_generations(index_dir)
    if newest == 0 or (have and newest <= have[-1]):
        return None
    staging = index_dir / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    toc_name = f"_{INDEX_NAME}_{newest}.toc"
    src = _source(source)
    _rsync(["-a", *(src + n for n in (toc_name, CHECKSUMS, STATE)), str(staging)], timeout)
    try:
        segments = _segments(staging, newest)
    except Exception as exc:  # an unreadable table of contents is a failed copy
        raise FollowError(f"{toc_name}: cannot be read: {exc}") from None
    recorded = read_checksums(staging)
    names = [f"{s}.seg" for s in segments]
    wanted = names + [f"{s}.vocab" for s in segments]
    (staging / "files").write_text("\n".join(wanted) + "\n")
    # The vocabularies are optional (a worker counts a segment itself without one).
    _rsync(["-a", "--ignore-missing-args", f"--files-from={staging / 'files'}", src,
            str(index_dir)], timeout)  # fmt: skip
    held = set()  # segments this host holds already: checked when they were copied
    for gen in have[-2:]:
        held.update(_segments(index_dir, gen))
    for name in names:
        path = index_dir / name
        if name.removesuffix(".seg") in held:
            continue
        if not path.exists():
            raise FollowError(f"{name} was not copied (the source dropped it?)")
        if name in recorded and _crc(path) != recorded[name]:
            path.unlink()  # copied again next time
            raise FollowError(f"{name} is not as it was written (size or checksum differs)")
    merged = {**read_checksums(index_dir), **recorded}
    write_atomic(index_dir / CHECKSUMS, json.dumps(merged))
    if (staging / STATE).exists():
        os.replace(staging / STATE, index_dir / STATE)
    os.replace(staging / toc_name, index_dir / toc_name)  # the generation exists now
    shutil.rmtree(staging, ignore_errors=True)
    _remove_old(index_dir)
    return newest


def _remove_old(index_dir: Path) -> None:
    """Remove what the newest two generations do not name: older tables of contents,
    their segments and vocabularies, and their checksums."""
    gens = local_generations(index_dir)
    keep_gens = gens[-2:]
    keep: set[str] = set()
    for gen in keep_gens:
        try:
            keep.update(_segments(index_dir, gen))
        except Exception:
            return  # unsure what is in use: remove nothing
    for gen in gens[:-2]:
        (index_dir / f"_{INDEX_NAME}_{gen}.toc").unlink(missing_ok=True)
    for path in index_dir.iterdir():
        if path.suffix in (".seg", ".vocab") and path.stem not in keep:
            path.unlink(missing_ok=True)
    recorded = read_checksums(index_dir)
    kept = {k: v for k, v in recorded.items() if k.removesuffix(".seg") in keep}
    if kept != recorded:
        write_atomic(index_dir / CHECKSUMS, json.dumps(kept))


def follow_once(source: str, index_dir: Path, timeout: float = 60.0) -> FollowState:
    """One look at the source: copy its newest generation if newer, and record the
    outcome in the follow state (read by /health)."""
    st = read_state(index_dir) or FollowState(source=source)
    st.source = source
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    st.last_attempt = now
    try:
        st.source_generation = source_generation(source, timeout)
        copied = copy_generation(source, index_dir, st.source_generation, timeout)
        if copied is not None:
            st.last_copy = now
            log.info("copied generation %d from %s", copied, source)
        st.error, st.failures = None, 0
    except (FollowError, OSError) as exc:  # OSError: this host's disk (full, read-only)
        st.error, st.failures = str(exc), st.failures + 1
        log.warning("cannot copy the index from %s: %s", source, exc)
    have = local_generations(index_dir)
    st.generation = have[-1] if have else 0
    _save_state(index_dir, st)
    return st


def follow_forever(
    source: str, index_dir: Path, interval: float, timeout: float, stop: Any = None
) -> None:
    """Look at the source every `interval` seconds until `stop` (a threading.Event) is set."""
    while stop is None or not stop.is_set():
        started = time.monotonic()
        try:
            follow_once(source, index_dir, timeout)
        except Exception:  # never let the follower die: the next look tries again
            log.exception("following %s failed", source)
        wait = max(0.0, interval - (time.monotonic() - started))
        if stop is not None:
            stop.wait(wait)
        else:
            time.sleep(wait)
