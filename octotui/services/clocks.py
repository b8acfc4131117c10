"""Incident clocks (pure reads): next update due, the monitoring window, the retrospective deadline, a timed
item's time left, and times as people read them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from octotui.domain.clock import people_time
from octotui.domain.models import Incident, IncidentStatus, Release
from octotui.domain.refs import RunRef
from octotui.domain.roles import ChecklistRole
from octotui.domain.stages import Stage
from octotui.domain.text import plain
from octotui.services.reading import ReadingMixin
from octotui.services.records import run_incidents


class ClocksMixin(ReadingMixin):
    """The incident clocks: pure reads, no command."""

    def people_time(self, moment: datetime | None, with_date: bool = True) -> str:
        """A time in a text for people, with its zone (the team's `timezone` setting, else local)."""
        return people_time(moment, self.settings.zone, with_date=with_date)

    def next_update_due(self, incident: Incident) -> datetime | None:
        """When the next status update is due: the time the last update named, else the severity's cadence."""
        interval = self.settings.update_interval(incident.severity)
        if not incident.open:
            return None
        if incident.next_update_at is not None:
            due = incident.next_update_at
        elif interval is None:
            return None
        else:
            due = (incident.last_update_at or incident.started_at) + interval
        if incident.snoozed_until is not None and incident.snoozed_until > due:
            due = incident.snoozed_until
        return due

    def _timing_seconds(self, role: ChecklistRole, kind: str) -> int | None:
        if not self.playbook.has(role):  # a team's guide without it: no such timing
            return None
        for item in self.playbook.by_role(role).items:
            if item.timing is not None and item.timing.kind == kind:
                return item.timing.seconds
        return None

    def _run_window(self, incident: Incident) -> tuple[datetime, int, str] | None:
        """A monitoring window running on a checklist that serves this incident: (start, seconds, the item
        whose check started it)."""
        for ref in self.incident_runs(incident):
            run = self.run(ref)
            if run is None or ref.owner != "release":
                continue
            for index, item in enumerate(run.items):
                if item.timing is not None and item.timing.kind == "window" and not item.settled and index > 0:
                    start = run.window_start(index)
                    if start is not None:
                        return start, item.timing.seconds, plain(run.items[index - 1].text)
        return None

    def monitoring_ends(self, incident: Incident) -> datetime | None:
        """The incident's one monitoring window: the guide's `monitor for N+ minutes`, counted from the
        checklist step that started it when one serves this incident, else from the status change."""
        if incident.status is not IncidentStatus.MONITORING:
            return None
        running = self._run_window(incident)
        if running is not None:
            return running[0] + timedelta(seconds=running[1])
        seconds = self._timing_seconds(ChecklistRole.HOTFIX, "window")
        if incident.monitoring_since is None or seconds is None:
            return None
        return incident.monitoring_since + timedelta(seconds=seconds)

    def retro_deadline(self, incident: Incident) -> datetime | None:
        """The guide's `retrospective within N hours`, counted from resolution."""
        seconds = self._timing_seconds(ChecklistRole.ESCALATION, "deadline")
        if incident.resolved_at is None or seconds is None:
            return None
        return incident.resolved_at + timedelta(seconds=seconds)

    def incident_runs(self, incident: Incident) -> list[RunRef]:
        """The incident's own runs (escalation, the guide's own incident checklists), plus the hotfix / rollback
        runs of linked releases that serve it."""
        refs = [RunRef("incident", incident.id, role) for role in incident.runs]
        for release_id in incident.release_ids:
            release = self.release(release_id)
            if release is None:
                continue
            refs += [RunRef("release", release.id, role) for role in (ChecklistRole.HOTFIX, ChecklistRole.ROLLBACK)
                     if role in release.runs and release.run_incidents.get(role, incident.id) == incident.id]
        return refs

    def active_run(self, owner: Release | Incident) -> str | None:
        """The run work is happening on now: a rollback while rolling back, else the first with items left."""
        if isinstance(owner, Release):
            if owner.stage is Stage.ROLLING_BACK:
                return ChecklistRole.ROLLBACK
            order = owner.run_order()
        else:
            order = list(owner.runs)
        return next((role for role in order if not owner.runs[role].complete), order[-1] if order else None)

    def _serves(self, ref: RunRef) -> list[Incident]:
        if ref.owner == "incident":
            incident = self.incident(ref.owner_id)
            return [incident] if incident else []
        release = self.release(ref.owner_id)
        if release is None:
            return []
        return [i for n in run_incidents(release, ref.role) if (i := self.incident(n)) is not None]

    def time_left(self, ref: RunRef, index: int) -> timedelta | None:
        """A timed item's countdown, one rule everywhere: a window from the step before it; a deadline
        (`within 48 hours`) for an incident from its resolution — None (not running) until then."""
        run = self.run(ref)
        if run is None:
            return None
        item = run.items[index]
        incidents = self._serves(ref)
        if item.timing is not None and item.timing.kind == "deadline" and incidents:
            deadlines = [d for i in incidents if (d := self.retro_deadline(i)) is not None]
            if not deadlines or item.settled:
                return None
            return min(deadlines) - self.now()
        return run.time_left(index, self.now())
