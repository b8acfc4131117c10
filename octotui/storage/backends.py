"""Which backend a location means: a `postgresql://` URL is the team's PostgreSQL database, anything
else a file (storage.urls says which is which). The PostgreSQL driver is an optional extra, imported only when a
URL asks for it."""

from __future__ import annotations

from octotui.storage.base import Repository
from octotui.storage.errors import StoreUnavailable
from octotui.storage.urls import (
    POSTGRES_SCHEMES,
    check_file_location,
    check_postgres_url,
    is_postgres_url,
    is_url,
    masked,
    normalized_url,
    password_warning,
    secrets_in,
    url_scheme,
)

__all__ = ["POSTGRES_EXTRA", "POSTGRES_SCHEMES", "check_file_location", "check_postgres_url", "is_url", "normalized_url", "password_warning",
           "url_scheme", "file_schema", "is_postgres_url", "masked", "open_for_copy", "open_repository", "secrets_in",
           "upgrade_database"]

POSTGRES_EXTRA = "pip install 'octotui[postgres]'"


def open_repository(location: str, *, read_only: bool = False, create: bool = True) -> Repository:
    if is_postgres_url(location):
        try:
            from octotui.storage.postgres_store import PostgresStore
        except ImportError:
            raise StoreUnavailable(masked(location),
                                   f"PostgreSQL needs the psycopg driver: {POSTGRES_EXTRA}") from None
        return PostgresStore(check_postgres_url(location), read_only=read_only, create=create)
    from octotui.storage.file_store import Store

    return Store(check_file_location(location), read_only=read_only)


def open_for_copy(location: str) -> Repository:
    """A source of `db copy`, only read: a file of an older octotui is read as this version reads it, another
    app's TinyDB file for the octotui tables it may hold."""
    if is_postgres_url(location):
        return open_repository(location, read_only=True, create=False)
    from octotui.storage.file_store import Store

    return Store(check_file_location(location), read_only=True, foreign=True)


def upgrade_database(location: str) -> tuple[int, int]:
    """Bring a PostgreSQL database to this octotui's schema: (before, after)."""
    try:
        from octotui.storage.postgres_store import upgrade_database as upgrade
    except ImportError:
        raise StoreUnavailable(masked(location), f"PostgreSQL needs the psycopg driver: {POSTGRES_EXTRA}") from None
    return upgrade(location)


def file_schema(repository: Repository) -> tuple[int, int] | None:
    """For a file: (the schema it is in, the schema this octotui writes); None for PostgreSQL."""
    from octotui.storage.file_store import SCHEMA_VERSION, Store

    return (repository.schema, SCHEMA_VERSION) if isinstance(repository, Store) else None
