"""The PostgreSQL backend: one database shared by a team, changes pushed with LISTEN/NOTIFY.

Tables: `releases`, `incidents`, `decisions`, `meta` (the document as JSONB, the fields lists filter on as
generated columns, so the document stays the one source of truth), `events` (append-only history), and link
tables with deferred foreign keys. Every row carries `rev`, from one sequence: readers ask only for rows
newer than the last `rev` they saw.

Writers take one transaction-scoped advisory lock, so commits happen in `rev` order (a reader can never
skip a row committed late with an older rev) and every command reads fresh, decides, and writes as one
transaction: two people toggling one item both land, in order, with both events in its history.
This module is the only one that knows it is PostgreSQL; everything above talks to the Repository seam.
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
from psycopg import errors as pg_errors
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
    ReadsWholeTables,
    open_incident_docs,
)
from octotui.storage.errors import (
    StoreBusy,
    StoreDisconnected,
    StoreError,
    StoreNotEmpty,
    StoreOutcomeUnknown,
    StoreReadOnly,
    StoreTooNew,
    StoreUnavailable,
    StoreWriteFailed,
)
from octotui.storage.fs import make_private_dir
from octotui.storage.people import display_name, people_doc
from octotui.storage.pg_owner import become_owner, owner_problem
from octotui.storage.urls import masked, secrets_in

SCHEMA_VERSION = 3
DOCUMENT_SCHEMA = 3  # the documents' own shape, as in the TinyDB file's meta
CHANNEL = "octotui"
PRESENCE_CHANNEL = "octotui_presence"  # `join:<session>` / `leave:<session>`: others look again at once
WRITE_LOCK_KEY = 0x0C70_7501  # the advisory lock every writer takes (one per database)
LOCK_TIMEOUT = "10s"
CONNECT_TIMEOUT_SECONDS = 3
PRESENCE_EVERY_SECONDS = 5.0  # a look without a notice: for someone whose octotui was killed (no "leave")
RETRY_EVERY_SECONDS = 1.0
APPLICATION = "octotui"
TABLES = (*RECORD_TABLES, META, EVENTS, OUTBOX)
LINK_TABLES = {  # table of the owner -> (document field, link table, owner column, target column)
    "incidents": [("release_ids", "incident_releases", "incident_id", "release_id")],
    "decisions": [("release_ids", "decision_releases", "decision_id", "release_id"),
                  ("incident_ids", "decision_incidents", "decision_id", "incident_id")],
}

# Each entry moves the schema one version forward; `db upgrade` applies the missing ones in one transaction.
MIGRATIONS: list[str] = [
    # 0 -> 1: the records, their history and their links.
    """
    CREATE SEQUENCE octotui_rev;
    CREATE TABLE octotui_schema (version integer NOT NULL);
    INSERT INTO octotui_schema VALUES (0);
    CREATE TABLE releases (
        id integer PRIMARY KEY,
        doc jsonb NOT NULL,
        rev bigint NOT NULL DEFAULT nextval('octotui_rev'),
        version text GENERATED ALWAYS AS (doc->>'version') STORED,
        title text GENERATED ALWAYS AS (doc->>'title') STORED,
        type text GENERATED ALWAYS AS (doc->>'type') STORED,
        captain text GENERATED ALWAYS AS (doc->>'captain') STORED,
        target_date text GENERATED ALWAYS AS (doc->>'target_date') STORED,
        cancelled boolean GENERATED ALWAYS AS (doc->>'cancelled_at' IS NOT NULL) STORED
    );
    -- A version names one live release; a cancelled one's version may be used again.
    CREATE UNIQUE INDEX releases_live_version ON releases (version) WHERE NOT cancelled;
    CREATE TABLE incidents (
        id integer PRIMARY KEY,
        doc jsonb NOT NULL,
        rev bigint NOT NULL DEFAULT nextval('octotui_rev'),
        title text GENERATED ALWAYS AS (doc->>'title') STORED,
        severity text GENERATED ALWAYS AS (doc->>'severity') STORED,
        status text GENERATED ALWAYS AS (doc->>'status') STORED,
        started_at text GENERATED ALWAYS AS (doc->>'started_at') STORED
    );
    CREATE INDEX incidents_open ON incidents (status) WHERE status <> 'Resolved';
    CREATE TABLE decisions (
        id integer PRIMARY KEY,
        doc jsonb NOT NULL,
        rev bigint NOT NULL DEFAULT nextval('octotui_rev'),
        title text GENERATED ALWAYS AS (doc->>'title') STORED,
        status text GENERATED ALWAYS AS (doc->>'status') STORED
    );
    CREATE TABLE meta (
        id integer PRIMARY KEY,
        doc jsonb NOT NULL,
        rev bigint NOT NULL DEFAULT nextval('octotui_rev')
    );
    CREATE TABLE events (
        id bigint PRIMARY KEY,
        owner text NOT NULL,
        stream text NOT NULL,
        doc jsonb NOT NULL,
        rev bigint NOT NULL DEFAULT nextval('octotui_rev')
    );
    CREATE INDEX events_owner ON events (owner, stream, id);
    CREATE TABLE incident_releases (
        incident_id integer REFERENCES incidents DEFERRABLE INITIALLY DEFERRED,
        release_id integer REFERENCES releases DEFERRABLE INITIALLY DEFERRED,
        PRIMARY KEY (incident_id, release_id)
    );
    CREATE TABLE decision_releases (
        decision_id integer REFERENCES decisions DEFERRABLE INITIALLY DEFERRED,
        release_id integer REFERENCES releases DEFERRABLE INITIALLY DEFERRED,
        PRIMARY KEY (decision_id, release_id)
    );
    CREATE TABLE decision_incidents (
        decision_id integer REFERENCES decisions DEFERRABLE INITIALLY DEFERRED,
        incident_id integer REFERENCES incidents DEFERRABLE INITIALLY DEFERRED,
        PRIMARY KEY (decision_id, incident_id)
    );
    CREATE INDEX releases_rev ON releases (rev);
    CREATE INDEX incidents_rev ON incidents (rev);
    CREATE INDEX decisions_rev ON decisions (rev);
    CREATE INDEX meta_rev ON meta (rev);
    CREATE INDEX events_rev ON events (rev);
    """,
    # 1 -> 2: every commit names itself, so a save whose outcome was lost with the connection can be
    # checked after reconnecting instead of guessed at.
    """
    CREATE TABLE commits (
        id uuid PRIMARY KEY,
        author text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
    );
    """,
    # 2 -> 3: the outbox (services.outbox): a message to post, its destinations' outcomes and who delivers it.
    """
    CREATE TABLE outbox (
        id integer PRIMARY KEY,
        doc jsonb NOT NULL,
        rev bigint NOT NULL DEFAULT nextval('octotui_rev')
    );
    CREATE INDEX outbox_rev ON outbox (rev);
    """,
]
assert len(MIGRATIONS) == SCHEMA_VERSION

_WRITE_PRIVILEGES = "INSERT, UPDATE, DELETE"


def _database_name(url: str) -> str:
    name = unquote(urlsplit(url).path.lstrip("/"))
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "postgres"


class _Snapshot:
    def __init__(self, store: PostgresStore) -> None:
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


class _PgUnitOfWork:
    """Reads answer from memory (fresh: read under the write lock); writes are staged and sent at commit."""

    def __init__(self, store: PostgresStore) -> None:
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


class _UnitOfWorkView(ReadsWholeTables):
    """The unit of work as the services see it (the Snapshot reads plus the staged writes)."""

    def __init__(self, work: _PgUnitOfWork) -> None:
        self._work = work
        self.get, self.put, self.put_many = work.get, work.put, work.put_many
        self.append_event, self.reserve_id = work.append_event, work.reserve_id

    def all(self, table: str) -> dict[int, Doc]:
        return self._work.all(table)

    def events(self, owner: str, stream: str | None = None) -> list[tuple[int, Doc]]:
        return self._work._store.owner_events(owner, stream) + self._work.events_of(owner, stream)

    def last_id(self, table: str) -> int:
        return max(self.all(table), default=0)


class PostgresStore(ChangeLog):
    """A PostgreSQL database as octotui's repository: what was last read is kept in memory (as the TinyDB
    backend keeps its file), kept current by notifications."""

    def __init__(self, url: str, *, read_only: bool = False, create: bool = True) -> None:
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

    # -- messages never carry the password ---------------------------------------------------------
    def _reason(self, error: BaseException) -> str:
        return _reason(error, self._secrets)

    # -- connections ---------------------------------------------------------------------------------
    def _application_name(self) -> str:
        """`octotui:<session>:<role>`: the session tag tells our own connection apart (presence reads the
        role from the server's own `usename`, not from this name)."""
        return f"{APPLICATION}:{self._session}:{self.who}"[:63]

    def _connect(self, purpose: str) -> psycopg.Connection[Any]:
        """`main` connections carry `octotui:<who>` as application_name (what presence reads); the
        listener's connection is named apart so one octotui counts once."""
        name = self._application_name() if purpose == "main" and self.who else f"{APPLICATION}-{purpose}"
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                                   application_name=name[:63])
        except psycopg.OperationalError as error:
            raise StoreDisconnected(self.location, f"cannot connect ({self._reason(error)})") from None
        except psycopg.Error as error:
            raise StoreUnavailable(self.location, f"cannot connect ({self._reason(error)})") from None

    def _connection(self) -> psycopg.Connection[Any]:
        """The main connection, reconnected if it was lost (in-doubt saves are then checked)."""
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        self._conn = None
        conn = self._connect("main")
        self._conn = conn
        self._check_in_doubt(conn)
        return conn

    def _lost(self, error: psycopg.Error) -> StoreError:
        """Map a driver error; a lost connection is dropped so the next call reconnects."""
        if isinstance(error, psycopg.OperationalError) or (self._conn is not None and self._conn.broken):
            with contextlib.suppress(Exception):
                if self._conn is not None:
                    self._conn.close()
            self._conn = None
            return StoreDisconnected(self.location, f"disconnected ({self._reason(error)})")
        if isinstance(error, pg_errors.InsufficientPrivilege):
            return StoreReadOnly(self.location, f"not allowed: {self._reason(error)}")
        if isinstance(error, pg_errors.IntegrityError):
            return StoreWriteFailed(self.location, f"not saved: the database refused it ({self._reason(error)})")
        if isinstance(error, pg_errors.LockNotAvailable | pg_errors.QueryCanceled):
            return StoreBusy(self.location, "another octotui held the write lock for too long; not saved")
        return StoreUnavailable(self.location, self._reason(error))

    def compact(self) -> None:
        pass  # the server keeps its own pages

    def close(self) -> None:
        """Say we leave (others update presence at once), wake our own listener on its private channel
        (it LISTENs there) and wait for it to end: nothing waits for a timeout."""
        self._closed.set()
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.execute("SELECT pg_notify(%s, %s), pg_notify(%s, '')",
                                       (PRESENCE_CHANNEL, f"leave:{self._session}", self._wake_channel))
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None
        if self._listener is not threading.current_thread():
            # A listening listener was woken: it ends at once (the bound is only a safety). One still trying
            # to connect (the server is away) is not waited for: it sees `_closed` after its attempt and ends.
            waiting = self.listening.is_set()
            self._listener.join(timeout=CONNECT_TIMEOUT_SECONDS + RETRY_EVERY_SECONDS if waiting else 0)

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
    def snapshot(self) -> _Snapshot:
        return _Snapshot(self)

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

    def subscribe(self, callback: Callable[[], None] | None) -> None:
        """`callback` is called (from another thread) when someone else changed the database."""
        self._on_change = callback

    def watch_presence(self, callback: Callable[[], None] | None) -> None:
        """`callback` is called (from another thread) when someone joined or left."""
        self._on_presence = callback

    def role_exists(self, role: str) -> bool:
        """A login role of that name exists on this server (`octotui db people set` names only real ones)."""
        with self._lock:
            try:
                row = self._connection().execute("SELECT 1 FROM pg_roles WHERE rolname = %s AND rolcanlogin",
                                                 (role,)).fetchone()
            except psycopg.Error as error:
                raise self._lost(error) from None
        return row is not None

    def presence(self) -> list[str]:
        """Who else has this database open (their login roles, with the display names as last read)."""
        _doc_id, people = people_doc(dict(self.tables[META]))
        return [display_name(people, role) for role in self._presence]

    # -- writing -------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def unit_of_work(self, on_wait: Callable[[], None] | None = None) -> Iterator[_UnitOfWorkView]:
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
            work = _PgUnitOfWork(self)
            try:
                yield _UnitOfWorkView(work)
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

    def _send(self, conn: psycopg.Connection[Any], work: _PgUnitOfWork, commit_id: str) -> dict[tuple[str, int], int]:
        revs: dict[tuple[str, int], int] = {}
        with conn.cursor() as cursor:
            for table, docs in work.staged.items():
                if not docs:
                    continue
                cursor.executemany(
                    f"INSERT INTO {table} (id, doc) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE "
                    "SET doc = EXCLUDED.doc, rev = nextval('octotui_rev') RETURNING id, rev",
                    [(doc_id, Jsonb(doc)) for doc_id, doc in docs.items()], returning=True)
                revs.update(_returned(cursor, table))
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
                revs.update(_returned(cursor, EVENTS))
            cursor.execute("INSERT INTO commits (id, author) VALUES (%s, %s)", (commit_id, self.who))
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a broken link fails here, not as an unknown outcome
            cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, commit_id))
        return revs

    def _remember(self, work: _PgUnitOfWork, revs: dict[tuple[str, int], int]) -> Changes:
        changes = Changes()
        for table, docs in work.staged.items():
            for doc_id, doc in docs.items():
                self._apply(table, doc_id, doc, changes)
        for event_id, doc in work.events.items():
            self._apply(EVENTS, event_id, doc, changes)
        # Nothing else committed in between (the write lock): our revs are the newest.
        self._rev = max([self._rev, *revs.values()])
        return changes

    def _check_in_doubt(self, conn: psycopg.Connection[Any]) -> None:
        if not self._in_doubt:
            return
        doubts, self._in_doubt = self._in_doubt, []
        with contextlib.suppress(psycopg.Error):
            saved = {str(row[0]) for row in conn.execute("SELECT id FROM commits WHERE id = ANY(%s::uuid[])",
                                                         (doubts,)).fetchall()}
            for commit_id in doubts:
                self._notices.append("Reconnected: the change whose save was in doubt WAS saved" if commit_id in saved
                                     else "Reconnected: the change whose save was in doubt was NOT saved; do it again")
            return
        self._in_doubt = doubts  # could not check yet: try again on the next reconnect

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

    # -- the listener: notifications and presence -------------------------------------------------------
    def _mark_changed(self) -> None:
        self._pending.set()
        callback = self._on_change
        if callback is not None:
            with contextlib.suppress(Exception):
                callback()

    def _listen(self) -> None:
        """Its own connection: LISTEN, wake the app on others' commits, look at who is here when someone
        joins or leaves (told by notification). A lost connection is retried every second; on return the
        app is woken to catch up."""
        lost = False
        while not self._closed.is_set():
            conn: psycopg.Connection[Any] | None = None
            try:
                conn = self._connect("listen")
                for channel in (CHANNEL, PRESENCE_CHANNEL, self._wake_channel):
                    conn.execute(f'LISTEN "{channel}"')
                conn.execute("SELECT pg_notify(%s, %s)", (PRESENCE_CHANNEL, f"join:{self._session}"))
                lost = False
                # Whatever was committed between our last read and LISTEN sent no notice we could hear:
                # read once now (at start-up this finds nothing; after an outage it catches up).
                self._mark_changed()
                self.listening.set()
                while not self._closed.is_set():
                    # Not inside the notifies() loop: the connection is held while it waits.
                    before = self._presence
                    self._look_around(conn)
                    if self._presence != before:
                        self.presence_changed.set()
                        watcher = self._on_presence
                        if watcher is not None:  # the status line repaints now, not at its next tick
                            with contextlib.suppress(Exception):
                                watcher()
                    main_pid = self._main_pid()
                    for notice in conn.notifies(timeout=PRESENCE_EVERY_SECONDS):
                        if self._closed.is_set():
                            break
                        if notice.channel == CHANNEL and notice.pid != main_pid:  # our own commits are in memory already
                            self._mark_changed()
                        elif notice.channel == PRESENCE_CHANNEL and not notice.payload.endswith(self._session):
                            kind, _, session = notice.payload.partition(":")
                            if kind == "leave":
                                self._gone.add(session)
                            break  # someone joined or left: look again now
            except (psycopg.Error, StoreError):
                self.listening.clear()
                if not lost:
                    lost = True
                    self._presence = []
                    self._mark_changed()  # the app's refresh meets the lost connection and says so
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
            self._closed.wait(RETRY_EVERY_SECONDS)

    def _look_around(self, conn: psycopg.Connection[Any]) -> None:
        """Who else has this database open: the role each logged in as (the server says, not the app);
        `presence()` adds the display names."""
        rows = conn.execute(
            "SELECT application_name, usename FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name LIKE %s AND application_name NOT LIKE %s ORDER BY usename, application_name",
            (f"{APPLICATION}:%:%", f"{APPLICATION}:{self._session}:%")).fetchall()
        self._presence = [str(role) for name, role in rows if role and str(name).split(":", 2)[1] not in self._gone]

    def _main_pid(self) -> int:
        main = self._conn
        with contextlib.suppress(Exception):
            if main is not None and not main.closed:
                return int(main.info.backend_pid)
        return 0


