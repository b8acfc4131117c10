"""The PostgreSQL backend: one database shared by a team, changes pushed with LISTEN/NOTIFY.

Tables: `releases`, `incidents`, `decisions`, `meta` (the document as JSONB, the fields lists filter on as
generated columns, so the document stays the one source of truth), `events` (append-only history), and link
tables with deferred foreign keys. Every row carries `rev`, from one sequence: readers ask only for rows
newer than the last `rev` they saw.

Writers take one transaction-scoped advisory lock, so commits happen in `rev` order (a reader can never
skip a row committed late with an older rev) and every command reads fresh, decides, and writes as one
transaction: two people toggling one item both land, in order, with both events in its history.
This module and its parts (pg_schema: the tables and their migrations; pg_listen: the connections, LISTEN/
NOTIFY and presence; pg_work: the unit of work) are the only ones that know it is PostgreSQL; everything
above talks to the Repository seam.
"""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import platformdirs
import psycopg
from psycopg.types.json import Jsonb

from octotui.domain.clock import claimed_name, current_author
from octotui.storage.base import (
    EVENTS,
    META,
    OUTBOX,
    RECORD_TABLES,
    RESOLVED,
    ChangeLog,
    Changes,
    Doc,
    open_incident_docs,
)
from octotui.storage.errors import (
    StoreNotEmpty,
    StoreOutcomeUnknown,
    StoreReadOnly,
    StoreTooNew,
    StoreUnavailable,
)
from octotui.storage.fs import make_private_dir
from octotui.storage.pg_listen import CHANNEL, PRESENCE_EVERY_SECONDS, PgConnection
from octotui.storage.pg_schema import (
    DOCUMENT_SCHEMA,
    LINK_TABLES,
    SCHEMA_VERSION,
    WRITE_LOCK_KEY,
    migrate,
    schema_version,
    upgrade_database,
)
from octotui.storage.pg_work import PgSnapshot, PgUnitOfWork, PgUnitOfWorkView, returned_revs
from octotui.storage.urls import masked, secrets_in

__all__ = ["PostgresStore", "upgrade_database"]  # upgrade_database lives in pg_schema: kept importable from here

LOCK_TIMEOUT = "10s"
TABLES = (*RECORD_TABLES, META, EVENTS, OUTBOX)


def _database_name(url: str) -> str:
    name = unquote(urlsplit(url).path.lstrip("/"))
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "postgres"


