"""octotui's tables on PostgreSQL: the schema version, the migrations that create and upgrade it (applied in
one transaction by `octotui db upgrade`, or at first open of an empty database), and how a driver error reads.

Every row carries `rev`, from one sequence; the documents are JSONB with the fields lists filter on as
generated columns; the links between records are tables with deferred foreign keys."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb

from octotui.storage.errors import StoreDisconnected, StoreTooNew, StoreUnavailable
from octotui.storage.pg_owner import become_owner, owner_problem
from octotui.storage.urls import masked, secrets_in

SCHEMA_VERSION = 3
DOCUMENT_SCHEMA = 3  # the documents' own shape, as in the TinyDB file's meta
WRITE_LOCK_KEY = 0x0C70_7501  # the advisory lock every writer takes (one per database)
CONNECT_TIMEOUT_SECONDS = 3
APPLICATION = "octotui"
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


def reason(error: BaseException, secrets: list[str]) -> str:
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
            raise owner_problem(conn, location, reason(error, secrets)) from None
        raise StoreUnavailable(location, f"cannot upgrade ({reason(error, secrets)})") from None
    return start, SCHEMA_VERSION


def upgrade_database(url: str) -> tuple[int, int]:
    """`octotui db upgrade`: connect, migrate, disconnect."""
    secrets = secrets_in(url)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                               application_name=f"{APPLICATION}-upgrade")
    except psycopg.Error as error:
        raise StoreDisconnected(masked(url), f"cannot connect ({reason(error, secrets)})") from None
    with conn:
        return migrate(conn, masked(url), secrets)


def schema_version(conn: psycopg.Connection[Any]) -> int | None:
    """octotui's schema version in this database, or None if it has no octotui tables."""
    row = conn.execute("SELECT to_regclass('octotui_schema') IS NOT NULL").fetchone()
    if not (row and row[0]):
        return None
    found = conn.execute("SELECT version FROM octotui_schema").fetchone()
    if found is None:
        raise psycopg.DataError("octotui_schema is empty")
    return int(found[0])