def _reason(error: BaseException, secrets: list[str]) -> str:
    """The driver's first line for a person, with any password in it masked."""
    diag = getattr(error, "diag", None)
    text = str(getattr(diag, "message_primary", None) or error).strip()
    text = text.splitlines()[0] if text else type(error).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    return " ".join(text.split())


def migrate(conn: psycopg.Connection[Any], location: str, secrets: list[str]) -> tuple[int, int]:
    """Apply the missing migrations in one transaction (an empty database gets all of them), as the
    database's owner role; (from, to)."""
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            before = schema_version(conn)
            start = before or 0
            if start > SCHEMA_VERSION:
                raise StoreTooNew(location, f"schema {start} is newer than this octotui ({SCHEMA_VERSION}); left untouched")
            if start < SCHEMA_VERSION:
                become_owner(conn, location)
            for number in range(start, SCHEMA_VERSION):
                conn.execute(MIGRATIONS[number])
                conn.execute("UPDATE octotui_schema SET version = %s", (number + 1,))
            if before is None:
                conn.execute("INSERT INTO meta (id, doc) VALUES (1, %s)", (Jsonb({"schema": DOCUMENT_SCHEMA}),))
    except psycopg.Error as error:
        if isinstance(error, pg_errors.InsufficientPrivilege):
            raise owner_problem(conn, location, _reason(error, secrets)) from None
        raise StoreUnavailable(location, f"cannot upgrade ({_reason(error, secrets)})") from None
    return start, SCHEMA_VERSION


def upgrade_database(url: str) -> tuple[int, int]:
    """`octotui db upgrade`: connect, migrate, disconnect."""
    secrets = secrets_in(url)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                               application_name=f"{APPLICATION}-upgrade")
    except psycopg.Error as error:
        raise StoreDisconnected(masked(url), f"cannot connect ({_reason(error, secrets)})") from None
    with conn:
        return migrate(conn, masked(url), secrets)


def _returned(cursor: psycopg.Cursor[Any], table: str) -> dict[tuple[str, int], int]:
    revs: dict[tuple[str, int], int] = {}
    while True:
        for doc_id, rev in cursor.fetchall():
            revs[(table, int(doc_id))] = int(rev)
        if not cursor.nextset():
            return revs


def schema_version(conn: psycopg.Connection[Any]) -> int | None:
    """octotui's schema version in this database, or None if it has no octotui tables."""
    row = conn.execute("SELECT to_regclass('octotui_schema') IS NOT NULL").fetchone()
    if not (row and row[0]):
        return None
    found = conn.execute("SELECT version FROM octotui_schema").fetchone()
    if found is None:
        raise psycopg.DataError("octotui_schema is empty")
    return int(found[0])


