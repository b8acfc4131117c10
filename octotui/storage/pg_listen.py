"""The PostgreSQL backend's connections: the main one (reconnected when lost, a save in doubt checked once
back), and the listener's own: LISTEN/NOTIFY wakes the app on others' commits, and presence (who else has
the database open) is looked at when someone joins or leaves, and every few seconds."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from octotui.storage.base import META, Doc
from octotui.storage.errors import (
    StoreBusy,
    StoreDisconnected,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
    StoreWriteFailed,
)
from octotui.storage.people import display_name, people_doc
from octotui.storage.pg_schema import APPLICATION, CONNECT_TIMEOUT_SECONDS, reason

CHANNEL = "octotui"
PRESENCE_CHANNEL = "octotui_presence"  # `join:<session>` / `leave:<session>`: others look again at once
PRESENCE_EVERY_SECONDS = 5.0  # a look without a notice: for someone whose octotui was killed (no "leave")
RETRY_EVERY_SECONDS = 1.0


class PgConnection:
    """PostgresStore's connections, its listener and presence (the store sets these attributes up)."""

    url: str
    location: str
    _secrets: list[str]
    tables: dict[str, dict[int, Doc]]
    _lock: threading.RLock
    _conn: psycopg.Connection[Any] | None
    _pending: threading.Event
    _closed: threading.Event
    listening: threading.Event
    _wake_channel: str
    _on_change: Callable[[], None] | None
    _presence: list[str]
    _gone: set[str]
    presence_changed: threading.Event
    presence_every_seconds: float
    _on_presence: Callable[[], None] | None
    _in_doubt: list[str]
    _notices: list[str]
    who: str
    _session: str
    _listener: threading.Thread

    # -- messages never carry the password ---------------------------------------------------------
    def _reason(self, error: BaseException) -> str:
        return reason(error, self._secrets)

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

    def subscribe(self, callback: Callable[[], None] | None) -> None:
        """`callback` is called (from another thread) when someone else changed the database."""
        self._on_change = callback

    def watch_presence(self, callback: Callable[[], None] | None) -> None:
        """`callback` is called (from another thread) when someone joined or left."""
        self._on_presence = callback

    def presence(self) -> list[str]:
        """Who else has this database open (their login roles, with the display names as last read)."""
        _doc_id, people = people_doc(dict(self.tables[META]))
        return [display_name(people, role) for role in self._presence]

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
                    main_pid = self.server_pid()
                    for notice in conn.notifies(timeout=self.presence_every_seconds):
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

    def server_pid(self) -> int:
        """The server process serving this store's own connection (0 while not connected): the pid that
        pg_stat_activity and pg_terminate_backend name, and that our own commits' notifications carry."""
        main = self._conn
        with contextlib.suppress(Exception):
            if main is not None and not main.closed:
                return int(main.info.backend_pid)
        return 0
