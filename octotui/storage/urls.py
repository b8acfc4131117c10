"""Database URLs: which ones mean PostgreSQL, and how one is shown without its secrets."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit


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
