"""Who creates and upgrades octotui's tables on PostgreSQL: only the database's owner role. A login that is
a member of it acts as it (`SET ROLE`) for the migration, so the tables never belong to whichever writer
started first; anyone else is refused with the exact command to run, and the owner is never told to ask
the owner (tables left to someone else by an older setup are named with the superuser's fix)."""

from __future__ import annotations

import contextlib
import re
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from octotui.storage.errors import StoreReadOnly


def _as_user(location: str, user: str) -> str:
    """The (masked) URL with another login in it and no password: the command to give someone."""
    parts = urlsplit(location)
    host = parts.netloc.rpartition("@")[2]
    query = re.sub(r"(?i)(^|&)(user|password)=[^&]*", "", parts.query).strip("&")
    return parts._replace(netloc=f"{user}@{host}", query=query).geturl()


def become_owner(conn: psycopg.Connection[Any], location: str) -> None:
    """Inside the migration's transaction: act as the database's owner role, so the tables it creates
    belong to the owner (never to the writer who happened to start first). A login that is neither the
    owner nor a member of it is refused with the exact command to run."""
    row = conn.execute("SELECT pg_get_userbyid(datdba), current_user, session_user FROM pg_database "
                       "WHERE datname = current_database()").fetchone()
    assert row is not None
    owner, current, login = (str(value) for value in row)
    if current == owner:
        return
    try:
        with conn.transaction():  # a savepoint: a refused SET ROLE leaves the migration's transaction usable
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(owner)))
    except pg_errors.InsufficientPrivilege:
        raise StoreReadOnly(location, f"cannot create or upgrade octotui's tables as {login}: only the database "
                                      f"owner {owner} does that (or a role granted it). Run: octotui db upgrade "
                                      f"--db '{_as_user(location, owner)}' (or, as a superuser: "
                                      f"GRANT {owner} TO {login})") from None


def owner_problem(conn: psycopg.Connection[Any], location: str, reason: str) -> StoreReadOnly:
    """The owner (or a member acting as it) was refused: the tables belong to someone else, left from a
    setup that let another role create them. Never "ask the owner": say who owns what and the fix."""
    with contextlib.suppress(psycopg.Error):
        conn.execute("ROLLBACK")
    tables_owner = database_owner = "?"
    with contextlib.suppress(psycopg.Error):
        found = conn.execute("SELECT (SELECT tableowner FROM pg_tables WHERE tablename = 'octotui_schema'), "
                             "pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()").fetchone()
        if found:
            tables_owner, database_owner = str(found[0]), str(found[1])
    if tables_owner not in ("?", "None", database_owner):
        return StoreReadOnly(location, f"cannot create or upgrade octotui's tables ({reason}): they belong to "
                                       f"{tables_owner}, not to the database owner {database_owner}. As a "
                                       f"superuser run: REASSIGN OWNED BY {tables_owner} TO {database_owner}")
    return StoreReadOnly(location, f"cannot create or upgrade octotui's tables ({reason}); the database owner "
                                   f"{database_owner} needs CREATE on the schema")
