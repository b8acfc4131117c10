"""Times said back to a person in words ("tomorrow 14:00"), so a relative entry never silently means another day."""

from __future__ import annotations

from datetime import datetime, timedelta


def said_back(moment: datetime, now: datetime) -> str:
    """`today 16:00`, `tomorrow 14:00`, `yesterday 09:00`, else `Mon 2026-12-07 10:00` (local time, with its zone)."""
    local, today = moment.astimezone(), now.astimezone().date()
    words = {today: "today", today + timedelta(days=1): "tomorrow", today - timedelta(days=1): "yesterday"}
    day = words.get(local.date(), local.strftime("%a %Y-%m-%d"))
    return f"{day} {local:%H:%M} {local.tzname() or ''}".rstrip()
