"""The embedded backend: TinyDB's document tables kept in octotui's journaled file format, one file that
is never half-written and is shared safely between processes.

The file is a JSON snapshot of every table followed by journal records, one per committed unit of
work: `\\n#<length hex> <crc32 hex> <JSON of the documents it touched>`. A commit appends one
record and fsyncs it, so a save costs what it changed, not what the file holds; when the journal
passes a quarter of the snapshot, the file is compacted into a fresh snapshot through the safe writer.
A torn last record (a kill mid-append) is ignored when read and cut off by the next writer: it was never
acknowledged. Readers pick up other processes' records incrementally, parsing only those. The snapshot
holds one table per line, then lines derived from the tables (DERIVED_LINES): a start parses those and
leaves every table unparsed, and its text on disk, until first needed. This is octotui's own format, not
TinyDB's: stock TinyDB's JSONStorage cannot read the file once a change is saved (`octotui export data`
writes a plain JSON file that it opens).

TinyDB's stock JSONStorage truncates and rewrites in place and caches the next document id per
process; here every write goes through `Store.unit_of_work()`: an inter-process lock, a fresh read,
TinyDB's caches reset, and one appended record. The parts: the TinyDB storage over the file
(journal_storage.py), TinyDB's tables told what a write touched (tracked_tinydb.py, the only other
module that uses TinyDB's private hooks), the lock (file_lock.py), the unit of work and the read view
(file_unit_of_work.py), and the format itself (snapshot.py, journal.py, migrations.py).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from octotui.storage.base import EVENTS, META, RECORD_TABLES, ChangeLog, Changes, Doc
from octotui.storage.errors import (
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreForeign,
    StoreNotEmpty,
    StoreReadOnly,
    StoreTooNew,
    StoreUnavailable,
    StoreWriteFailed,
)
from octotui.storage.file_lock import LOCK_TIMEOUT_SECONDS, DatabaseLock
from octotui.storage.file_unit_of_work import SnapshotView, TinyUnitOfWork
from octotui.storage.fs import TEMP_SUFFIX, make_private_dir, move_aside, read_regular, write_atomically
from octotui.storage.journal_storage import (
    COMPACT_MIN_JOURNAL_BYTES,
    MAX_FILE_BYTES,
    NOT_OCTOTUI,
    JournalStorage,
)
from octotui.storage.migrations import META_TABLE, SCHEMA_VERSION, Tables, migrated, new_meta, schema_of
from octotui.storage.snapshot import _apply, split_file
from octotui.storage.tracked_tinydb import TrackedTinyDB

__all__ = [
    "SCHEMA_VERSION", "Store", "StoreError", "StoreCorrupt", "StoreTooNew", "StoreUnavailable", "StoreReadOnly",
    "StoreWriteFailed", "StoreBusy", "move_aside", "read_tables", "MAX_FILE_BYTES",
]


def read_tables(path: Path | str) -> Tables:
    """Every table as the file holds it now (snapshot plus journal): for tools and tests."""
    path = Path(path)
    read = split_file(read_regular(path), path)
    for record in read.records:
        _apply(read.tables, record)
    return read.tables


class Store(ChangeLog):
    """The database file: open (checked and migrated), read, and change in units of work."""

    def __init__(self, path: Path | str, *, read_only: bool = False, foreign: bool = False,
                 compact_min_journal_bytes: int = COMPACT_MIN_JOURNAL_BYTES,
                 max_file_bytes: int = MAX_FILE_BYTES) -> None:
        """`foreign`: a file that is not an octotui database may be opened (read-only: `db copy` imports it).
        `compact_min_journal_bytes`: the journal is folded into a new snapshot once it passes this and a quarter
        of the snapshot (a smaller value makes compactions frequent: the crash tests kill writers during them).
        `max_file_bytes`: a larger file is refused, and a save that would pass it (tests make it small)."""
        super().__init__()
        try:
            # Symlinks followed once: the real file is what is replaced and locked, so a symlinked database
            # keeps working and two spellings of one file share one lock.
            self.path = Path(os.path.realpath(Path(path).expanduser()))
            self.location = str(self.path)
            self._check_location(create=not read_only)
        except OSError as error:
            raise StoreUnavailable(path, f"cannot use this path ({error.strerror or error})") from None
        self.storage = JournalStorage(self.path, compact_min_journal_bytes=compact_min_journal_bytes,
                                      max_file_bytes=max_file_bytes)
        self.storage.accept_foreign = foreign and read_only
        self.db = TrackedTinyDB(storage=lambda: self.storage)
        self._thread_lock = threading.RLock()
        self.lock_path = self.path  # the database is its own lock (see DatabaseLock)
        self._lock = DatabaseLock(self.path)
        self.read_only = read_only or not os.access(self.path.parent, os.W_OK) or (
            self.path.exists() and not os.access(self.path, os.W_OK))
        self.read_only_reason = "the database is read-only here; changes cannot be saved"
        self.user: str | None = None  # a file does not know who opened it: the login name is used
        self.backup_path: Path | None = None
        self._opened_damaged = False  # read-only because the first read found damage (see _note_damage)
        self.local_file: Path | None = self.path
        self._open(read_only_requested=read_only)

    @property
    def snapshot(self) -> SnapshotView:
        return SnapshotView(self.storage)

    # -- opening ------------------------------------------------------------------------
    def _check_location(self, create: bool = True) -> None:
        if self.path.is_dir():
            raise StoreUnavailable(self.path, "is a directory, not a database file (choose a file path with --db)")
        with contextlib.suppress(FileNotFoundError):
            mode = os.stat(self.path).st_mode
            if not stat.S_ISREG(mode):
                raise StoreUnavailable(self.path, "is not a regular file (a FIFO, device or socket cannot be a database)")
        parent = self.path.parent
        if not parent.exists() and create:
            try:
                make_private_dir(parent)
            except OSError as error:
                raise StoreUnavailable(self.path, f"cannot create the folder {parent} ({error.strerror})") from None
        if not parent.exists():
            raise StoreUnavailable(self.path, "no database here yet (start octotui once, or check --db)")
        if not parent.is_dir():
            raise StoreUnavailable(self.path, f"{parent} is not a folder")

    def _open(self, read_only_requested: bool = False) -> None:
        if self.read_only:
            if not self.path.exists():
                if read_only_requested:
                    raise StoreUnavailable(self.path, "no database here yet (start octotui once, or check --db)")
                raise StoreUnavailable(self.path, f"cannot create the database: the folder {self.path.parent} is not writable")
            self.storage.refresh()
            self._check_schema(self.storage.tables)
            self._note_damage()
            return
        if not self.path.exists():
            try:
                self.storage.write_snapshot({META_TABLE: {"1": new_meta()}}, exclusive=True)
            except FileExistsError:
                pass  # another octotui created it just now: use theirs
            except OSError as error:
                raise StoreUnavailable(self.path, f"cannot create the database file here ({error.strerror})") from None
        with self._locked():
            self._logged(self.storage.refresh(for_write=True))
            version = self._check_schema(self.storage.tables)
            if self._note_damage():
                return  # shown read-only, as it is: nothing is cut, migrated or written
            self._clean_stale_temp_files()
            if version < SCHEMA_VERSION:
                self._migrate(self.storage.complete(), version)

    def _note_damage(self) -> bool:
        """Journal damage found by the first read: the records that verify are shown, read-only."""
        damage = self.storage.damage
        if not damage:
            return False
        self.read_only = self._opened_damaged = True
        self.read_only_reason = f"{damage[0].short()}; read-only: `octotui db repair --to NEW` writes a repaired copy"
        return True

    @property
    def before_commit(self) -> Callable[[], None] | None:
        """Tests: a fault just before a unit of work's record is written (PostgresStore's runs before COMMIT)."""
        return self.storage.before_commit

    @before_commit.setter
    def before_commit(self, fault: Callable[[], None] | None) -> None:
        self.storage.before_commit = fault

    def unread_tables(self) -> frozenset[str]:
        """The tables not yet wholly read into memory (left as the file's text until first needed). A diagnostic:
        it shows that a start, a check or a save read only what it needed."""
        return frozenset(self.storage.deferred)

    def damage_note(self) -> str | None:
        """What the first read found damaged in the journal (the store is then read-only), said in full."""
        damage = self.storage.damage
        if not damage:
            return None
        more = f" (and {len(damage) - 1} more place(s))" if len(damage) > 1 else ""
        return (f"{self.path}: {damage[0].describe()}{more}; every record that still verifies is shown read-only, "
                "nothing was cut or overwritten (`octotui db check`, `octotui db repair --to NEW`)")

    def _check_schema(self, tables: Tables) -> int:
        version = schema_of(tables)
        if version == 0 and not self.storage.accept_foreign:
            raise StoreForeign(self.path, NOT_OCTOTUI)  # never migrated, backed up or chmodded: not ours
        if version > SCHEMA_VERSION:
            raise StoreTooNew(
                self.path,
                f"written by a newer octotui (schema {version}; this version reads up to {SCHEMA_VERSION}). "
                "Upgrade octotui; the file was left untouched.",
            )
        return version

    def _migrate(self, tables: Tables, version: int) -> None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = self.path.with_name(f"{self.path.name}.schema{version}-{stamp}.bak")
        try:
            # Written whole under a temp name, then renamed: an interrupted migration leaves no
            # file that looks like a finished backup.
            write_atomically(backup, read_regular(self.path))
        except OSError as error:
            raise StoreWriteFailed(self.path, f"cannot write the backup before migrating ({error.strerror})") from None
        self.backup_path = backup
        self._write_snapshot(migrated(tables, version))

    def _write_snapshot(self, tables: Tables) -> None:
        try:
            self.storage.write_snapshot(tables)
        except OSError as error:
            raise self._write_failed(error) from None

    def _clean_stale_temp_files(self) -> None:
        # Left by a process killed between writing its temp file and the rename. Only this database's
        # own temp names: `.NAME.<12 hex>.octotui-tmp` (no glob, so `[team].json` works too).
        prefix = f".{self.path.name}."
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.path.parent):
                name = entry.name
                middle = name[len(prefix) : -len(TEMP_SUFFIX)] if name.endswith(TEMP_SUFFIX) else ""
                if name.startswith(prefix) and len(middle) == 12 and all(c in "0123456789abcdef" for c in middle):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)

    # -- locking and units of work ------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        with self._thread_lock:
            try:
                self._lock.acquire(LOCK_TIMEOUT_SECONDS, on_wait)
            except PermissionError:
                raise StoreReadOnly(self.path, "cannot open the database to lock it (no permission)") from None
            except OSError as error:
                raise StoreUnavailable(self.path, f"cannot lock the database ({error.strerror})") from None
            self.storage.lock = self._lock
            try:
                yield
            finally:
                self.storage.lock = None
                self._lock.release()

    def _write_failed(self, error: OSError) -> StoreWriteFailed:
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            reason = "disk full or file size limit reached"
        elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason = "no permission to write"
        elif error.errno == errno.ENOENT:
            reason = "the folder has disappeared"
        elif error.errno == errno.ESTALE:
            reason = "the file was replaced while saving"
        elif error.errno == errno.EAGAIN:
            reason = "another process wrote to the database without its lock"
        else:
            reason = error.strerror or str(error)
        return StoreWriteFailed(self.path, f"not saved: {reason}; the previous file is intact")

    @contextlib.contextmanager
    def unit_of_work(self, on_wait: Callable[[], None] | None = None) -> Iterator[TinyUnitOfWork]:
        """Lock, read fresh, let the caller change documents, append them as one record."""
        if self.read_only:
            raise StoreReadOnly(self.path, self.read_only_reason)
        with self._locked(on_wait), self._work() as uow:
            yield uow

    @contextlib.contextmanager
    def _work(self) -> Iterator[TinyUnitOfWork]:
        """A unit of work under the lock already held."""
        self._logged(self.storage.begin())
        try:
            for table in self.db._tables.values():
                # TinyDB caches the next id and query results per process: stale under a second writer.
                table._next_id = None
                table.clear_cache()
            yield TinyUnitOfWork(self)
        except BaseException:
            self.storage.rollback()
            raise
        try:
            self._logged(self.storage.commit())
        except OSError as error:
            raise self._write_failed(error) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[TinyDB]:
        """Raw TinyDB access inside a unit of work (tools and tests)."""
        with self.unit_of_work():
            self.storage.complete()  # TinyDB's whole-database calls (tables(), drop_tables()) see every table
            yield self.db

    # -- reading ------------------------------------------------------------------------
    def changed_outside(self) -> bool:
        return self.storage.stat_changed()

    def refresh(self) -> Changes:
        with self._thread_lock:
            changes = self._logged(self.storage.refresh())
            if self._opened_damaged and not self.storage.damage:
                self.read_only_reason = "the file was repaired since octotui opened it: restart octotui to save changes"
            return changes

    def tables(self) -> Tables:
        with self._thread_lock:
            self._logged(self.storage.refresh())
            return self.storage.complete()

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        return self.tables().get(name, {})

    def compact(self) -> None:
        with self._locked():
            self._logged(self.storage.refresh(for_write=True))
            try:
                self.storage.compact()
            except OSError as error:
                raise self._write_failed(error) from None

    def torn_tail_note(self) -> str | None:
        """Said once when the file ended in an incomplete record (ignored; the next save cuts it off)."""
        if not self.storage.torn_bytes:
            return None
        return (f"{self.path}: ignored {self.storage.torn_bytes:,} bytes after the last complete record "
                "(an interrupted save: it was never acknowledged)")

    @property
    def schema(self) -> int:
        return schema_of(self.tables())

    # -- what a shared server does and a file does not ---------------------------------------------
    def close(self) -> None:
        """Let go of the file held open since the last read (what is still unparsed cannot be read after)."""
        self.storage.release()

    def take_notices(self) -> list[str]:
        return []

    def subscribe(self, callback: Callable[[], None] | None) -> None:
        pass  # no push: changed_outside() is a stat, polled

    def presence(self) -> list[str]:
        return []

    # -- db copy ------------------------------------------------------------------------------------
    def export_tables(self) -> dict[str, dict[int, Doc]]:
        tables = self.tables()
        version = schema_of(tables)
        if version == 0:  # another app's TinyDB file (opened `foreign`): its octotui tables, if it has any
            tables, version = {**tables, META_TABLE: {"1": {"schema": 1}}}, 1
        if version < SCHEMA_VERSION:  # an older octotui file opened read-only: copied as this version reads it
            tables = migrated(tables, version)
        exported = {name: {int(key): doc for key, doc in tables.get(name, {}).items()}
                    for name in (*RECORD_TABLES, META, EVENTS)}
        # The database's id stays with this file: a copy is another database.
        exported[META] = {key: {field: value for field, value in doc.items() if field != "id"}
                          for key, doc in exported[META].items()}
        return exported

    def import_tables(self, tables: dict[str, dict[int, Doc]], replace: bool = False) -> None:
        """A whole new file with these documents (ids kept), replaced atomically under the lock."""
        if self.read_only:
            raise StoreReadOnly(self.path, self.read_only_reason)
        snapshot: Tables = {name: {str(key): doc for key, doc in sorted(docs.items())} for name, docs in tables.items()}
        with self._locked():
            self.storage.refresh(for_write=True)
            # Still this database (its id kept): an app that has it open takes the new content as a change.
            snapshot[META_TABLE] = {**snapshot.get(META_TABLE, {}),
                                    "1": {**new_meta(), **({"id": self.storage.identity} if self.storage.identity else {})}}
            held = sum(len(self.storage.table(name)) for name in (*RECORD_TABLES, EVENTS))
            if held and not replace:
                raise StoreNotEmpty(self.path, f"already holds {held:,} records and events (--replace overwrites them)")
            self._write_snapshot(snapshot)
            self._logged(Changes(everything=True))


