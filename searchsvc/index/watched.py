"""A small file the service reads again when it changes (synonyms, editors' pins).

Each use asks for the current contents: the file's modification time and size are
compared with those last read (a `stat`, microseconds), and a changed file is parsed
again. A file that cannot be read or parsed is logged and the last good contents stay in
force: an editor's typo must not take the synonyms or pins away, nor fail a search.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class WatchedFile(Generic[T]):
    """The parsed contents of a file (`empty` when no file is configured or it is missing),
    parsed again when the file changes. Thread-safe."""

    def __init__(self, path: Path | None, parse: Callable[[str], T], empty: T) -> None:
        self.path = path
        self._parse = parse
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._value = empty
        self._empty = empty
        self.error: str | None = None  # why the last read failed, if it did
        # Counts the contents put in force: answers computed with them are cached under it.
        self.version = 0

    def get(self) -> T:
        if self.path is None:
            return self._value
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        with self._lock:
            if stamp == self._stamp:
                return self._value
            self._stamp = stamp
            if stamp is None:
                log.warning("%s is missing: none in force", self.path)
                self._value, self.error = self._empty, f"{self.path} is missing"
                self.version += 1
                return self._value
            try:
                self._value = self._parse(self.path.read_text(encoding="utf-8"))
                self.version += 1
                self.error = None
                log.debug("read %s", self.path)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                self.error = f"{self.path}: {exc}"
                log.error("cannot use %s (the last good version stays): %s", self.path, exc)
            return self._value
