"""One injectable clock for every timestamp, and who the author of a change is."""

from __future__ import annotations

import getpass
import os
import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from octotui.domain.quoting import quoted
from octotui.domain.text import storable


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time, timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to: tests and screenshots use it."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def now(self) -> datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        self._at += timedelta(**delta)

    def set(self, at: datetime) -> None:
        self._at = ensure_utc(at)


def ensure_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def current_author(database_role: str | None = None) -> str:
    """Who the author of record is: the database role when a shared database knows who logged in (team
    mode: `$OCTOTUI_USER` cannot override the login), else `$OCTOTUI_USER`, else the login name."""
    name = (database_role or "").strip() or os.environ.get("OCTOTUI_USER", "").strip()
    if name:
        return storable(name)  # undecodable bytes in the environment arrive as surrogates: no backend stores them
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def claimed_name(database_role: str | None) -> str | None:
    """`$OCTOTUI_USER` when it names someone else than the database role (shown as `name (as ROLE)`,
    never recorded as the author); None when it is unset, the same, or there is no role."""
    claimed = os.environ.get("OCTOTUI_USER", "").strip()
    return claimed if database_role and claimed and claimed != database_role else None


def format_duration(delta: timedelta) -> str:
    """HH:MM:SS, never negative (a clock that jumped back shows 00:00:00)."""
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def format_countdown(delta: timedelta) -> str:
    """mm:ss (or h:mm:ss) for a countdown; negative means overdue and is shown as +mm:ss."""
    seconds = int(delta.total_seconds())
    sign = "" if seconds >= 0 else "+"
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"{sign}{minutes:02d}:{secs:02d}"


def local_time(moment: datetime | None, with_date: bool = True) -> str:
    """Shown in local time; stored in UTC."""
    if moment is None:
        return "—"
    local = moment.astimezone()
    return local.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M:%S")


def people_time(moment: datetime | None, zone: tzinfo | None = None, *, with_date: bool = True) -> str:
    """A time in a text for people: always with its zone (`2026-11-27 14:58 UTC`, `15:58 CET`), in the
    team's configured zone, else the local one. Stored times stay UTC."""
    if moment is None:
        return ""
    shown = moment.astimezone(zone) if zone is not None else moment.astimezone()
    name = shown.tzname() or shown.strftime("%z")
    if name and name[0] in "+-":  # zones without an abbreviation (e.g. Asia/Kolkata in some builds)
        name = "UTC" + (f"{name[:3]}:{name[3:]}" if len(name) == 5 else name)
    return shown.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M") + f" {name}"


def format_minutes(delta: timedelta) -> str:
    """`1 h 05 min`, `12 min`: a duration in a sentence."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours and not minutes:
        return f"{hours} hours" if hours > 1 else "1 hour"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


_UNIT = r"(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)"
# `12 minutes ago`, `12 min`, `12m`, `1h 5m ago`, `-12m`: an amount of time back from now.
_AGO = re.compile(rf"^-?\s*((?:\d+\s*{_UNIT}\s*)+)(?:ago)?$", re.IGNORECASE)
_PART = re.compile(rf"(\d+)\s*{_UNIT}", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(text: str, now: datetime) -> datetime:
    """A backdated time as a person types it: `now`, `12 minutes ago`, `12m`, `1h 5m ago`, `-12m`, `14:05`,
    `2026-11-26 14:05`. A wall-clock time more than 12 hours ahead is taken as yesterday's.

    Local wall-clock times are read in the local zone. Raises ValueError with a message fit
    to show next to the field.
    """
    text = text.strip()
    if not text or text.lower() == "now":
        return now
    if match := _AGO.match(text):
        seconds = sum(int(amount) * _UNIT_SECONDS[unit[0].lower()] for amount, unit in _PART.findall(match.group(1)))
        moment = now - timedelta(seconds=seconds)
    else:
        local_now = now.astimezone()
        moment = None
        for pattern in ("%H:%M", "%H:%M:%S"):
            try:
                parsed = datetime.strptime(text, pattern).time()
            except ValueError:
                continue
            moment = datetime.combine(local_now.date(), parsed, tzinfo=local_now.tzinfo)
            if moment - local_now > timedelta(hours=12):
                moment -= timedelta(days=1)  # `23:55` typed at 00:10 means last night, not tonight
            break
        if moment is None:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"cannot read {quoted(text)} as a time: try '12 minutes ago', '14:05' or '2026-11-26 14:05'"
                ) from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=local_now.tzinfo)
    assert moment is not None
    moment = moment.astimezone(UTC)
    if moment > now:
        raise ValueError(f"{local_time(moment)} is in the future")
    return moment


_AHEAD = re.compile(rf"^(?:in\s+|\+\s*)?((?:\d+\s*{_UNIT}\s*)+)$", re.IGNORECASE)


def parse_due(text: str, now: datetime) -> datetime:
    """A due time as a person types it: `in 2h`, `+30m`, `16:00` (the next one), `tomorrow 10:00`,
    `2026-12-01` (end of that day), `2026-12-01 10:00`. Local wall-clock times; the past is refused."""
    text = text.strip()
    local_now = now.astimezone()
    moment: datetime | None = None
    if match := _AHEAD.match(text):
        seconds = sum(int(amount) * _UNIT_SECONDS[unit[0].lower()] for amount, unit in _PART.findall(match.group(1)))
        moment = now + timedelta(seconds=seconds)
    else:
        day = local_now.date()
        rest = text
        if text.lower().startswith("tomorrow"):
            day, rest = day + timedelta(days=1), text[len("tomorrow"):].strip() or "09:00"
        for pattern in ("%H:%M", "%H:%M:%S"):
            try:
                clock_time = datetime.strptime(rest, pattern).time()
            except ValueError:
                continue
            moment = datetime.combine(day, clock_time, tzinfo=local_now.tzinfo)
            if moment <= local_now and rest is text:
                moment += timedelta(days=1)  # `16:00` typed at 17:00 means tomorrow's
            break
        if moment is None:
            try:
                moment = datetime.fromisoformat(rest)
            except ValueError:
                raise ValueError(f"cannot read {quoted(text)} as a due time: try 'in 2h', 'tomorrow 10:00' "
                                 "or '2026-12-01 10:00'") from None
            if len(rest) == 10:  # a date alone: due by the end of that day
                moment = moment.replace(hour=23, minute=59)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=local_now.tzinfo)
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise ValueError(f"{local_time(moment)} is in the past")
    return moment
