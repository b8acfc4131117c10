"""The one safe way octotui writes a file: never half-written, never through a planted link.

A unique temp file is created next to the target with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600,
written, fsynced, renamed over the target, and the folder is fsynced. Folders it creates are 0700.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

TEMP_SUFFIX = ".octotui-tmp"
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class RefusedPath(OSError):
    """A write octotui will not do (onto its own database or lock, or onto a special file)."""


def fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot open a directory for fsync
        # O_DIRECTORY | O_NONBLOCK: whatever was put in the folder's place, the open never blocks
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_NONBLOCK)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def make_private_dir(directory: Path) -> None:
    """Create missing folders 0700 whatever the umask (only the ones created here are chmodded)."""
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)


def read_regular(path: Path) -> bytes:
    """A file's bytes, opened without blocking (a FIFO put in its place would hang a plain open) and read only
    if it is a regular file (RefusedPath otherwise)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RefusedPath(f"{path} is not a regular file")
        chunks: list[bytes] = []
        offset = 0
        while True:
            chunk = os.pread(fd, max(info.st_size - offset, 1 << 16), offset)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            offset += len(chunk)
    finally:
        os.close(fd)


def temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.urandom(6).hex()}{TEMP_SUFFIX}")


def write_atomically(target: Path, data: bytes, *, protected: Iterable[Path] = (), lock: bool = False,
                     exclusive: bool = False) -> int | None:
    """Replace `target` with `data` all at once; raises OSError (RefusedPath for refused targets).

    `lock`: the new file is flock()ed before it is renamed into place and the locked descriptor is
    returned (a database is its own lock: nobody may slip in between the rename and the release).
    `exclusive`: create `target` only if it does not exist (FileExistsError otherwise)."""
    target = Path(target)
    for path in protected:
        if _same_file(target, Path(path)):
            raise RefusedPath(f"{target} is octotui's own database or lock; refusing to overwrite it")
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(target).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            raise RefusedPath(f"{target} is not a regular file")
    temp = temp_name(target)
    fd = os.open(temp, _CREATE, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        if lock:
            fcntl.flock(fd, fcntl.LOCK_EX)  # nobody else can know this file yet: never blocks
        if exclusive:
            os.link(temp, target)  # fails if it exists: two processes creating one database
            os.unlink(temp)
        else:
            os.replace(temp, target)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_directory(target.parent)
    if lock:
        return fd
    os.close(fd)
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def move_aside(path: Path | str) -> Path:
    """Rename a bad database file out of the way (never delete it); returns the new name."""
    path = Path(path)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
    os.replace(path, target)
    fsync_directory(path.parent)
    return target
