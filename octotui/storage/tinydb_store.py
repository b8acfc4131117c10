"""The embedded backend: one TinyDB file that is never half-written, shared safely between processes.

The file is a JSON snapshot of every table followed by journal records, one per committed unit of
work: `\\n#<length hex> <crc32 hex> <JSON of the documents it touched>`. A commit appends one
record and fsyncs it, so a save costs what it changed, not what the file holds; when the journal
passes a quarter of the snapshot, the file is compacted into a fresh snapshot through the safe writer.
A torn last record (a kill mid-append) is ignored when read and cut off by the next writer: it was never
acknowledged. Readers pick up other processes' records incrementally, parsing only those. The snapshot
holds one table per line, then lines derived from the tables (DERIVED_LINES): a start parses those and
leaves every table unparsed, and its text on disk, until first needed.

TinyDB's stock JSONStorage truncates and rewrites in place and caches the next document id per
process; here every write goes through `Store.unit_of_work()`: an inter-process lock, a fresh read,
TinyDB's caches reset, and one appended record. TinyDB's private hooks are used only in this module.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import threading
import time
import uuid
import weakref
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document, Table

from octotui.storage.base import (
    EVENTS,
    META,
    RECORD_TABLES,
    ChangeLog,
    Changes,
    Doc,
    ReadsWholeTables,
    open_incident_docs,
)
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
from octotui.storage.fs import (
    TEMP_SUFFIX,
    make_private_dir,
    move_aside,
    read_regular,
    write_atomically,
)
from octotui.storage.journal import (
    Damage,
    all_crlf,
    crc_of_file,
    frame,
    scan_journal,
    tail_is_torn,
)
from octotui.storage.journal import check_tables as _check_tables
from octotui.storage.journal import loads as _loads
from octotui.storage.migrations import (
    META_TABLE,
    SCHEMA_VERSION,
    Tables,
    identity_of,
    migrated,
    new_meta,
    schema_of,
)
from octotui.storage.snapshot import (
    BOARD_LINE,
    DOCS_LINE,
    HISTORY_LINE,
    INDEXED_TABLES,
    OPEN_LINE,
    FileRead,
    _apply,
    _spans,
    encode_snapshot,
    split_file,
)

__all__ = [
    "SCHEMA_VERSION", "Store", "StoreError", "StoreCorrupt", "StoreTooNew", "StoreUnavailable", "StoreReadOnly",
    "StoreWriteFailed", "StoreBusy", "move_aside", "read_tables", "MAX_FILE_BYTES",
]

NOT_OCTOTUI = "not an octotui database; `octotui db copy` can import it"
LOCK_TIMEOUT_SECONDS = 10.0
FIRST_LOCK_TRY_SECONDS = 0.05  # then say "waiting for the lock" and keep trying
MAX_FILE_BYTES = 512 * 1024 * 1024  # refuse, with a message, rather than exhaust memory
COMPACT_MIN_JOURNAL_BYTES = 256 * 1024
# No first screen shows these whole: parsed when first needed (releases and incidents only where the
# snapshot carries the lines derived from them).
LAZY_TABLES = frozenset({EVENTS, "decisions", "releases", "incidents"})


def _signature(info: os.stat_result) -> tuple[int, ...]:
    """What changes whenever the file does: any write sets ctime (which no tool can set back)."""
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def read_tables(path: Path | str) -> Tables:
    """Every table as the file holds it now (snapshot plus journal): for tools and tests."""
    path = Path(path)
    read = split_file(read_regular(path), path)
    for record in read.records:
        _apply(read.tables, record)
    return read.tables


# -- TinyDB, told which documents a write touched ----------------------------------------------
class _TouchRecorder:
    """Stands in for a table's dict while TinyDB changes it, noting every document id it reaches."""

    def __init__(self, table: dict[Any, Any], touched: set[Any]) -> None:
        self._table, self._touched = table, touched

    def __getitem__(self, key: Any) -> Any:
        self._touched.add(key)
        return self._table[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._touched.add(key)
        self._table[key] = value

    def __delitem__(self, key: Any) -> None:
        self._touched.add(key)
        del self._table[key]

    def pop(self, key: Any, *default: Any) -> Any:
        self._touched.add(key)
        return self._table.pop(key, *default)

    def __contains__(self, key: Any) -> bool:
        return key in self._table

    def __iter__(self) -> Iterator[Any]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def keys(self) -> Any:
        return self._table.keys()

    def clear(self) -> None:
        self._touched.update(self._table)
        self._table.clear()


class TrackedTable(Table):
    """A TinyDB table that tells the storage which documents a write may have changed."""

    def _update_table(self, updater: Callable[[dict[Any, Any]], None]) -> None:
        touched = cast(JournalStorage, self._storage).touched(self.name)
        super()._update_table(lambda table: updater(_TouchRecorder(table, touched)))  # type: ignore[arg-type]


class TrackedTinyDB(TinyDB):
    table_class = TrackedTable


class _LazyTables(dict[str, dict[str, Doc]]):
    """The tables as a unit of work sees them: one the file's read left unparsed is parsed when TinyDB
    first reaches for it, so a save reads only the tables it changes."""

    def __init__(self, storage: JournalStorage, tables: Tables) -> None:
        super().__init__(tables)
        self._storage = storage
        self.dropped: set[str] = set()

    def __missing__(self, name: str) -> dict[str, Doc]:
        storage = self._storage
        if name in self.dropped:
            raise KeyError(name)
        storage._parse_deferred(name)  # if still unparsed; a reader may also have parsed it since the begin
        with storage._lazy_lock:
            if name not in storage.tables:
                raise KeyError(name)
            table = storage.tables[name]
        staged = storage.staged_docs.pop(name, None)
        if staged:  # put before TinyDB reached for the table: now part of it, as TinyDB's own changes are
            table = dict(table)
            _apply({name: table}, {name: staged})
            storage.touched(name).update(int(key) for key in staged)
        self[name] = table
        return table

    def __delitem__(self, name: str) -> None:
        self.dropped.add(name)
        super().__delitem__(name)

    def pop(self, name: str, *default: Any) -> Any:
        self.dropped.add(name)
        return super().pop(name, *default)


class _HeldFile:
    """One open file descriptor, replaced or closed as a whole."""

    fd: int | None = None

    def hold(self, fd: int | None) -> None:
        held, self.fd = self.fd, fd
        if held is not None:
            os.close(held)


class JournalStorage(Storage):
    """TinyDB storage over the snapshot + journal file. Reads come from memory; writes only inside
    a unit of work, and only the documents it touched are written (as one journal record)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tables: Tables = {}
        self._pending: Tables | None = None
        self._touched: dict[str, set[int]] = {}
        self._inode: int | None = None
        self._end = 0  # the intact length of the file as last read or written
        self._snapshot_bytes = 0
        # owner -> stream -> events in id order; None until first asked for (a start that shows no history
        # never pays for indexing every event of a large file)
        self.streams: dict[str, dict[str, list[tuple[int, Doc]]]] | None = None
        # Tables no first screen shows, left as their JSON (line, text) until first needed: a start of a
        # large file parses the releases and incidents, not years of events and decisions.
        self.deferred: dict[str, tuple[int, int, int]] = {}  # (line, start, stop), read again when needed
        # The file as last read or written, held open until the next one (or until this storage is collected):
        # what is deferred is read from it even after another process's compaction renamed a new file over it,
        # and its inode cannot be reused meanwhile by a newer file, which the same inode number would pass for.
        self._file = _HeldFile()
        weakref.finalize(self, self._file.hold, None)
        self._deferred_changes: dict[str, list[dict[str, Doc | None]]] = {}
        self.derived: Tables = {}  # the snapshot's row lines (see DERIVED_LINES) while their table is unparsed
        self.history: dict[str, tuple[int, int]] | None = None  # where each owner's events are, while unparsed
        self.places: dict[str, dict[str, tuple[int, int]]] = {}  # where each release and incident is, while unparsed
        self._unread_index: dict[str, tuple[int, int, int]] = {}  # index lines not parsed yet: (line, start, stop)
        self._lazy_lock = threading.RLock()
        self.next_ids: dict[str, int] = {}
        self.staged_events: dict[str, Doc] = {}  # appended in this unit of work, not yet committed
        # Documents this unit of work put into tables still unparsed (written without parsing them; None: removed)
        self.staged_docs: dict[str, dict[str, Doc | None]] = {}
        self.lock: DatabaseLock | None = None  # set by the Store while it holds the lock
        self.torn_bytes = 0  # bytes after the last complete record when last read whole (an interrupted save)
        self.damage: list[Damage] = []  # journal damage found by the first read (the store is then read-only)
        self.identity: str | None = None  # the database's own id (meta), checked at every re-read
        self.accept_foreign = False  # a file without octotui's schema may be read (never written: db copy's source)
        self._sig: tuple[int, ...] | None = None  # the file's signature when last read or written here
        self._crc = 0  # the crc32 of the file's first _end bytes, as read or written here

    # -- parsed on demand
    def table(self, name: str) -> dict[str, Doc]:
        if name in self.deferred:
            self._parse_deferred(name)
        return self.tables.get(name, {})

    def board_docs(self) -> dict[str, Doc]:
        """What the board reads of each release: the derived line and the journal's changes laid over it,
        while the releases are unparsed."""
        if "releases" not in self.deferred:
            return self.table("releases")
        with self._lazy_lock:
            if "releases" not in self.deferred:
                return self.table("releases")
            docs = dict(self.derived.get(BOARD_LINE, {}))
            for changes in self._deferred_changes.get("releases", ()):
                _apply({"releases": docs}, {"releases": changes})
            return docs

    def open_incident_docs(self) -> dict[str, Doc]:
        if "incidents" not in self.deferred:
            return open_incident_docs(self.table("incidents"))
        with self._lazy_lock:
            if "incidents" not in self.deferred:
                return open_incident_docs(self.table("incidents"))
            docs = dict(self.derived.get(OPEN_LINE, {}))
            for changes in self._deferred_changes.get("incidents", ()):
                _apply({"incidents": docs}, {"incidents": changes})
            return open_incident_docs(docs)

    def complete(self) -> Tables:
        """Every table parsed: what a write, a comparison or a migration works on."""
        for name in list(self.deferred):
            self._parse_deferred(name)
        return self.tables

    def get(self, name: str, key: str) -> Doc | None:
        """One document. From a table still unparsed: as a journal record after the snapshot changed it, or
        read alone from its place in the snapshot; the table is parsed only when neither can say."""
        with self._lazy_lock:
            if name in self.deferred:
                for changes in reversed(self._deferred_changes.get(name, ())):
                    if key in changes:
                        return changes[key]
                self._read_index(DOCS_LINE)
                places = self.places.get(name)
                if places is not None:
                    if key not in places:
                        return None
                    start, stop = places[key]
                    text = os.pread(cast(int, self._file.fd), stop - start, start)
                    with contextlib.suppress(ValueError):
                        doc = json.loads(text)
                        if isinstance(doc, dict):
                            return doc
                    # Not what the index says: the table is read whole, which reports any damage.
        return self.table(name).get(key)

    def _read_index(self, name: str) -> None:
        """Parse an index line on first use (under the lazy lock). A damaged one is as if absent: the
        tables it points into are then parsed whole, which reports any damage there."""
        position = self._unread_index.pop(name, None)
        if position is None or not self.deferred or self._file.fd is None:  # nothing unparsed to point into
            return
        line, start, stop = position
        try:
            data = _loads(os.pread(self._file.fd, stop - start, start), self.path, line - 1)
        except StoreCorrupt:
            return
        if name == HISTORY_LINE:
            self.history = _spans(data, self.deferred.get(EVENTS))
            return
        for table in INDEXED_TABLES:
            spans = _spans(data.get(table) if isinstance(data, dict) else None, self.deferred.get(table))
            if spans is not None:
                self.places[table] = spans

    def next_id(self, name: str) -> int:
        """The id the next document added to a table gets (a table still unparsed is parsed only when the
        snapshot did not say)."""
        with self._lazy_lock:
            if name not in self.next_ids:
                self.next_ids[name] = max((int(key) for key in self.table(name)), default=0) + 1
            return self.next_ids[name]

    def scan(self, name: str) -> dict[str, Doc]:
        """Every document of a table, for one pass (a check): a table still unparsed is parsed for the
        caller and not kept, so checking a large file leaves no years of events behind in memory."""
        with self._lazy_lock:
            if name in self.deferred:
                return self._read_deferred(name)
            return dict(self.tables.get(name, {}))

    def _read_deferred(self, name: str) -> dict[str, Doc]:
        """A deferred table as it is now: its snapshot line read again and the journal's changes laid over it."""
        line, start, stop = self.deferred[name]
        text = os.pread(cast(int, self._file.fd), stop - start, start)
        if len(text) != stop - start:
            raise StoreCorrupt(self.path, f"line {line}: the file was cut in place before this table was read")
        parsed = _check_tables({name: _loads(text, self.path, line - 1)}, self.path)
        for docs in self._deferred_changes.get(name, ()):
            _apply(parsed, {name: docs})
        return parsed[name]

    def _parse_deferred(self, name: str) -> None:
        with self._lazy_lock:
            if name not in self.deferred:
                return  # another thread got here first
            table = self._read_deferred(name)
            self._deferred_changes.pop(name, None)
            self.tables[name] = table
            self.next_ids[name] = max((int(key) for key in table), default=0) + 1
            del self.deferred[name]
            self.places.pop(name, None)
            if name == EVENTS:
                self.history = None
            if not {"releases", "incidents"} & set(self.deferred):
                self.derived = {}

    # -- TinyDB's interface
    def read(self) -> Tables | None:
        return self._pending if self._pending is not None else dict(self.complete())

    def write(self, data: Tables) -> None:
        if self._pending is None:
            raise RuntimeError("writes must go through Store.unit_of_work()")
        self._pending = data

    def close(self) -> None:
        pass  # TinyDB's close: the Store decides when the file is let go (release)

    def release(self) -> None:
        self._file.hold(None)

    def touched(self, table: str) -> set[int]:
        return self._touched.setdefault(table, set())

    # -- reading the file
    def stat_changed(self) -> bool:
        try:
            info = os.stat(self.path)
        except OSError:
            return self._inode is not None
        return _signature(info) != self._sig

    def refresh(self, for_write: bool = False) -> Changes:
        """Bring `tables` up to date with the file. Any change shows in the file's signature (inode, size,
        mtime, ctime); then the checksum of what was read is compared with the file's bytes: the same, and
        only the new journal records are parsed; different (rewritten in place, or replaced), the file is
        read whole, checked to be still this database, and compared."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            # The caller keeps showing what was last read; saving is refused until the file is back.
            raise StoreUnavailable(self.path, "the database file has disappeared") from None
        except IsADirectoryError:
            raise StoreUnavailable(self.path, "is a directory, not a database file") from None
        except PermissionError:
            raise StoreUnavailable(self.path, "permission denied reading the database") from None
        except OSError as error:
            raise StoreUnavailable(self.path, f"cannot open the database ({error.strerror})") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise StoreUnavailable(self.path, "is not a regular file (a FIFO, device or socket cannot be a database)")
            if info.st_size > MAX_FILE_BYTES:
                raise StoreUnavailable(self.path, f"is {info.st_size / 2**20:.0f} MiB; octotui reads databases up to "
                                                  f"{MAX_FILE_BYTES / 2**20:.0f} MiB")
            signature = _signature(info)
            if signature == self._sig:
                return Changes()  # nothing wrote to it since it was last read or written here
            if info.st_ino == self._inode and info.st_size < self._end:
                # Nothing octotui does shrinks a file below what was committed: it was cut or overwritten
                # in place. Reading it would silently go back in time, so it is refused until it is good.
                raise StoreCorrupt(self.path, f"the file is {self._end - info.st_size:,} bytes shorter than what was "
                                              "already saved (cut or overwritten in place)")
            if (info.st_ino == self._inode and self._end > 0 and not self.damage
                    and crc_of_file(handle.fileno(), self._end) == self._crc):
                return self._absorb_tail(os.pread(handle.fileno(), info.st_size - self._end, self._end), signature)
            raw = os.pread(handle.fileno(), info.st_size, 0)
            return self._load_whole(raw, info.st_ino, handle.fileno(), signature)

    def _absorb_tail(self, tail: bytes, signature: tuple[int, ...]) -> Changes:
        changes = Changes()
        scan = scan_journal(tail, 0, self.path)
        if scan.damage:
            raise self._damaged([replace(d, offset=d.offset + self._end) for d in scan.damage])
        for _start, _stop, record in scan.records:
            with self._lazy_lock:  # changes to a table still unparsed are kept and applied when it is parsed
                for name in set(record) & set(self.deferred):
                    docs = record.pop(name)
                    self._deferred_changes.setdefault(name, []).append(docs)
                    for key in docs:
                        changes.add(name, int(key))
                _apply(self.tables, record, changes)
        if scan.end:
            self._crc = zlib.crc32(memoryview(tail)[: scan.end], self._crc)
            self._end += scan.end
        self._sig, self.torn_bytes = signature, scan.torn
        if self.identity is None:
            self.identity = identity_of(self.tables)  # an older file, given its identity by another octotui
        self._index(changes)
        return changes

    def _damaged(self, damage: list[Damage]) -> StoreCorrupt:
        return StoreCorrupt(self.path, f"{damage[0].describe()}; nothing was cut or overwritten "
                                       "(`octotui db check` says what is there, `octotui db repair --to NEW` copies it)")

    def _read(self, raw: bytes, defer: frozenset[str]) -> tuple[FileRead, list[Damage]]:
        """The file split, and the journal damage found. A file whose every line ending was converted to CRLF
        is read converted back (octotui never writes a CR byte), whole, and reported as damage."""
        try:
            read = split_file(raw, self.path, defer)
        except StoreCorrupt:
            if not all_crlf(raw):
                raise
        else:
            if not read.damage or read.damage[0].kind != "crlf":
                return read, read.damage
        read = split_file(raw.replace(b"\r\n", b"\n"), self.path)
        return read, [Damage(raw.find(b"\r\n"), "crlf"), *read.damage]

    def _load_whole(self, raw: bytes, inode: int, fd: int, signature: tuple[int, ...]) -> Changes:
        previous = self.complete() if self.tables else {}
        # Deferred only on a first read: a re-read compares every table with what was shown.
        read, damage = self._read(raw, frozenset() if previous else LAZY_TABLES)
        if damage and previous and not self.damage:
            raise self._damaged(damage)  # never taken for a torn tail: acknowledged records may be behind it
        snapshot, end, records, deferred = read.tables, read.end, read.records, read.deferred
        later: dict[str, list[dict[str, Any]]] = {}  # journal changes to a table left unparsed: applied with it
        for record in records:
            for name in set(record) & set(deferred):
                later.setdefault(name, []).append(record.pop(name))
            _apply(snapshot, record)
        if not schema_of(snapshot) and not self.accept_foreign:
            raise StoreForeign(self.path, NOT_OCTOTUI)
        identity = identity_of(snapshot)
        if self.identity is not None and identity != self.identity:
            raise StoreForeign(self.path, "is no longer this database (another file was put in its place): "
                                          "refused, nothing is written into it")
        changes = Changes(everything=not previous)  # a first read: everything is new, nothing to compare
        for name in set(previous) | set(snapshot) if previous else ():
            old, new = previous.get(name, {}), snapshot.get(name, {})
            for doc_id in set(old) | set(new):
                if old.get(doc_id) != new.get(doc_id):
                    changes.add(name, int(doc_id))
        self.tables, self._inode, self.deferred, self._deferred_changes = snapshot, inode, deferred, later
        self.derived, self.history, self.places, self._unread_index = read.derived, None, {}, read.index_lines
        self._file.hold(os.dup(fd))  # the text of what is deferred is read from it, not kept in memory
        self.torn_bytes, self.damage, self.identity = (0 if damage else read.torn), damage, identity
        self._snapshot_bytes = read.journal_at if records else end
        self._crc, self._sig = read.crc, signature
        self._end = end
        self.streams, self.next_ids = None, {}
        self._index(Changes(everything=True))
        for name in set(deferred) & set(read.next_ids):  # as the snapshot says, after the journal's additions
            added = [int(key) for docs in later.get(name, ()) for key in docs]
            self.next_ids[name] = max([read.next_ids[name], *(n + 1 for n in added)])
        return changes

    def _index(self, changes: Changes) -> None:
        """Keep the events-by-owner index and the next ids up to date with `tables`."""
        events = self.tables.get(EVENTS, {})
        with self._lazy_lock:
            if changes.everything:
                self.streams = None  # indexed again when next asked for
            elif self.streams is not None:
                for doc_id in sorted(changes.ids.get(EVENTS, ())):
                    doc = events.get(str(doc_id))
                    if doc is not None:
                        self._index_event(self.streams, doc_id, doc)
        if changes.everything:
            for name, table in self.tables.items():
                self.next_ids[name] = max((int(k) for k in table), default=0) + 1
            return
        for name, ids in changes.ids.items():
            if ids and (name in self.next_ids or name not in self.deferred):  # else found when first needed
                self.next_ids[name] = max(self.next_ids.get(name, 1), max(ids) + 1)

    def _streams(self) -> dict[str, dict[str, list[tuple[int, Doc]]]]:
        with self._lazy_lock:
            if self.streams is None:
                streams: dict[str, dict[str, list[tuple[int, Doc]]]] = {}
                events = self.table(EVENTS)
                for key in sorted(events, key=int):
                    self._index_event(streams, int(key), events[key])
                self.streams = streams
            return self.streams

    @staticmethod
    def _index_event(streams: dict[str, dict[str, list[tuple[int, Doc]]]], doc_id: int, doc: Doc) -> None:
        listed = streams.setdefault(str(doc.get("owner")), {}).setdefault(str(doc.get("stream")), [])
        if listed and listed[-1][0] >= doc_id:  # out of order or seen before (a re-read): rare, keep it right
            listed[:] = sorted({**dict(listed), doc_id: doc}.items())
        else:
            listed.append((doc_id, doc))

    def _unparsed_history(self, owner: str) -> dict[str, list[tuple[int, Doc]]] | None:
        """An owner's events by stream while the events are unparsed: its slice of the snapshot (they are
        written grouped by owner) and the journal's events after it. None when there is no index, or the
        slice is not what the index says (the events are then parsed whole, which reports any damage)."""
        self._read_index(HISTORY_LINE)
        if EVENTS not in self.deferred or self.history is None:
            return None
        docs: Any = {}
        span = self.history.get(owner)
        if span is not None:
            start, stop = span
            text = os.pread(cast(int, self._file.fd), stop - start, start)
            try:
                docs = json.loads(b"{" + text + b"}")
            except ValueError:
                return None
            if not isinstance(docs, dict) or not all(
                    key.isdigit() and isinstance(doc, dict) and doc.get("owner") == owner for key, doc in docs.items()):
                return None
        for changes in self._deferred_changes.get(EVENTS, ()):
            for key, doc in changes.items():
                if doc is None:
                    docs.pop(key, None)
                elif doc.get("owner") == owner:
                    docs[key] = doc
        streams: dict[str, list[tuple[int, Doc]]] = {}
        for event_id, doc in sorted((int(key), doc) for key, doc in docs.items()):
            streams.setdefault(str(doc.get("stream")), []).append((event_id, doc))
        return streams

    def events(self, owner: str, stream: str | None = None) -> list[tuple[int, Doc]]:
        with self._lazy_lock:
            unparsed = self._unparsed_history(owner)
        streams = unparsed if unparsed is not None else self._streams().get(owner, {})
        if stream is not None:
            return list(streams.get(stream, ()))
        return [event for listed in streams.values() for event in listed]

    # -- writing
    def begin(self) -> Changes:
        external = self.refresh(for_write=True)
        self._pending, self._touched, self.staged_events = _LazyTables(self, self.tables), {}, {}
        self.staged_docs = {}
        return external

    def rollback(self) -> None:
        if self._pending is not None and self._touched:
            # TinyDB's update() edits documents in place, and they are shared with `tables`: read the
            # file again rather than trust memory.
            self._inode, self._end, self._sig = None, 0, None
            with contextlib.suppress(StoreError):
                self.refresh()
        self._pending, self._touched, self.staged_events, self.staged_docs = None, {}, {}, {}

    def commit(self) -> Changes:
        pending, touched, staged, staged_docs = self._pending, self._touched, self.staged_events, self.staged_docs
        changes = Changes()
        if pending is None or not (any(touched.values()) or staged or staged_docs):
            self._pending, self._touched, self.staged_events, self.staged_docs = None, {}, {}, {}
            return changes
        record: Tables = {}
        for name, ids in touched.items():
            table = pending.get(name, {})
            docs = record.setdefault(name, {})
            for doc_id in ids:
                docs[str(doc_id)] = table.get(str(doc_id))
                changes.add(name, int(doc_id))
        for name, put in staged_docs.items():
            record.setdefault(name, {}).update(put)
            for key in put:
                changes.add(name, int(key))
        if staged:
            record.setdefault(EVENTS, {}).update(staged)
            for event_key in staged:
                changes.add(EVENTS, int(event_key))
        if self.identity is None:  # an octotui file from before databases had an id: given one with this save
            meta = pending.get(META_TABLE, {})
            for meta_id, meta_doc in list(meta.items()):
                if isinstance(meta_doc.get("schema"), int):
                    meta[meta_id] = record.setdefault(META_TABLE, {})[meta_id] = {**meta_doc, "id": uuid.uuid4().hex}
                    changes.add(META_TABLE, int(meta_id))
                    break
        payload = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        framed = frame(payload)
        try:
            if self._end + len(framed) > MAX_FILE_BYTES:
                raise StoreWriteFailed(self.path, f"not saved: the database would pass {MAX_FILE_BYTES / 2**20:.0f} MiB, "
                                                  "the most octotui reads; the previous file is intact")
            self._sig = self._append(framed)
        except BaseException:
            self.rollback()
            raise
        self._crc = zlib.crc32(framed, self._crc)
        with self._lazy_lock:
            # Tables a reader parsed while this unit of work ran are kept; those TinyDB dropped are not.
            dropped = pending.dropped if isinstance(pending, _LazyTables) else set(self.tables)
            self.tables = {**{name: table for name, table in self.tables.items() if name not in dropped}, **pending}
            # Put without parsing their table: kept beside it, like another process's records (or applied,
            # if a reader parsed it meanwhile).
            written: dict[str, dict[str, Any]] = {**staged_docs, **({EVENTS: dict(staged)} if staged else {})}
            for name, put in written.items():
                if name in self.deferred:
                    self._deferred_changes.setdefault(name, []).append(put)
                else:
                    _apply(self.tables, {name: put})
        self._pending, self._touched, self.staged_events, self.staged_docs = None, {}, {}, {}
        self.identity = identity_of(self.tables) if self.identity is None else self.identity
        self._end += len(framed)
        self._index(changes)
        # A quarter of the snapshot: a start parses the journal whole, so it stays small beside the snapshot
        # (whose events and decisions a start leaves unparsed), and compactions stay rare (each writes it all).
        if self._end - self._snapshot_bytes > max(self._snapshot_bytes // 4, COMPACT_MIN_JOURNAL_BYTES):
            with contextlib.suppress(OSError):  # the journal is durable already; compaction can wait
                self.compact()
        return changes

    def _append(self, framed: bytes) -> tuple[int, ...]:
        """Append one record at the end of what was read; the file's signature afterwards."""
        # O_NONBLOCK: a FIFO put in its place must not hang the save (it then fails the inode check).
        fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            info = os.fstat(fd)
            if info.st_ino != self._inode or not stat.S_ISREG(info.st_mode):
                raise OSError(errno.ESTALE, "the database file was replaced while saving")
            if info.st_size != self._end:
                tail = b""
                with contextlib.suppress(OSError):
                    tail = os.pread(fd, info.st_size - self._end, self._end) if info.st_size > self._end else b""
                if info.st_size < self._end or not tail_is_torn(tail, self.path):
                    # Records we have not read, or damage: never cut what may be someone's acknowledged change.
                    raise OSError(errno.EAGAIN, "another process wrote to the database without its lock")
                os.ftruncate(fd, self._end)  # a torn record from a killed writer: never acknowledged
            os.lseek(fd, self._end, os.SEEK_SET)
            view = memoryview(framed)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
            return _signature(os.fstat(fd))
        except BaseException:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._end)  # leave no partial record behind a failed save
            raise
        finally:
            os.close(fd)

    def encode_snapshot(self, tables: Tables) -> bytes:
        return encode_snapshot(tables)

    def write_snapshot(self, tables: Tables, *, exclusive: bool = False) -> None:
        """A whole new file (creation, migration, compaction), replaced atomically. Under the lock the new
        file is locked before it is renamed in, and stays locked until the lock is released."""
        data = self.encode_snapshot(tables)
        if len(data) > MAX_FILE_BYTES:
            raise OSError(errno.EFBIG, "larger than octotui reads")
        locked = write_atomically(self.path, data, lock=self.lock is not None and not exclusive, exclusive=exclusive)
        if locked is not None and self.lock is not None:
            self.lock.adopt(locked)
        held = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))  # ours: renamed in
        self._file.hold(held)
        info = os.fstat(held)
        self.tables, self._inode, self._snapshot_bytes = tables, info.st_ino, len(data)
        self._sig, self._crc, self.identity, self.damage, self.torn_bytes = (
            _signature(info), zlib.crc32(data), identity_of(tables), [], 0)
        self.deferred, self._deferred_changes, self.derived = {}, {}, {}
        self.history, self.places, self._unread_index = None, {}, {}
        self._end = len(data)
        self._index(Changes(everything=True))

    def compact(self) -> None:
        self.write_snapshot(self.complete())


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


