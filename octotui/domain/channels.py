"""Where a text for people goes besides the clipboard: named channels (apprise URLs), routes from templates to
channels, how a destination is shown without its secrets, and when a failed delivery is tried again.

No apprise here except in `check_url`, which imports it only for channels not checked before."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from octotui.domain.text import one_line

CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
# Query parameters whose value names a recipient, not a secret: shown as they are.
_PUBLIC_QUERY = frozenset({"to", "cc", "bcc", "from", "name"})
_DOMAIN = re.compile(r"^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")

# A failed destination is tried again after these, then every 5 minutes until an hour after it first failed.
BACKOFF = (timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5))
RETRY_EVERY = timedelta(minutes=5)
RETRY_FOR = timedelta(hours=1)


class ChannelSettings(BaseModel):
    """`[channels]` (name = one apprise URL or a list), `[routes]` (template name or glob = channel names) and
    `[delivery]` options, as one part of the settings."""

    model_config = ConfigDict(extra="forbid")
    channels: dict[str, list[str]] = Field(default_factory=dict)
    routes: dict[str, list[str]] = Field(default_factory=dict)
    timeout: float = Field(default=30.0, gt=0, le=600)  # seconds one destination may take before it failed

    @field_validator("channels", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        if isinstance(value, dict):
            return {name: [urls] if isinstance(urls, str) else urls for name, urls in value.items()}
        return value

    @field_validator("routes", mode="before")
    @classmethod
    def _route_lists(cls, value: object) -> object:
        if isinstance(value, dict):
            return {name: [names] if isinstance(names, str) else names for name, names in value.items()}
        return value

    def problems(self) -> list[tuple[str, str]]:
        """(key, what is wrong) for every name or route that cannot work; URLs are checked by `check_url`."""
        found: list[tuple[str, str]] = []
        for name, urls in self.channels.items():
            if not CHANNEL_NAME.match(name):
                found.append((f"channels.{one_line(name[:40])}",
                              "a channel name is letters, digits, '-', '_' or '.' (at most 40)"))
            elif not urls:
                found.append((f"channels.{name}", "no URL given"))
        for pattern, names in self.routes.items():
            for name in names:
                if name not in self.channels:
                    known = ", ".join(sorted(self.channels)) or "none are configured"
                    found.append((f"routes.{one_line(pattern[:60])}", f"unknown channel {name!r} (channels: {known})"))
        return found

    def route(self, template: str) -> list[str]:
        """The channels a template goes to: every route whose name or glob matches it, in order, once each."""
        chosen: list[str] = []
        for pattern, names in self.routes.items():
            if pattern == template or fnmatch.fnmatchcase(template, pattern):
                chosen += [name for name in names if name not in chosen and name in self.channels]
        return chosen

    def shown(self, name: str) -> str:
        """`incidents (slack://***/#incidents)`: a channel as a person may see it anywhere."""
        urls = self.channels.get(name, [])
        return f"{name} ({', '.join(mask(url) for url in urls)})" if urls else f"{name} (not configured)"


def check_url(url: str) -> str | None:
    """What is wrong with an apprise URL, or None. Imports apprise and its plugins (about a second)."""
    shape = _shape(url)
    if shape:
        return shape
    import apprise

    if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        return f"apprise cannot use {mask(url)} (unknown scheme or a required part missing)"
    return None


def _shape(url: object) -> str | None:
    if not isinstance(url, str) or not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://\S", url):
        return "not an apprise URL (scheme://…)"
    return None


def check_urls(urls: list[str]) -> dict[str, str]:
    """What is wrong with each URL (only those with a problem). apprise's own check (a second of loading its
    plugins) runs once for a set of URLs: a start with the same channels as a start that passed skips it, so
    the first paint does not pay for it. The set is remembered as an HMAC (a random key of this user's),
    never as the URLs."""
    problems = {url: shape for url in urls if (shape := _shape(url))}
    if problems or not urls:
        return problems
    stamp = _checked_stamp(urls)
    if stamp is not None and stamp[1] == _read(stamp[0]):
        return {}
    problems = {url: wrong for url in urls if (wrong := check_url(url))}
    if not problems and stamp is not None:
        _write_private(stamp[0], stamp[1])
    return problems


def _cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("octotui"))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _write_private(path: Path, text: str) -> bool:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(text)
    except OSError:
        return False
    return True


def _checked_stamp(urls: list[str]) -> tuple[Path, str] | None:
    """(where the last passing check is remembered, this set's stamp); None when the cache cannot be used."""
    import hashlib
    import hmac
    import secrets

    key_path = _cache_dir() / "channels.key"
    key = _read(key_path)
    if len(key) != 64:
        key = secrets.token_hex(32)
        if not _write_private(key_path, key):
            return None
    digest = hmac.new(bytes.fromhex(key), "\n".join(sorted(set(urls))).encode(), hashlib.sha256).hexdigest()
    return _cache_dir() / "channels-checked", digest


def mask(url: str) -> str:
    """An apprise URL without its secrets: `slack://***/#incidents`, `json://status.example/***`,
    `mailto://***@mail.example?to=status@example.com`. Only a host that looks like a host name, a
    `#channel` and recipient addresses are kept; user, password, tokens, paths and other values are not."""
    scheme, found, rest = url.partition("://")
    if not found:
        return "***"
    try:
        parts = urlsplit(f"x://{rest}")
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return f"{scheme}://***"
    shown = f"{scheme}://"
    if "@" in parts.netloc:
        shown += "***@"
    if host and _DOMAIN.match(host):
        shown += host + (f":{port}" if port else "")
        if parts.path.strip("/"):
            shown += "/***"
    else:
        shown += "***"
    if parts.fragment:
        shown += "/#" + re.sub(r"[^A-Za-z0-9_.#,-]", "", parts.fragment)
    public = [(key, value) for key, value in parse_qsl(parts.query) if key.lower() in _PUBLIC_QUERY]
    if public:
        shown += "?" + "&".join(f"{key}={value}" for key, value in public)
    return shown


def secrets_of(url: str) -> list[str]:
    """The pieces of a URL `mask` hides, longest first: scrubbed from any message that might echo them."""
    _scheme, _found, rest = url.partition("://")
    pieces: set[str] = set()
    try:
        parts = urlsplit(f"x://{rest}")
    except ValueError:
        return [rest] if rest else []
    userinfo = parts.netloc.rpartition("@")[0]
    pieces.update(piece for piece in re.split(r"[:@]", userinfo) if piece)
    host = parts.hostname or ""
    if host and not _DOMAIN.match(host):
        pieces.add(host)
    pieces.update(segment for segment in parts.path.split("/") if segment)
    pieces.update(value for key, value in parse_qsl(parts.query) if key.lower() not in _PUBLIC_QUERY and value)
    return sorted((piece for piece in pieces if len(piece) >= 3), key=len, reverse=True)


def scrub(text: str, urls: Iterable[str]) -> str:
    """`text` with every secret piece of `urls` replaced by ***."""
    for url in urls:
        for piece in secrets_of(url):
            text = text.replace(piece, "***")
    return text


def holds_secret(url: str) -> bool:
    return bool(secrets_of(url))


def next_attempt(attempts: int, first_failed: datetime, now: datetime) -> datetime | None:
    """When to try a destination again after its `attempts`-th failure (30 s, 1, 2, 5 min, then every 5 min);
    None once an hour has passed since it first failed (given up)."""
    delay = BACKOFF[attempts - 1] if 1 <= attempts <= len(BACKOFF) else RETRY_EVERY
    when = now + delay
    return when if when - first_failed <= RETRY_FOR else None
