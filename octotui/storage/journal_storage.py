"""TinyDB's storage over octotui's journaled file: a JSON snapshot (one table per line, then derived lines)
followed by checksummed journal records, one per committed unit of work (format: snapshot.py, journal.py).

Reads come from memory, tables left unparsed until first needed; writes append one record, and the
file is compacted into a fresh snapshot when the journal grows. Stock TinyDB's JSONStorage cannot read it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import threading
import uuid
import weakref
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from tinydb.storages import Storage

from octotui.storage.base import EVENTS, Changes, Doc, open_incident_docs
from octotui.storage.errors import StoreCorrupt, StoreError, StoreForeign, StoreUnavailable, StoreWriteFailed
from octotui.storage.file_lock import DatabaseLock
from octotui.storage.fs import write_atomically
from octotui.storage.journal import (
    Damage,
    all_crlf,
    crc_of_file,
    frame,
    loads_table,
    scan_journal,
    tail_is_torn,
)
from octotui.storage.journal import check_tables as _check_tables
from octotui.storage.journal import loads as _loads
from octotui.storage.migrations import META_TABLE, Tables, identity_of, schema_of
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
from octotui.storage.tracked_tinydb import LazyTables

NOT_OCTOTUI = "not an octotui database; `octotui db copy` can import it"
MAX_FILE_BYTES = 512 * 1024 * 1024  # refuse, with a message, rather than exhaust memory
COMPACT_MIN_JOURNAL_BYTES = 256 * 1024
# No first screen shows these whole: parsed when first needed (releases and incidents only where the
# snapshot carries the lines derived from them).
LAZY_TABLES = frozenset({EVENTS, "decisions", "releases", "incidents"})


def _signature(info: os.stat_result) -> tuple[int, ...]:
    """What changes whenever the file does: any write sets ctime (which no tool can set back)."""
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


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

    def __init__(self, path: Path, *, compact_min_journal_bytes: int = COMPACT_MIN_JOURNAL_BYTES,
                 max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self.path = path
        self.compact_min_journal_bytes = compact_min_journal_bytes
        self.max_file_bytes = max_file_bytes
        self.before_commit: Callable[[], None] | None = None  # tests: a fault just before a record is written
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
        parsed = _check_tables({name: loads_table(text, self.path, line - 1)}, self.path)
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
            if info.st_size > self.max_file_bytes:
                raise StoreUnavailable(self.path, f"is {info.st_size / 2**20:.0f} MiB; octotui reads databases up to "
                                                  f"{self.max_file_bytes / 2**20:.0f} MiB")
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
        self._pending, self._touched, self.staged_events = LazyTables(self, self.tables), {}, {}
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
            if self._end + len(framed) > self.max_file_bytes:
                raise StoreWriteFailed(self.path, f"not saved: the database would pass {self.max_file_bytes / 2**20:.0f} MiB, "
                                                  "the most octotui reads; the previous file is intact")
            if self.before_commit is not None:
                self.before_commit()
            self._sig = self._append(framed)
        except BaseException:
            self.rollback()
            raise
        self._crc = zlib.crc32(framed, self._crc)
        with self._lazy_lock:
            # Tables a reader parsed while this unit of work ran are kept; those TinyDB dropped are not.
            dropped = pending.dropped if isinstance(pending, LazyTables) else set(self.tables)
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
        if self._end - self._snapshot_bytes > max(self._snapshot_bytes // 4, self.compact_min_journal_bytes):
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
        if len(data) > self.max_file_bytes:
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