class _TinyUnitOfWork(ReadsWholeTables):
    """The TinyDB backend's unit of work: records through TinyDB tables, events appended directly
    (TinyDB rebuilds a whole table per insert, which an append-only history must not pay)."""

    def __init__(self, store: Store) -> None:
        self._store, self._db, self._storage = store, store.db, store.storage
        self._reserved: dict[str, set[int]] = {}
        self._next_event = 1

    @property
    def tinydb(self) -> TinyDB:
        """Raw TinyDB access inside this unit of work (bulk tools and tests)."""
        return self._db

    def _table(self, name: str) -> Table:
        return self._db.table(name)

    def get(self, table: str, doc_id: int) -> Doc | None:
        storage, key = self._storage, str(doc_id)
        staged = storage.staged_docs.get(table, {})
        if key in staged:
            found = staged[key]
        elif table in storage.deferred:  # one document, without parsing the table for it
            found = storage.get(table, key)
        else:
            found = self._table(table).get(doc_id=doc_id)
        return dict(found) if found is not None else None

    def all(self, table: str) -> dict[int, Doc]:
        try:
            docs = (self._storage._pending or {})[table]
        except KeyError:
            return {}
        return {int(key): doc for key, doc in docs.items()}

    def last_id(self, table: str) -> int:
        return self._next_id(table) - 1

    def events(self, owner: str, stream: str | None = None) -> list[tuple[int, Doc]]:
        staged = [(int(key), doc) for key, doc in self._storage.staged_events.items()
                  if doc.get("owner") == owner and (stream is None or doc.get("stream") == stream)]
        return self._storage.events(owner, stream) + staged

    def put(self, table: str, doc_id: int, doc: Doc) -> None:
        if table in self._storage.deferred:  # written without parsing the table (a toggle at 125k records)
            self._storage.staged_docs.setdefault(table, {})[str(doc_id)] = dict(doc)
            return
        tiny = self._table(table)
        if tiny.contains(doc_id=doc_id):
            tiny.remove(doc_ids=[doc_id])  # a new dict, never an edit in place: caches compare identity
        tiny.insert(Document(doc, doc_id=doc_id))

    def put_many(self, table: str, docs: dict[int, Doc]) -> None:
        if table in self._storage.deferred:
            self._storage.staged_docs.setdefault(table, {}).update({str(key): dict(doc) for key, doc in docs.items()})
            return
        tiny = self._table(table)
        existing = [doc_id for doc_id in docs if tiny.contains(doc_id=doc_id)]
        if existing:
            tiny.remove(doc_ids=existing)
        tiny.insert_multiple([Document(doc, doc_id=doc_id) for doc_id, doc in docs.items()])  # one table rebuild

    def append_event(self, owner: str, stream: str, doc: Doc) -> int:
        new_id = self._next_event = max(self._next_event, self._storage.next_id(EVENTS))
        self._next_event += 1
        self._storage.staged_events[str(new_id)] = {"owner": owner, "stream": stream, **doc}
        return new_id

    def reserve_id(self, table: str) -> int:
        new_id = self._next_id(table)
        self._reserved.setdefault(table, set()).add(new_id)
        return new_id

    def _next_id(self, table: str) -> int:
        storage = self._storage
        used = ([int(k) for k in storage.touched(table)] + [int(k) for k in storage.staged_docs.get(table, ())]
                + list(self._reserved.get(table, ())))
        return max([storage.next_id(table), *(n + 1 for n in used)])


