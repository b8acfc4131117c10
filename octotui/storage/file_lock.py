"""The inter-process lock of the database file: the file itself, flocked by writers."""

from __future__ import annotations

import fcntl
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from octotui.storage.errors import StoreBusy, StoreUnavailable

LOCK_TIMEOUT_SECONDS = 10.0
FIRST_LOCK_TRY_SECONDS = 0.05  # then say "waiting for the lock" and keep trying


class DatabaseLock:
    """The database file is its own lock (flock on it, taken only by writers).

    There is no separate lock file that a tmp cleaner or `rm *.lock` could delete, which would let a
    second writer lock a fresh file while the first still writes. Only octotui replaces the database
    (compaction, migration), and it locks the new file before renaming it into place; a writer that
    wakes up holding the old, replaced file lets go and locks the file that is there now."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fds: list[int] = []

    def acquire(self, timeout: float, on_wait: Callable[[], None] | None = None) -> None:
        deadline = time.monotonic() + timeout
        pause, told = 0.002, False
        while True:
            try:
                # O_NONBLOCK: a FIFO put in the file's place must not hang the open (and is refused below).
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
                             | getattr(os, "O_CLOEXEC", 0))
            except FileNotFoundError:
                raise StoreUnavailable(self.path, "the database file has disappeared") from None
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise StoreUnavailable(self.path, "is not a regular file (a FIFO, device or socket cannot be a database)")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() > deadline:
                    raise StoreBusy(self.path, f"another octotui held the lock for over {timeout:.0f} s") from None
                if not told and on_wait is not None and time.monotonic() > deadline - timeout + FIRST_LOCK_TRY_SECONDS:
                    told = True
                    on_wait()
                time.sleep(pause)
                pause = min(pause * 2, 0.02)
                continue
            except OSError:
                os.close(fd)
                raise
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fds = [fd]
                return
            os.close(fd)  # replaced while we waited: lock the file that is there now

    def adopt(self, fd: int) -> None:
        """Also hold a new file's lock (locked before it was renamed into place) until release."""
        self._fds.append(fd)

    def release(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            os.close(fd)  # closing drops the flock

