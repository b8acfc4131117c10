"""Stale choices ask: a status or severity picked from a list that showed an older state than the stored
one (someone else changed it meanwhile) is not applied silently; the person is asked, told who changed
what. Backend-agnostic: the check runs inside the command, on what was read fresh under the write lock."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from octotui.domain.inputs import NeedsConfirmation
from octotui.domain.text import one_line
from octotui.services import team

if TYPE_CHECKING:
    from octotui.domain.models import Incident
    from octotui.storage.base import Repository


class StaleChoice(NeedsConfirmation):
    """Asked before overriding someone else's newer choice; `current` is the stored value (a "yes" sends the
    choice again as made from it)."""

    def __init__(self, message: str, current: str) -> None:
        super().__init__(message)
        self.current = current


class IncidentSource(Protocol):
    """What the stale-choice rules need of the workspace."""

    store: Repository

    def incident(self, incident_id: int) -> Incident | None: ...

    def people_time(self, moment: datetime | None, with_date: bool = True) -> str: ...

    def monitoring_ends(self, incident: Incident) -> datetime | None: ...

    def _timeline(self, incident: Incident, kind: str, text: str, at: datetime | None = None) -> None: ...


def check(workspace: IncidentSource, incident: Incident, field: str, seen: str | None, target: str) -> None:
    """`seen`: the value the person's list showed. Raises StaleChoice when the stored one differs (and the
    choice would change it)."""
    current = str(getattr(incident, field).value)
    if seen is None or seen == current or target == current:
        return
    shown = workspace.incident(incident.id) or incident  # caught up at the start of this command
    last = next((event for event in reversed(shown.timeline) if event.kind == field), None)
    who = one_line(team.shown(workspace.store, last.author))[:60] if last is not None else "someone"
    when = f" at {workspace.people_time(last.at, with_date=False)}" if last is not None else ""
    raise StaleChoice(f"{who} changed the {field} of {incident.key} to {current}{when}, after your list showed "
                      f"{seen}. Set it to {target} anyway?", current)


def close_monitoring(workspace: IncidentSource, incident: Incident, status: object, now: datetime) -> None:
    """Leaving Monitoring closes its window: said on the timeline when it was still running, and no longer
    counted down anywhere."""
    from octotui.domain.models import IncidentStatus

    if incident.status is not IncidentStatus.MONITORING or status is IncidentStatus.MONITORING:
        return
    ends = workspace.monitoring_ends(incident)
    incident.monitoring_since = None
    if ends is not None and ends > now:
        workspace._timeline(incident, "clock", f"Monitoring window closed at "
                                                f"{workspace.people_time(now, with_date=False)} (status moved to "
                                                f"{status}; it was to run until "
                                                f"{workspace.people_time(ends, with_date=False)})", at=now)
