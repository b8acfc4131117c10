"""A unit of work on the database file (records through TinyDB's tables, events appended directly) and the
read-only view of what was last read."""

from __future__ import annotations

from typing import Protocol

from tinydb import TinyDB
from tinydb.table import Document, Table

from octotui.storage.base import EVENTS, Doc, ReadsWholeTables
from octotui.storage.journal_storage import JournalStorage


class WorkingStore(Protocol):
    """What a unit of work needs of the Store that opened it."""

    @property
    def db(self) -> TinyDB: ...

    @property
    def storage(self) -> JournalStorage: ...


class TinyUnitOfWork(ReadsWholeTables):
    """The TinyDB backend's unit of work: records through TinyDB tables, events appended directly
    (TinyDB rebuilds a whole table per insert, which an append-only history must not pay)."""

    def __init__(self, store: WorkingStore) -> None:
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


class SnapshotView:
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


