"""One TinyDB file that is never half-written, shared safely between processes.

TinyDB's stock JSONStorage truncates and rewrites in place (a kill mid-write leaves a corrupt
file) and caches the next document id per process (two writers collide). Here every write goes
through `Store.transaction()`: an inter-process lock, a fresh read, TinyDB's caches reset, and
one atomic replace of the whole file at the end.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

SCHEMA_VERSION = 1
META_TABLE = "meta"
LOCK_TIMEOUT_SECONDS = 10.0
TEMP_SUFFIX = ".octotui-tmp"

Tables = dict[str, dict[str, Any]]


class StoreError(Exception):
    """Something is wrong with the database file; `str()` says what and where."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = Path(path)
        self.message = message


class StoreCorrupt(StoreError):
    """The file exists but is not a readable octotui database. It is never overwritten."""


class StoreTooNew(StoreError):
    """Written by a newer octotui; refused and left untouched."""


class StoreUnavailable(StoreError):
    """The location cannot be used (a directory, no permission, missing parent...)."""


class StoreReadOnly(StoreError):
    """The file can be read but not written."""


class StoreWriteFailed(StoreError):
    """A save failed (disk full, size limit...); the previous file is intact."""


class StoreBusy(StoreError):
    """Another process held the lock for too long."""


def _signature(stat: os.stat_result) -> tuple[int, int, int]:
    # An atomic replace gives a new inode, so even same-size writes within one mtime tick show.
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot open a directory for fsync
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def parse_tables(raw: bytes, path: Path) -> Tables:
    """Parse and shape-check a database file; every failure names the place."""
    if not raw.strip():
        raise StoreCorrupt(path, "the file is empty (expected a JSON object)")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise StoreCorrupt(path, f"line {line}: not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise StoreCorrupt(path, f"line {error.lineno} column {error.colno}: not valid JSON ({error.msg})") from None
    except RecursionError:
        raise StoreCorrupt(path, "JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise StoreCorrupt(path, f"expected a JSON object of tables, found {type(data).__name__}")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise StoreCorrupt(path, f"table {name!r} is {type(table).__name__}, expected an object of documents")
        for doc_id, doc in table.items():
            if not isinstance(doc, dict) or not doc_id.isdigit():
                raise StoreCorrupt(path, f"table {name!r} document {doc_id!r} is not a document")
    return data


def schema_of(tables: Tables) -> int:
    meta = tables.get(META_TABLE, {})
    for doc in meta.values():
        if isinstance(doc.get("schema"), int):
            return doc["schema"]
    return 0


def _migrate_0_to_1(tables: Tables) -> Tables:
    """A plain TinyDB file (no meta table) becomes an octotui database."""
    tables = dict(tables)
    tables[META_TABLE] = {"1": {"schema": 1}}
    return tables


# Forward migrations: MIGRATIONS[n] turns a schema-n file into schema n+1.
MIGRATIONS: dict[int, Callable[[Tables], Tables]] = {0: _migrate_0_to_1}


class _TouchRecorder:
    """Stands in for a table's dict while TinyDB changes it, noting every document id it reaches."""

    def __init__(self, table: dict, touched: set) -> None:
        self._table, self._touched = table, touched

    def __getitem__(self, key):
        self._touched.add(key)
        return self._table[key]

    def __setitem__(self, key, value) -> None:
        self._touched.add(key)
        self._table[key] = value

    def __delitem__(self, key) -> None:
        self._touched.add(key)
        del self._table[key]

    def pop(self, key, *default):
        self._touched.add(key)
        return self._table.pop(key, *default)

    def __contains__(self, key) -> bool:
        return key in self._table

    def __iter__(self):
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def keys(self):
        return self._table.keys()

    def clear(self) -> None:
        self._touched.update(self._table)
        self._table.clear()


class TrackedTable(Table):
    """A TinyDB table that tells the storage which documents a write may have changed."""

    def _update_table(self, updater) -> None:
        touched = self._storage.touched(self.name)
        super()._update_table(lambda table: updater(_TouchRecorder(table, touched)))


class TrackedTinyDB(TinyDB):
    table_class = TrackedTable


class AtomicJSONStorage(Storage):
    """TinyDB storage: reads are cached by file identity; writes only land inside a transaction.

    Saving re-encodes only the documents a transaction touched: each table's text is joined from
    per-document JSON kept since the last load or save.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: Tables | None = None
        self._cached_signature: tuple[int, int, int] | None = None
        self._pending: Tables | None = None  # the transaction's working copy
        self._dirty = False
        self._touched: dict[str, set[int]] = {}  # table -> document ids this transaction may have changed
        self._encoded: dict[str, dict[str, str]] = {}  # table -> document id -> its JSON, as last saved

    # -- TinyDB's interface -------------------------------------------------------------
    def read(self) -> Tables | None:
        if self._pending is not None:
            return dict(self._pending)
        return dict(self.load())

    def write(self, data: Tables) -> None:
        if self._pending is None:
            raise RuntimeError("writes must go through Store.transaction()")
        self._pending = data
        self._dirty = True

    def close(self) -> None:
        pass

    # -- ours ---------------------------------------------------------------------------
    def signature(self) -> tuple[int, int, int] | None:
        try:
            return _signature(os.stat(self.path))
        except FileNotFoundError:
            return None

    def load(self, for_write: bool = False) -> Tables:
        try:
            with open(self.path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                if self._cached is not None and _signature(stat) == self._cached_signature:
                    return self._cached
                raw = handle.read()
        except FileNotFoundError:
            if self._cached is not None and not for_write:
                return self._cached  # keep showing what was last read; saving is refused below
            raise StoreUnavailable(self.path, "the database file has disappeared; not saved") from None
        except IsADirectoryError:
            raise StoreUnavailable(self.path, "is a directory, not a database file") from None
        except PermissionError:
            raise StoreUnavailable(self.path, "permission denied reading the database") from None
        tables = parse_tables(raw, self.path)
        self._cached, self._cached_signature, self._encoded = tables, _signature(stat), {}
        return tables

    def touched(self, table: str) -> set[int]:
        return self._touched.setdefault(table, set())

    def replace_all(self, data: Tables) -> None:
        """Stage a whole new content (creation, migration) for the next commit."""
        self._pending, self._dirty, self._encoded = data, True, {}

    def begin(self) -> None:
        self._pending, self._dirty, self._touched = dict(self.load(for_write=True)), False, {}

    def rollback(self) -> None:
        # TinyDB updates documents in place, so the cache may hold unsaved changes: drop it.
        if self._dirty:
            self._cached = self._cached_signature = None
            self._encoded = {}
        self._pending, self._dirty, self._touched = None, False, {}

    def commit(self) -> None:
        data, dirty = self._pending, self._dirty
        if data is None or not dirty:
            self._pending = None
            return
        try:
            self._write_atomically(self._serialize(data))
        except BaseException:
            self.rollback()
            raise
        self._pending, self._dirty = None, False
        self._cached = data
        self._cached_signature = self.signature()

    def _serialize(self, data: Tables) -> str:
        parts = []
        for name, table in data.items():
            encoded = self._encoded.setdefault(name, {})
            touched = {str(doc_id) for doc_id in self._touched.get(name, ())}
            whole = encoded.get("")  # the table's text as last saved ("" is never a document id)
            if whole is None or touched:
                for doc_id in touched - table.keys():
                    encoded.pop(doc_id, None)  # removed
                documents = []
                for doc_id, doc in table.items():  # ids are digit strings (parse_tables checks)
                    text = encoded.get(doc_id)
                    if text is None or doc_id in touched:
                        text = encoded[doc_id] = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
                    documents.append(f'"{doc_id}":{text}')
                whole = encoded[""] = "{" + ",".join(documents) + "}"
            parts.append(f"{json.dumps(name)}:{whole}")
        for name in set(self._encoded) - data.keys():
            del self._encoded[name]
        return "{" + ",".join(parts) + "}"

    def _write_atomically(self, text: str) -> None:
        directory = self.path.parent
        fd, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=TEMP_SUFFIX, dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp creates it 0600
                handle.write(text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise
        _fsync_directory(directory)


class Store:
    """The database: open (checked and migrated), read, and change in transactions."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser().absolute()
        self._check_location()
        self.storage = AtomicJSONStorage(self.path)
        self.db = TrackedTinyDB(storage=lambda: self.storage)
        self._thread_lock = threading.RLock()
        self._file_lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_SECONDS, mode=0o600, thread_local=False)
        self.read_only = not os.access(self.path.parent, os.W_OK) or (self.path.exists() and not os.access(self.path, os.W_OK))
        self.backup_path: Path | None = None
        if not self.read_only:
            self._check_lock_file()
        self._open()

    # -- opening ------------------------------------------------------------------------
    def _check_location(self) -> None:
        if self.path.is_dir():
            raise StoreUnavailable(self.path, "is a directory, not a database file (choose a file path with --db)")
        parent = self.path.parent
        if not parent.exists():
            try:
                parent.mkdir(parents=True, mode=0o700)
            except OSError as error:
                raise StoreUnavailable(self.path, f"cannot create the folder {parent} ({error.strerror})") from None
        if not parent.is_dir():
            raise StoreUnavailable(self.path, f"{parent} is not a folder")

    def _check_lock_file(self) -> None:
        """filelock retries a lock file it cannot create until its timeout: find out at once instead."""
        lock_path = str(self.path) + ".lock"
        try:
            os.close(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                self.read_only = True  # readable, perhaps, but nothing can be saved here
                return
            raise StoreUnavailable(self.path, f"cannot create {lock_path} ({error.strerror})") from None

    def _open(self) -> None:
        if self.read_only:
            if not self.path.exists():
                raise StoreUnavailable(self.path, f"cannot create the database: the folder {self.path.parent} is not writable")
            self._check_schema(self.storage.load())
            return
        with self._locked():
            self._clean_stale_temp_files()
            if not self.path.exists():
                self.storage.replace_all({META_TABLE: {"1": {"schema": SCHEMA_VERSION}}})
                self._commit()
                return
            tables = self.storage.load()
            version = self._check_schema(tables)
            if version < SCHEMA_VERSION:
                self._migrate(tables, version)

    def _check_schema(self, tables: Tables) -> int:
        version = schema_of(tables)
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
        shutil.copy2(self.path, backup)
        os.chmod(backup, 0o600)
        self.backup_path = backup
        while version < SCHEMA_VERSION:
            tables = MIGRATIONS[version](tables)
            version += 1
        self.storage.replace_all(tables)
        self._commit()

    def _clean_stale_temp_files(self) -> None:
        # Left by a process killed between writing its temp file and the rename.
        for leftover in self.path.parent.glob(f".{self.path.name}.*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                leftover.unlink()

    # -- locking and transactions ---------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            try:
                self._file_lock.acquire()
            except Timeout:
                raise StoreBusy(self.path, f"another octotui held the lock for over {LOCK_TIMEOUT_SECONDS:.0f} s") from None
            except PermissionError:
                raise StoreReadOnly(self.path, "cannot create the lock file (folder not writable)") from None
            try:
                yield
            finally:
                self._file_lock.release()

    def _commit(self) -> None:
        try:
            self.storage.commit()
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                reason = "disk full or file size limit reached"
            elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                reason = "no permission to write"
            elif error.errno == errno.ENOENT:
                reason = "the folder has disappeared"
            else:
                reason = error.strerror or str(error)
            raise StoreWriteFailed(self.path, f"not saved: {reason}; the previous file is intact") from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[TinyDB]:
        """Lock, read fresh, let the caller change tables, write once atomically."""
        if self.read_only:
            raise StoreReadOnly(self.path, "the database is read-only here; changes cannot be saved")
        with self._locked():
            self.storage.begin()
            for table in self.db._tables.values():
                # TinyDB caches the next id and query results per process: stale under a second writer.
                table._next_id = None
                table.clear_cache()
            try:
                yield self.db
            except BaseException:
                self.storage.rollback()
                raise
            self._commit()

    # -- reading ------------------------------------------------------------------------
    def tables(self) -> Tables:
        with self._thread_lock:
            return self.storage.load()

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        return self.tables().get(name, {})

    def signature(self) -> tuple[int, int, int] | None:
        return self.storage.signature()

    @property
    def schema(self) -> int:
        return schema_of(self.tables())


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
    return target

