"""Database URLs: which ones mean PostgreSQL, how a file location is checked, and how a URL is shown without
its secrets.

A location of the shape `scheme://…` is a URL, whatever its scheme's case: PostgreSQL's own schemes are the
team database; any other scheme is refused as an unsupported URL and never taken as a file path (it would
print its password and make it a folder name). Messages show a URL only masked, and masking never raises."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from octotui.storage.errors import StoreUnavailable

POSTGRES_SCHEMES = ("postgresql", "postgres")

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# Query parameters that carry a secret (libpq's password/sslpassword, and anything named like a token).
_SECRET_PARAMETER = re.compile(r"(?i)^[^=]*(pass(word|wd|phrase)?|pwd|token|secret|credential)[^=]*$")
_MASK = "***"


def url_scheme(location: str) -> str | None:
    """`POSTGRESQL://…` -> "postgresql"; None for a file path."""
    match = _URL.match(location)
    return match.group(1).lower() if match else None


def is_url(location: str) -> bool:
    return url_scheme(location) is not None


def is_postgres_url(location: str) -> bool:
    return url_scheme(location) in POSTGRES_SCHEMES


def normalized_url(location: str) -> str:
    """The scheme in lower case (libpq reads only `postgresql://` and `postgres://`); the rest as given."""
    scheme = url_scheme(location)
    return location if scheme is None else scheme + location[len(scheme):]


def _split(url: str) -> tuple[str, str, str, str]:
    """(scheme://, authority, path, ?query#fragment) by plain string rules: no validation, so never raises."""
    match = _URL.match(url)
    head = match.group(0) if match else ""
    rest = url[len(head):]
    end = min((index for index in (rest.find(c) for c in "/?#") if index >= 0), default=len(rest))
    authority, rest = rest[:end], rest[end:]
    cut = min((index for index in (rest.find(c) for c in "?#") if index >= 0), default=len(rest))
    return head, authority, rest[:cut], rest[cut:]


def _query_secrets(query: str) -> list[tuple[str, str]]:
    """(name, raw value) of every secret-like parameter in `?a=b&c=d#…`."""
    found = []
    for pair in re.split(r"[&;]", query.lstrip("?").split("#", 1)[0]):
        name, has_value, value = pair.partition("=")
        if has_value and _SECRET_PARAMETER.match(unquote(name)):
            found.append((name, value))
    return found


def masked(url: str) -> str:
    """The URL for messages: the password replaced by `***` (in the authority and in every password-,
    token- or secret-like query parameter). Never raises, whatever the URL."""
    try:
        head, authority, path, tail = _split(url)
        if "@" in authority:
            credentials, _, host = authority.rpartition("@")
            user, has_password, _password = credentials.partition(":")
            authority = f"{user}:{_MASK}@{host}" if has_password else f"{user}@{host}"
        query, hash_mark, fragment = tail.partition("#")
        parts = re.split(r"([&;])", query)
        for index, pair in enumerate(parts):
            name, has_value, value = pair.partition("=")
            if has_value and value and _SECRET_PARAMETER.match(unquote(name.lstrip("?"))):
                parts[index] = f"{name}={_MASK}"
        return head + authority + path + "".join(parts) + hash_mark + (_MASK if fragment else "")
    except Exception:  # noqa: BLE001 - a message must never fail because of what it shows
        return (url_scheme(url) or "url") + "://" + _MASK


def secrets_in(url: str) -> list[str]:
    """Every secret a URL carries (as typed and decoded), to scrub from a driver's messages. Never raises."""
    try:
        _head, authority, _path, tail = _split(url)
        found = []
        if "@" in authority:
            _user, has_password, password = authority.rpartition("@")[0].partition(":")
            if has_password:
                found += [password, unquote(password)]
        for _name, value in _query_secrets(tail):
            found += [value, unquote(value)]
        return sorted({secret for secret in found if secret}, key=len, reverse=True)
    except Exception:  # noqa: BLE001
        return []


def check_file_location(location: str) -> str:
    """A file location as octotui will use it: `~` expanded; a URL of another kind, an unknown user's `~`, or
    a symbolic link whose target's folder does not exist is refused (octotui does not create it)."""
    if is_url(location):
        raise StoreUnavailable(masked(location), "unsupported database URL (give a file path, or a "
                                                 "postgresql:// URL for the team database)")
    if location == "":
        raise StoreUnavailable("--db", "empty database location (give a file path or a postgresql:// URL)")
    try:
        path = Path(location).expanduser()
    except RuntimeError as error:  # `~nouser/…`: no such user, or no home folder
        raise StoreUnavailable(location, f"cannot use this path ({error})") from None
    if os.path.islink(path) and not os.path.exists(path):  # (both are False on any OSError: the store says it)
        target = Path(os.path.realpath(path))
        if not os.path.isdir(target.parent):
            raise StoreUnavailable(path, f"is a symbolic link to {target}, whose folder does not exist "
                                         "(octotui does not create it)")
    return str(path)


def check_postgres_url(location: str) -> str:
    """The URL as the driver will get it (scheme in lower case); one that cannot be parsed (`[::1:pw@h`, a
    port that is not a number) is refused here, with the URL masked, before anything else reads it."""
    url = normalized_url(location)
    if _split(url)[1].count("@") > 1:  # libpq cuts at the first `@`: the rest of the password would be a host name
        raise StoreUnavailable(masked(location), "not a valid URL (an `@` in the user name or password must be "
                                                 "written %40)")
    try:
        parts = urlsplit(url)
        _port = parts.port
    except ValueError as error:
        raise StoreUnavailable(masked(location), f"not a valid URL ({error})") from None
    return url


def password_warning(location: str | None) -> str | None:
    """One line for a password given in a URL on the command line: every local user sees it in `ps`."""
    if not location or not is_postgres_url(location) or not secrets_in(location):
        return None
    return ("octotui: warning: the password in this URL is visible to every user of this machine (ps) while "
            "octotui runs; put it in ~/.pgpass (host:port:database:user:password, mode 0600) or PGPASSWORD instead")
