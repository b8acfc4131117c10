"""What can go wrong with storage, by kind: every backend raises these, every caller handles these."""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """Something is wrong with the database; `str()` says what and where."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = Path(path) if not isinstance(path, Path) else path
        self.location = str(path)
        self.message = message


class StoreCorrupt(StoreError):
    """The database exists but cannot be read as an octotui database. It is never overwritten."""


class StoreTooNew(StoreError):
    """Written by a newer octotui; refused and left untouched."""


class StoreUnavailable(StoreError):
    """The location cannot be used (a directory, no permission, missing parent, vanished file...)."""


class StoreReadOnly(StoreError):
    """The database can be read but not written."""


class StoreWriteFailed(StoreError):
    """A save failed (disk full, size limit...); what was there before is intact."""


class StoreBusy(StoreError):
    """Another process held the lock for too long."""


class NotFound(KeyError):
    """A record a command needs does not exist (any more)."""


class StoreDisconnected(StoreUnavailable):
    """The database server cannot be reached right now; octotui keeps retrying by itself."""


class StoreOutcomeUnknown(StoreError):
    """The connection dropped during a commit: the change may or may not have been saved."""

    action_id: str | None = None  # the command's, set by the command runner: what to check once reconnected


class StoreNotEmpty(StoreError):
    """A copy would land on records already there (and was not asked to replace them)."""


class StoreForeign(StoreUnavailable):
    """Not an octotui database (another app's file), or no longer the one that was open: refused, and never
    written into, backed up, rewritten, moved or chmodded."""
