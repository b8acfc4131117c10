"""The unit of work on PostgreSQL: reads answer from the store's memory (fresh: read under the write lock),
writes are staged here and sent by the store at commit; and the snapshot the services read through."""

from __future__ import annotations

from typing import Any, Protocol

import psycopg

from octotui.storage.base import EVENTS, META, OUTBOX, RECORD_TABLES, Doc, ReadsWholeTables


class StoreReads(Protocol):
    """What the snapshot and the unit of work read from the store (PostgresStore)."""

    tables: dict[str, dict[int, Doc]]
    max_ids: dict[str, int]

    def get(self, table: str, doc_id: int) -> Doc | None: ...

    def table(self, name: str) -> dict[int, Doc]: ...

    def owner_events(self, owner: str, stream: str | None = None) -> list[tuple[int, Doc]]: ...

    def open_incidents(self) -> dict[int, Doc]: ...


class PgSnapshot:
    def __init__(self, store: StoreReads) -> None:
        self._store = store

    def get(self, table: str, doc_id: int) -> Doc | None:
        return self._store.get(table, doc_id)

    def all(self, table: str) -> dict[int, Doc]:
        return dict(self._store.table(table))

    def events(self, owner: str, stream: str | None = None) -> list[tuple[int, Doc]]:
        return self._store.owner_events(owner, stream)

    def open_incidents(self) -> dict[int, Doc]:
        return self._store.open_incidents()

    def board_docs(self) -> dict[int, Doc]:
        return self.all("releases")  # read at start in any case (the board's order needs every release)

    def scan(self, table: str) -> dict[int, Doc]:
        return self.all(table)  # held in memory once read: nothing to leave unread

    def last_id(self, table: str) -> int:
        return max(self.all(table), default=0)


class PgUnitOfWork:
    """Reads answer from memory (fresh: read under the write lock); writes are staged and sent at commit."""

    def __init__(self, store: StoreReads) -> None:
        self._store = store
        self.staged: dict[str, dict[int, Doc]] = {table: {} for table in (*RECORD_TABLES, META, OUTBOX)}
        self.events: dict[int, Doc] = {}
        self._reserved: dict[str, int] = {}

    def get(self, table: str, doc_id: int) -> Doc | None:
        if table == EVENTS:
            return self.events.get(doc_id) or self._store.tables[EVENTS].get(doc_id)
        staged = self.staged[table].get(doc_id)
        return staged if staged is not None else self._store.get(table, doc_id)

    def all(self, table: str) -> dict[int, Doc]:
        return {**self._store.table(table), **self.staged[table]}

    def events_of(self, owner: str, stream: str | None) -> list[tuple[int, Doc]]:
        return [(event_id, doc) for event_id, doc in self.events.items()
                if doc["owner"] == owner and (stream is None or doc["stream"] == stream)]

    def put(self, table: str, doc_id: int, doc: Doc) -> None:
        self.staged[table][doc_id] = doc

    def put_many(self, table: str, docs: dict[int, Doc]) -> None:
        self.staged[table].update(docs)

    def append_event(self, owner: str, stream: str, doc: Doc) -> int:
        new_id = self.reserve_id(EVENTS)
        self.events[new_id] = {"owner": owner, "stream": stream, **doc}
        return new_id

    def reserve_id(self, table: str) -> int:
        self._store.table(table)  # a deferred table is read first: its highest id is needed
        staged = self.events if table == EVENTS else self.staged[table]
        new_id = max(self._reserved.get(table, 0), self._store.max_ids.get(table, 0), max(staged, default=0)) + 1
        self._reserved[table] = new_id
        return new_id


class PgUnitOfWorkView(ReadsWholeTables):
    """The unit of work as the services see it (the Snapshot reads plus the staged writes)."""

    def __init__(self, work: PgUnitOfWork) -> None:
        self._work = work
        self.get, self.put, self.put_many = work.get, work.put, work.put_many
        self.append_event, self.reserve_id = work.append_event, work.reserve_id

    def all(self, table: str) -> dict[int, Doc]:
        return self._work.all(table)

    def events(self, owner: str, stream: str | None = None) -> list[tuple[int, Doc]]:
        return self._work._store.owner_events(owner, stream) + self._work.events_of(owner, stream)

    def last_id(self, table: str) -> int:
        return max(self.all(table), default=0)


def returned_revs(cursor: psycopg.Cursor[Any], table: str) -> dict[tuple[str, int], int]:
    revs: dict[tuple[str, int], int] = {}
    while True:
        for doc_id, rev in cursor.fetchall():
            revs[(table, int(doc_id))] = int(rev)
        if not cursor.nextset():
            return revs
