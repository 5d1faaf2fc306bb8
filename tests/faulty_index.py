"""`searchsvc ...` with one I/O operation made to fail, as a full disk or a bad one would.

    python tests/faulty_index.py N ERRNO searchsvc-args...
    python tests/faulty_index.py --serve


Counts, in this process, each write that reaches the operating system from a file opened
for writing (`open`, `io.open`, `os.fdopen`: the buffered file's own flushes), each
`os.write`, `os.fsync`, `os.replace` and `os.rename`, and makes the
Nth raise `OSError(ERRNO)` (`ENOSPC`, `EIO`); every later operation goes through, as on a
disk where someone freed space. N = 0 fails nothing. Writes the number of operations
counted to the file named by $FAULT_COUNT (when set), so a test knows when N has passed
them all. The product code runs unchanged: this only wraps the standard library.

`--serve` imports searchsvc once, then reads one JSON request a line from stdin,
`{"n": N, "errno": "EIO", "args": [...], "stderr": PATH, "count": PATH}`, runs each in a
forked child process (a fresh process each time, without paying for the imports again)
and answers its exit status on a line of stdout.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import sys
from typing import Any

_calls = 0
_fail_at = 0
_errno = errno.ENOSPC


def _tick(what: str) -> None:
    global _calls
    _calls += 1
    if _calls == _fail_at:
        raise OSError(_errno, f"{os.strerror(_errno)} (injected at {what} #{_calls})")


class _RawFile(io.FileIO):
    """The unbuffered file under a buffered one: its writes are those that reach the
    operating system (a buffer's worth, or a flush), which is where a disk says no."""

    def write(self, data: Any) -> int | None:
        _tick("write")
        return super().write(data)


def _wrap_open(real: Any) -> Any:
    def open_(
        file: Any,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
        closefd: bool = True,
        opener: Any = None,
    ) -> Any:
        if not any(c in mode for c in "wax+"):
            return real(file, mode, buffering, encoding, errors, newline, closefd, opener)
        raw = _RawFile(file, mode.replace("t", ""), closefd=closefd, opener=opener)
        if "b" in mode and buffering == 0:
            return raw
        buffered = io.BufferedRandom(raw) if "+" in mode else io.BufferedWriter(raw)
        if "b" in mode:
            return buffered
        return io.TextIOWrapper(buffered, encoding, errors, newline, line_buffering=buffering == 1)

    return open_


def _counted(name: str, real: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        _tick(name)
        return real(*args, **kwargs)

    return call


def install(fail_at: int, code: int) -> None:
    global _fail_at, _errno
    _fail_at, _errno = fail_at, code
    builtins.open = io.open = _wrap_open(io.open)  # os.fdopen calls io.open
    for name in ("write", "fsync", "replace", "rename"):
        setattr(os, name, _counted(name, getattr(os, name)))


def run(fail_at: int, code: int, args: list[str], count: str | None) -> int:
    install(fail_at, code)
    from searchsvc.cli import main as searchsvc_main

    try:
        return searchsvc_main(args)
    finally:
        if count:
            with io.FileIO(count, "w") as f:  # not counted
                f.write(str(_calls).encode())


def serve() -> None:
    import searchsvc.cli
    import searchsvc.index  # noqa: F401 - imported once, before the forks
    from searchsvc.parsing.places import find_places

    find_places(["Douentza, Mali"])  # the gazetteer too, once

    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child: one run, its stderr to a file
            status = 70
            try:
                fd = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(fd, 2)
                os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stdout answers the test
                status = run(req["n"], getattr(errno, req["errno"]), req["args"], req["count"])
            finally:
                sys.stderr.flush()
                sys.stdout.flush()
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(f"{os.waitstatus_to_exitcode(status)}\n")
        sys.stdout.flush()


def main() -> int:
    if sys.argv[1:] == ["--serve"]:
        serve()
        return 0
    fail_at, code = int(sys.argv[1]), getattr(errno, sys.argv[2])
    return run(fail_at, code, sys.argv[3:], os.environ.get("FAULT_COUNT"))


if __name__ == "__main__":
    sys.exit(main())
