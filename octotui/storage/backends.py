"""Which backend a location means: a `postgresql://` URL is the team's PostgreSQL database, anything
else a TinyDB file. The PostgreSQL driver is an optional extra, imported only when a URL asks for it."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from octotui.storage.base import Repository
from octotui.storage.errors import StoreUnavailable

POSTGRES_EXTRA = "pip install 'octotui[postgres]'"


def is_postgres_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def masked(url: str) -> str:
    """The URL for messages: the password replaced by `***` (in the authority and in `password=`)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user, has_password, _password = credentials.partition(":")
        netloc = f"{user}:***@{host}" if has_password else f"{user}@{host}"
    query = re.sub(r"(?i)(^|&)(password)=[^&]*", r"\1\2=***", parts.query)
    return parts._replace(netloc=netloc, query=query).geturl()


def secrets_in(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [unquote(parts.password)] if parts.password else []
    found += [unquote(m) for m in re.findall(r"(?i)(?:^|&)password=([^&]*)", parts.query)]
    return [secret for secret in found if secret]


def open_repository(location: str, *, read_only: bool = False, create: bool = True) -> Repository:
    if is_postgres_url(location):
        try:
            from octotui.storage.postgres_store import PostgresStore
        except ImportError:
            raise StoreUnavailable(masked(location),
                                   f"PostgreSQL needs the psycopg driver: {POSTGRES_EXTRA}") from None
        return PostgresStore(location, read_only=read_only, create=create)
    from octotui.storage.tinydb_store import Store

    return Store(location, read_only=read_only)


def upgrade_database(location: str) -> tuple[int, int]:
    """Bring a PostgreSQL database to this octotui's schema: (before, after)."""
    try:
        from octotui.storage.postgres_store import upgrade_database as upgrade
    except ImportError:
        raise StoreUnavailable(masked(location), f"PostgreSQL needs the psycopg driver: {POSTGRES_EXTRA}") from None
    return upgrade(location)


def older_file_schema(repository: Repository) -> int | None:
    """The schema of an older octotui file (opened read-only, so not yet migrated); None for anything current."""
    from octotui.storage.tinydb_store import SCHEMA_VERSION, Store

    if isinstance(repository, Store) and repository.schema < SCHEMA_VERSION:
        return repository.schema
    return None