class _Snapshot:
    def __init__(self, storage: JournalStorage) -> None:
        self._storage = storage

    def get(self, table: str, doc_id: int) -> Doc | None:
        return self._storage.get(table, str(doc_id))

    def all(self, table: str) -> dict[int, Doc]:
        return {int(key): doc for key, doc in self._storage.table(table).items()}

    def events(self, owner: str, stream: str | None = None) -> list[tuple[int, Doc]]:
        return self._storage.events(owner, stream)

    def open_incidents(self) -> dict[int, Doc]:
        return {int(key): doc for key, doc in self._storage.open_incident_docs().items()}

    def board_docs(self) -> dict[int, Doc]:
        return {int(key): doc for key, doc in self._storage.board_docs().items()}

    def scan(self, table: str) -> dict[int, Doc]:
        return {int(key): doc for key, doc in self._storage.scan(table).items()}

    def last_id(self, table: str) -> int:
        return self._storage.next_id(table) - 1


class Store(ChangeLog):
    """The database file: open (checked and migrated), read, and change in units of work."""

    def __init__(self, path: Path | str, *, read_only: bool = False, foreign: bool = False) -> None:
        """`foreign`: a file that is not an octotui database may be opened (read-only: `db copy` imports it)."""
        super().__init__()
        try:
            # Symlinks followed once: the real file is what is replaced and locked, so a symlinked database
            # keeps working and two spellings of one file share one lock.
            self.path = Path(os.path.realpath(Path(path).expanduser()))
            self.location = str(self.path)
            self._check_location(create=not read_only)
        except OSError as error:
            raise StoreUnavailable(path, f"cannot use this path ({error.strerror or error})") from None
        self.storage = JournalStorage(self.path)
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
    def snapshot(self) -> _Snapshot:
        return _Snapshot(self.storage)

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
    def unit_of_work(self, on_wait: Callable[[], None] | None = None) -> Iterator[_TinyUnitOfWork]:
        """Lock, read fresh, let the caller change documents, append them as one record."""
        if self.read_only:
            raise StoreReadOnly(self.path, self.read_only_reason)
        with self._locked(on_wait), self._work() as uow:
            yield uow

    @contextlib.contextmanager
    def _work(self) -> Iterator[_TinyUnitOfWork]:
        """A unit of work under the lock already held."""
        self._logged(self.storage.begin())
        try:
            for table in self.db._tables.values():
                # TinyDB caches the next id and query results per process: stale under a second writer.
                table._next_id = None
                table.clear_cache()
            yield _TinyUnitOfWork(self)
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