class PostgresStore(PgConnection, ChangeLog):
    """A PostgreSQL database as octotui's repository: what was last read is kept in memory (as the TinyDB
    backend keeps its file), kept current by notifications."""

    def __init__(self, url: str, *, read_only: bool = False, create: bool = True,
                 presence_every_seconds: float = PRESENCE_EVERY_SECONDS) -> None:
        """`presence_every_seconds`: how often the listener looks who is here without being told (someone whose
        octotui was killed says no goodbye); joins and leaves are told at once either way."""
        super().__init__()
        self.url = url
        self.location = masked(url)
        self._secrets = secrets_in(url)
        # No database file here: this person's own files (the clipboard fallback, MADR exports by default)
        # go to octotui's data folder, created 0700 like the file's would be.
        self.path = Path(platformdirs.user_data_dir("octotui")) / f"team-{_database_name(url)}"
        self.local_file: Path | None = None
        with contextlib.suppress(OSError):
            make_private_dir(self.path.parent)
        self.tables: dict[str, dict[int, Doc]] = {table: {} for table in TABLES}
        self._streams: dict[str, dict[str, list[int]]] = {}  # owner -> stream -> event ids in order
        self.max_ids: dict[str, int] = {}  # the highest id known per table (new ids go above it)
        # The first screen never shows decisions (most of a mature database): read when first asked for.
        self._deferred: set[str] = {"decisions", OUTBOX}
        self._events_complete = True  # False while the history of some owners was left out at start-up
        self._resolved_unread = False  # resolved incidents are left out of the start-up read
        self._owners_read: set[str] = set()  # whose history was read at start-up
        self._rev = 0
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        self._pending = threading.Event()  # a notification arrived: refresh() has something to read
        self._closed = threading.Event()
        self.listening = threading.Event()  # set while notifications can reach us
        self._wake_channel = f"octotui_wake_{uuid.uuid4().hex}"
        self._on_change: Callable[[], None] | None = None
        self._presence: list[str] = []
        self._gone: set[str] = set()  # sessions that said they left (their connection may linger a moment)
        self.presence_changed = threading.Event()  # set when `presence()` changed (tests wait on it)
        self.presence_every_seconds = presence_every_seconds
        self._on_presence: Callable[[], None] | None = None
        self._in_doubt: list[str] = []
        self._notices: list[str] = []
        self.user: str | None = None  # the login (session_user): the author of record
        self.who = ""  # the author of record: the login role, never $OCTOTUI_USER
        self.claimed: str | None = None  # $OCTOTUI_USER when it names someone else (shown, never recorded)
        self._session = uuid.uuid4().hex[:8]
        self.read_only = read_only
        self.read_only_reason = "opened read-only; changes cannot be saved"
        self.before_commit: Callable[[], None] | None = None  # tests: a fault just before COMMIT
        self.after_commit: Callable[[], None] | None = None  # tests: the answer to a landed COMMIT lost
        with self._lock:
            conn = self._connection()
            self._check_schema(conn, create=create and not read_only)
            self.user = str(conn.execute("SELECT session_user").fetchone()[0])  # type: ignore[index]
            self.who = current_author(self.user)
            self.claimed = claimed_name(self.user)
            conn.execute("SELECT set_config('application_name', %s, false)", (self._application_name(),))
            if not read_only and not self._may_write(conn):
                self.read_only = True
                self.read_only_reason = f"the role {self.user!r} can only read this database"
            self._logged(self._first_read(conn))
        self._listener = threading.Thread(target=self._listen, name="octotui-listen", daemon=True)
        self._listener.start()

    def compact(self) -> None:
        pass  # the server keeps its own pages

    # -- schema --------------------------------------------------------------------------------------
    def _check_schema(self, conn: psycopg.Connection[Any], create: bool) -> None:
        try:
            version = schema_version(conn)
        except psycopg.Error as error:
            raise self._lost(error) from None
        if version is None:
            if not create:
                raise StoreUnavailable(self.location, "no octotui tables in this database yet "
                                                      f"(run: octotui db upgrade --db '{self.location}')")
            migrate(conn, self.location, self._secrets)
            return
        if version > SCHEMA_VERSION:
            raise StoreTooNew(self.location, f"written by a newer octotui (schema {version}; this version reads up "
                                             f"to {SCHEMA_VERSION}). Upgrade octotui; the database was left untouched.")
        if version < SCHEMA_VERSION:
            raise StoreUnavailable(self.location, f"the database has octotui schema {version}; this version needs "
                                                  f"{SCHEMA_VERSION} (run: octotui db upgrade --db '{self.location}')")

    def _may_write(self, conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute(
            "SELECT bool_and(has_table_privilege(t, 'INSERT') AND has_table_privilege(t, 'UPDATE'))"
            " AND has_sequence_privilege('octotui_rev', 'USAGE')"
            " FROM unnest(ARRAY['releases','incidents','decisions','meta','events','commits',"
            "'incident_releases','decision_releases','decision_incidents','outbox']) AS t").fetchone()
        return bool(row and row[0])

    # -- reading -------------------------------------------------------------------------------------
    @property
    def snapshot(self) -> PgSnapshot:
        return PgSnapshot(self)

    def unread_tables(self) -> frozenset[str]:
        """The tables not yet wholly read into memory (read when first needed: decisions and the outbox, the
        resolved incidents and the history of what a start did not show). A diagnostic, as the file's."""
        unread = set(self._deferred)
        if self._resolved_unread:
            unread.add("incidents")
        if not self._events_complete:
            unread.add(EVENTS)
        return frozenset(unread)

    def owner_events(self, owner: str, stream: str | None = None) -> list[tuple[int, Doc]]:
        if not self._events_complete and owner not in self._owners_read:
            self._read_deferred_events()
        events = self.tables[EVENTS]
        streams = self._streams.get(owner, {})
        chosen = [streams.get(stream, [])] if stream is not None else list(streams.values())
        return [(event_id, events[event_id]) for ids in chosen for event_id in ids]

    def get(self, table: str, doc_id: int) -> Doc | None:
        """One document: from what was read if it is there, else from its table (read if deferred)."""
        found = self.tables[table].get(doc_id)
        return found if found is not None else self.table(table).get(doc_id)

    def open_incidents(self) -> dict[int, Doc]:
        incidents = self.tables["incidents"] if self._resolved_unread else self.table("incidents")
        return open_incident_docs(incidents)

    def table(self, name: str) -> dict[int, Doc]:
        """A table's documents in memory; a table deferred at start-up is read whole on first use."""
        if name == "incidents" and self._resolved_unread:
            with self._lock:
                if self._resolved_unread:
                    try:
                        rows = self._connection().execute(
                            "SELECT id, doc FROM incidents WHERE status = %s", (RESOLVED,)).fetchall()
                    except psycopg.Error as error:
                        raise self._lost(error) from None
                    changes = Changes()
                    for doc_id, doc in rows:
                        if int(doc_id) not in self.tables["incidents"]:  # a refresh may have brought a newer one
                            self._apply("incidents", int(doc_id), doc, changes)
                    self._resolved_unread = False
        if name in self._deferred:
            with self._lock:
                if name in self._deferred:
                    try:
                        rows = self._connection().execute(f"SELECT id, doc FROM {name}").fetchall()
                    except psycopg.Error as error:
                        raise self._lost(error) from None
                    changes = Changes()
                    for doc_id, doc in rows:
                        self._apply(name, int(doc_id), doc, changes)
                    self._deferred.discard(name)
        return self.tables[name]

    def _first_read(self, conn: psycopg.Connection[Any]) -> Changes:
        """Start-up, in one consistent snapshot: releases, incidents, meta and the history of everything but
        resolved incidents (most of a mature database's events, shown on no first screen)."""
        changes = Changes()
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                for table, where in (("releases", ""), ("incidents", f" WHERE status IS DISTINCT FROM '{RESOLVED}'"), (META, "")):
                    for doc_id, doc, rev in conn.execute(f"SELECT id, doc, rev FROM {table}{where}"):
                        self._apply(table, int(doc_id), doc, changes)
                        self._rev = max(self._rev, int(rev))
                self._resolved_unread = True  # read whole (they are most of the table) on first need
                # The history of open incidents only: releases are read without theirs at start-up, and resolved
                # incidents not at all; both follow in one read when first asked for.
                self._owners_read = {f"INC-{doc_id}" for doc_id in open_incident_docs(self.tables["incidents"])}
                self._events_complete = False
                rows = conn.execute("SELECT id, doc || jsonb_build_object('owner', owner, 'stream', stream), rev "
                                    "FROM events WHERE owner = ANY(%s) ORDER BY id", (list(self._owners_read),))
                for event_id, doc, rev in rows:
                    self._apply(EVENTS, int(event_id), doc, changes)
                    self._rev = max(self._rev, int(rev))
                top = conn.execute("SELECT max(id) FROM events").fetchone()
                self.max_ids[EVENTS] = max(self.max_ids.get(EVENTS, 0), int(top[0] or 0) if top else 0)
        except psycopg.Error as error:
            raise self._lost(error) from None
        return changes

    def _read_deferred_events(self) -> None:
        """The history left out at start-up, read once, when first asked for (newer events of the same
        owners may already be here from a refresh: they are kept, the older ones slot in before them)."""
        with self._lock:
            if self._events_complete:
                return
            try:
                rows = self._connection().execute(
                    "SELECT id, doc || jsonb_build_object('owner', owner, 'stream', stream) FROM events "
                    "WHERE owner <> ALL(%s) ORDER BY id", (sorted(self._owners_read),)).fetchall()
            except psycopg.Error as error:
                raise self._lost(error) from None
            changes = Changes()
            for event_id, doc in rows:
                self._apply(EVENTS, int(event_id), doc, changes)
            self._events_complete = True

    def _read_changes(self, conn: psycopg.Connection[Any]) -> Changes:
        """Rows with a newer rev than any seen, into memory. Only what changed crosses the network.
        A deferred table is skipped: when it is read, it is read whole (as new as, or newer than, `_rev`)."""
        parts = [f"SELECT '{table}', id, doc, rev FROM {table} WHERE rev > %(rev)s"
                 for table in (*RECORD_TABLES, META, OUTBOX) if table not in self._deferred]
        parts.append("SELECT 'events', id, doc || jsonb_build_object('owner', owner, 'stream', stream), rev "
                     "FROM events WHERE rev > %(rev)s")
        rows = conn.execute(" UNION ALL ".join(parts) + " ORDER BY 4", {"rev": self._rev}).fetchall()
        changes = Changes()
        for table, doc_id, doc, rev in rows:
            self._apply(table, int(doc_id), doc, changes)
            self._rev = max(self._rev, int(rev))
        return changes

    def _apply(self, table: str, doc_id: int, doc: Doc, changes: Changes) -> None:
        if table == EVENTS and doc_id not in self.tables[EVENTS]:
            listed = self._streams.setdefault(str(doc["owner"]), {}).setdefault(str(doc["stream"]), [])
            listed.append(doc_id)
            if len(listed) > 1 and listed[-2] > doc_id:
                listed.sort()
        self.tables[table][doc_id] = doc
        if doc_id > self.max_ids.get(table, 0):
            self.max_ids[table] = doc_id
        changes.add(table, doc_id)

    def changed_outside(self) -> bool:
        return self._pending.is_set()

    def refresh(self) -> Changes:
        with self._lock:
            self._pending.clear()
            conn = self._connection()
            try:
                return self._logged(self._read_changes(conn))
            except psycopg.Error as error:
                raise self._lost(error) from None

    def torn_tail_note(self) -> str | None:
        return None  # a database never shows a half-written save

    def take_notices(self) -> list[str]:
        """Things to tell the person once (an in-doubt save checked after reconnecting)."""
        with self._lock:
            notices, self._notices = self._notices, []
        return notices

    def role_exists(self, role: str) -> bool:
        """A login role of that name exists on this server (`octotui db people set` names only real ones)."""
        with self._lock:
            try:
                row = self._connection().execute("SELECT 1 FROM pg_roles WHERE rolname = %s AND rolcanlogin",
                                                 (role,)).fetchone()
            except psycopg.Error as error:
                raise self._lost(error) from None
        return row is not None

    # -- writing -------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def unit_of_work(self, on_wait: Callable[[], None] | None = None) -> Iterator[PgUnitOfWorkView]:
        if self.read_only:
            raise StoreReadOnly(self.location, self.read_only_reason)
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN")
                got = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,)).fetchone()
                if not (got and got[0]):
                    if on_wait is not None:
                        on_wait()
                    conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                    conn.execute("SET LOCAL statement_timeout = '15s'")
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                self._logged(self._read_changes(conn))
            except psycopg.Error as error:
                self._rollback(conn)
                raise self._lost(error) from None
            work = PgUnitOfWork(self)
            try:
                yield PgUnitOfWorkView(work)
            except BaseException:
                self._rollback(conn)
                raise
            if not any(work.staged.values()) and not work.events:
                self._rollback(conn)
                return
            commit_id = str(uuid.uuid4())
            try:
                revs = self._send(conn, work, commit_id)
            except psycopg.Error as error:
                self._rollback(conn)
                raise self._lost(error) from None
            try:
                if self.before_commit is not None:
                    self.before_commit()
                conn.execute("COMMIT")
                if self.after_commit is not None:
                    self.after_commit()
            except psycopg.Error as error:
                self._in_doubt.append(commit_id)
                self._lost(error)
                raise StoreOutcomeUnknown(
                    self.location, "the connection dropped while saving: it is not known whether this change was "
                                   "saved. octotui checks once it reconnects; look before doing it again") from None
            self._logged(self._remember(work, revs))

    def _rollback(self, conn: psycopg.Connection[Any]) -> None:
        with contextlib.suppress(psycopg.Error):
            conn.execute("ROLLBACK")

    def _send(self, conn: psycopg.Connection[Any], work: PgUnitOfWork, commit_id: str) -> dict[tuple[str, int], int]:
        revs: dict[tuple[str, int], int] = {}
        with conn.cursor() as cursor:
            for table, docs in work.staged.items():
                if not docs:
                    continue
                cursor.executemany(
                    f"INSERT INTO {table} (id, doc) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE "
                    "SET doc = EXCLUDED.doc, rev = nextval('octotui_rev') RETURNING id, rev",
                    [(doc_id, Jsonb(doc)) for doc_id, doc in docs.items()], returning=True)
                revs.update(returned_revs(cursor, table))
                for field, link_table, owner_column, target_column in LINK_TABLES.get(table, ()):
                    cursor.execute(f"DELETE FROM {link_table} WHERE {owner_column} = ANY(%s)",
                                   (list(docs),))
                    links = [(doc_id, int(target)) for doc_id, doc in docs.items() for target in doc.get(field) or ()]
                    if links:
                        cursor.executemany(f"INSERT INTO {link_table} ({owner_column}, {target_column}) "
                                           "VALUES (%s, %s) ON CONFLICT DO NOTHING", links)
            if work.events:
                cursor.executemany(
                    "INSERT INTO events (id, owner, stream, doc) VALUES (%s, %s, %s, %s) RETURNING id, rev",
                    [(event_id, doc["owner"], doc["stream"],
                      Jsonb({k: v for k, v in doc.items() if k not in ("owner", "stream")}))
                     for event_id, doc in work.events.items()], returning=True)
                revs.update(returned_revs(cursor, EVENTS))
            cursor.execute("INSERT INTO commits (id, author) VALUES (%s, %s)", (commit_id, self.who))
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a broken link fails here, not as an unknown outcome
            cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, commit_id))
        return revs

    def _remember(self, work: PgUnitOfWork, revs: dict[tuple[str, int], int]) -> Changes:
        changes = Changes()
        for table, docs in work.staged.items():
            for doc_id, doc in docs.items():
                self._apply(table, doc_id, doc, changes)
        for event_id, doc in work.events.items():
            self._apply(EVENTS, event_id, doc, changes)
        # Nothing else committed in between (the write lock): our revs are the newest.
        self._rev = max([self._rev, *revs.values()])
        return changes

    # -- moving everything in and out (db copy) --------------------------------------------------------
    def export_tables(self) -> dict[str, dict[int, Doc]]:
        self.refresh()
        self._read_deferred_events()
        return {table: dict(self.table(table)) for table in TABLES}

    def import_tables(self, tables: dict[str, dict[int, Doc]], replace: bool = False) -> None:
        """Everything at once, ids kept, in one transaction (`replace` empties the tables first)."""
        if self.read_only:
            raise StoreReadOnly(self.location, self.read_only_reason)
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction(), conn.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                    held = cursor.execute("SELECT (SELECT count(*) FROM releases) + (SELECT count(*) FROM incidents) + "
                                          "(SELECT count(*) FROM decisions) + (SELECT count(*) FROM events)").fetchone()
                    if held and held[0] and not replace:
                        raise StoreNotEmpty(self.location, f"already holds {held[0]:,} records and events "
                                                           "(--replace overwrites them)")
                    if replace:
                        cursor.execute("TRUNCATE releases, incidents, decisions, events, incident_releases, "
                                       "decision_releases, decision_incidents")
                    cursor.execute("DELETE FROM meta")  # the source's (where people were, the schema mark)
                    meta = {**tables.get(META, {}), 1: {"schema": DOCUMENT_SCHEMA}}
                    for table in (*RECORD_TABLES, META):
                        docs = meta if table == META else tables.get(table, {})
                        with cursor.copy(f"COPY {table} (id, doc) FROM STDIN") as copy:
                            for doc_id, doc in docs.items():
                                copy.write_row((doc_id, Jsonb(doc)))
                    for table, links in LINK_TABLES.items():
                        for field, link_table, owner_column, target_column in links:
                            with cursor.copy(f"COPY {link_table} ({owner_column}, {target_column}) FROM STDIN") as copy:
                                for doc_id, doc in tables.get(table, {}).items():
                                    for target in dict.fromkeys(int(t) for t in doc.get(field) or ()):
                                        copy.write_row((doc_id, target))
                    with cursor.copy("COPY events (id, owner, stream, doc) FROM STDIN") as copy:
                        for event_id, doc in sorted(tables.get(EVENTS, {}).items()):
                            copy.write_row((event_id, doc["owner"], doc["stream"],
                                            Jsonb({k: v for k, v in doc.items() if k not in ("owner", "stream")})))
                    cursor.execute("SELECT pg_notify(%s, 'import')", (CHANNEL,))
            except psycopg.Error as error:
                raise self._lost(error) from None
            self.tables = {table: {} for table in TABLES}
            self._streams, self._rev, self.max_ids, self._deferred = {}, 0, {}, set()
            self._events_complete, self._resolved_unread = True, False
            self._logged(Changes(everything=True))
            self._logged(self._read_changes(self._connection()))
