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


def password_warning(location: str | None) -> str | None:
    """One line for a password given in a URL on the command line: every local user sees it in `ps`."""
    if not location or not is_postgres_url(location) or not secrets_in(location):
        return None
    return ("octotui: warning: the password in this URL is visible to every user of this machine (ps) while "
            "octotui runs; put it in ~/.pgpass (host:port:database:user:password, mode 0600) or PGPASSWORD instead")


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
