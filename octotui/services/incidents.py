"""Incident commands: start, status, severity, roles, milestones, notes, updates sent, and the release links."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from octotui.domain.clock import format_minutes, local_time
from octotui.domain.inputs import (
    IncidentInput,
    InputError,
    NeedsConfirmation,
    PersonInput,
    TextInput,
    TimelineNoteInput,
    check_length,
    parse_input,
)
from octotui.domain.models import (
    AUTO_AUTHOR,
    MILESTONES,
    ROLES,
    ChecklistRun,
    Incident,
    IncidentStatus,
    Release,
    Severity,
    TimelineEvent,
)
from octotui.domain.roles import ChecklistRole
from octotui.services import stale
from octotui.services.clocks import ClocksMixin
from octotui.services.records import describe_event
from octotui.services.resolve import open_promise, resolve_concerns
from octotui.storage.errors import NotFound


class IncidentsMixin(ClocksMixin):
    """The incident commands, each one unit of work."""

    if TYPE_CHECKING:
        # Defined by services.releases (built on this one); `resolve_concerns` reads it of the workspace.
        def last_known_good(self, release: Release) -> Release | None: ...

    def _timeline(self, incident: Incident, kind: str, text: str, at: datetime | None = None) -> None:
        incident.timeline.append(TimelineEvent(at=at or self.now(), author=self.author, kind=kind, text=text))

    def _auto(self, incident: Incident, fact: str, cause: str) -> None:
        """The app saw `fact` happen: tick the escalation item that asks for it (author "auto")."""
        run = incident.runs.get(ChecklistRole.ESCALATION)
        event = run.auto_tick(fact, cause, self.now()) if run is not None else None
        if run is not None and event is not None:
            incident.timeline.append(TimelineEvent(at=event.at, author=AUTO_AUTHOR, kind="checklist",
                                                   text=f"{describe_event(run, event)} — {cause}"))

    def start_incident(self, title: str, severity: Severity | str = Severity.P1, started_at: datetime | None = None,
                       release_id: int | None = None, impact: str = "", for_run: str | None = None) -> Incident:
        """Start the clock. With `release_id`, linked both ways; with `for_run` ("rollback", "hotfix"), that
        run of the release belongs to this incident."""
        errors: dict[str, str] = {}
        try:
            clean = parse_input(IncidentInput, {"title": title, "severity": str(severity), "impact": impact})
        except InputError as error:
            errors.update(error.errors)
        now = self.now()
        started = started_at or now
        if started > now:
            errors["started"] = f"{local_time(started)} is in the future"
        if errors:
            raise InputError(errors)
        level = Severity(clean.severity)
        with self._command() as tx:
            release = None
            if release_id is not None:
                if tx.uow.get("releases", release_id) is None:
                    raise InputError({"release": f"REL-{release_id} does not exist"})
                release = tx.load(Release, release_id)

            def build(new_id: int) -> Incident:
                incident = Incident(id=new_id, title=clean.title, severity=level, started_at=started,
                                    impact=clean.impact, created_by=self.author, roles={"commander": self.author},
                                    runs={spec.key: ChecklistRun.from_spec(spec, now) for spec in
                                          (self.playbook.by_role(ChecklistRole.ESCALATION), *self.playbook.extras("incident"))})
                self._timeline(incident, "status", f"Incident started: {level} {IncidentStatus.INVESTIGATING}", at=started)
                self._auto(incident, "severity", f"started as {level}")
                self._auto(incident, "commander", f"{self.author} named incident commander at start")
                if release is not None:
                    self._link(release, incident)
                    if for_run and for_run in release.runs:
                        release.run_incidents[for_run] = new_id
                return incident

            incident = tx.new(Incident, build)
            if release is not None:
                tx.save(release)
        return incident

    def _change_incident(self, incident_id: int, change: Callable[[Incident], Any],
                         also: Callable[[Any], None] | None = None) -> Incident:
        with self._command() as tx:
            incident = tx.load(Incident, incident_id)
            change(incident)
            tx.save(incident)
            if also is not None:
                also(tx.uow)
        return self.incident(incident_id) or incident

    def resolve_concerns(self, incident: Incident, *, sending: bool = False) -> list[str]:
        return resolve_concerns(self, incident, sending=sending)

    def _apply_status(self, incident: Incident, status: IncidentStatus, confirm: bool, *, sending: bool = False) -> None:
        """`sending`: the change comes with a status update (sent right after), which keeps an open promise."""
        if incident.status == status:
            return
        if status is IncidentStatus.RESOLVED and not confirm:
            concerns = self.resolve_concerns(incident, sending=sending)
            if concerns:
                raise NeedsConfirmation(f"Resolve {incident.key}? Still unfinished:\n" + "\n".join(f"• {c}" for c in concerns),
                                        careful=True)
        now = self._ordered_now(incident)
        order = list(IncidentStatus)
        reached = order.index(status)
        resolving = status is IncidentStatus.RESOLVED  # never fills a milestone nobody recorded
        if not resolving and reached >= order.index(IncidentStatus.IDENTIFIED) and incident.acknowledged_at is None:
            incident.acknowledged_at = now
        if not resolving and reached >= order.index(IncidentStatus.MITIGATED) and incident.mitigated_at is None:
            incident.mitigated_at = now
        due = self.next_update_due(incident)
        if resolving and due is not None and due <= now:
            self._timeline(incident, "promise", f"Update promised by {self.people_time(due, with_date=False)} "
                                                "missed (resolved without it)", at=now)
        elif resolving and due is not None and not sending and open_promise(incident):
            self._timeline(incident, "promise", f"Update promised by {self.people_time(due, with_date=False)} "
                                                "missed (still open at resolve)", at=now)
        self._timeline(incident, "status", f"Status: {incident.status} → {status}", at=now)
        stale.close_monitoring(self, incident, status, now)
        incident.status = status
        if status is IncidentStatus.MONITORING:
            running = self._run_window(incident)
            incident.monitoring_since = running[0] if running else now
            ends = self.monitoring_ends(incident)
            if ends is not None:
                source = f"from “{running[2]}” checked at {self.people_time(running[0], with_date=False)}" if running \
                    else "from the status change"
                self._timeline(incident, "clock", f"Monitoring window until {self.people_time(ends, with_date=False)} "
                                                  f"({format_minutes(ends - incident.monitoring_since)}, {source})", at=now)
        if status is IncidentStatus.RESOLVED:
            incident.resolved_at = now
            retro = self.retro_deadline(incident)
            if retro is not None:
                self._timeline(incident, "clock", f"Retrospective due by {self.people_time(retro)} "
                                                  f"({format_minutes(retro - now)} after resolution)", at=now)
        elif incident.resolved_at is not None:
            incident.resolved_at = None  # reopened: the clock runs again

    def set_status(self, incident_id: int, status: IncidentStatus | str, *, confirm: bool = False,
                   seen: str | None = None) -> Incident:
        """Raises NeedsConfirmation when resolving with the monitoring window or escalation items open, and
        StaleChoice when the status is no longer `seen` (the one the person's list showed)."""
        status = IncidentStatus(status)

        def change(incident: Incident) -> None:
            stale.check(self, incident, "status", seen, status.value)
            self._apply_status(incident, status, confirm)
        return self._change_incident(incident_id, change)

    def acknowledge(self, incident_id: int) -> Incident:
        """The Acknowledged milestone: someone has the incident. The status stays as it is."""
        def change(incident: Incident) -> None:
            if incident.acknowledged_at is not None:
                raise InputError({"acknowledged_at": f"{incident.key} was acknowledged at "
                                                      f"{local_time(incident.acknowledged_at)}"})
            incident.acknowledged_at = self._ordered_now(incident)
            self._timeline(incident, "milestone", f"Acknowledged by {self.author}", at=incident.acknowledged_at)
        return self._change_incident(incident_id, change)

    def _ordered_now(self, incident: Incident) -> datetime:
        """Now, but never before a milestone already recorded (the system clock can jump back)."""
        stamps: list[datetime] = [getattr(incident, name) for name in MILESTONES if getattr(incident, name) is not None]
        return max([self.now(), *stamps])

    def set_severity(self, incident_id: int, severity: Severity | str, *, seen: str | None = None) -> Incident:
        severity = Severity(severity)

        def change(incident: Incident) -> None:
            stale.check(self, incident, "severity", seen, severity.value)
            if incident.severity != severity:
                # A promise already made (or one already past) stays as it was, kept or overdue and then
                # missed: the new cadence sets only the next one (before any, the first update's time).
                promised, now = self.next_update_due(incident), self.now()
                line = f"Severity: {incident.severity} → {severity}"
                if promised is not None and (open_promise(incident) or promised <= now):
                    incident.next_update_at, incident.snoozed_until = promised, None
                    if promised <= now:
                        line += (f"; the update promised by {self.people_time(promised, with_date=False)} "
                                 f"is still overdue ({format_minutes(now - promised)})")
                self._timeline(incident, "severity", line)
                incident.severity = severity
            self._auto(incident, "severity", f"severity set to {severity}")

        return self._change_incident(incident_id, change)

    def assign_role(self, incident_id: int, role: str, person: str) -> Incident:
        errors: dict[str, str] = {}
        if role not in ROLES:
            errors["role"] = f"unknown role {role!r}"
        try:
            person = parse_input(PersonInput, {"person": person}).person
        except InputError as error:
            errors.update(error.errors)
        if errors:
            raise InputError(errors)

        def change(incident: Incident) -> None:
            before = incident.roles.get(role)
            if before == person:
                return
            incident.roles[role] = person
            verb = f"handed from {before} to {person}" if before else f"assigned to {person}"
            self._timeline(incident, "role", f"{ROLES[role]} {verb}")
            if role == "commander":
                self._auto(incident, "commander", f"{person} named incident commander")
            if all(incident.roles.get(name) for name in ROLES):
                self._auto(incident, "roles", "all three roles assigned")

        return self._change_incident(incident_id, change)

    def set_title(self, incident_id: int, title: str) -> Incident:
        title = parse_input(IncidentInput, {"title": title}).title

        def change(incident: Incident) -> None:
            if incident.title != title:
                self._timeline(incident, "title", f"Title: “{incident.title}” → “{title}”")
                incident.title = title

        return self._change_incident(incident_id, change)

    def set_impact(self, incident_id: int, impact: str) -> Incident:
        impact = parse_input(TextInput, {"text": impact}, rename={"text": "impact"}).text
        return self._change_incident(incident_id, lambda incident: self._apply_impact(incident, impact))

    def _apply_impact(self, incident: Incident, impact: str) -> None:
        if incident.impact != impact:
            incident.impact = impact
            self._timeline(incident, "impact", f"Impact: {impact or '(cleared)'}")

    def set_current_actions(self, incident_id: int, text: str) -> Incident:
        text = parse_input(TextInput, {"text": text}, rename={"text": "actions"}).text
        return self._change_incident(incident_id, lambda incident: self._apply_actions(incident, text))

    def _apply_actions(self, incident: Incident, text: str) -> None:
        if incident.current_actions != text:
            incident.current_actions = text
            self._timeline(incident, "actions", f"Current actions: {text or '(cleared)'}")

    def set_channel(self, incident_id: int, channel: str) -> Incident:
        channel = parse_input(TextInput, {"text": channel}, rename={"text": "channel"}).text

        def change(incident: Incident) -> None:
            if incident.channel != channel:
                incident.channel = channel
                self._timeline(incident, "channel", f"Coordination channel: {channel or '(cleared)'}")
            if channel:
                self._auto(incident, "channel", f"channel {channel} noted")

        return self._change_incident(incident_id, change)

    def set_milestone(self, incident_id: int, name: str, moment: datetime | None) -> Incident:
        if name not in MILESTONES:
            raise InputError({name: f"unknown milestone {name!r}"})
        if moment is not None and moment > self.now():
            raise InputError({name: f"{local_time(moment)} is in the future"})
        if name == "started_at" and moment is None:
            raise InputError({name: "an incident always has a start time"})

        def change(incident: Incident) -> None:
            proposed = {key: getattr(incident, key) for key in MILESTONES}
            proposed[name] = moment
            names = list(MILESTONES)
            for earlier_index, earlier in enumerate(names):
                for later in names[earlier_index + 1:]:
                    a, b = proposed[earlier], proposed[later]
                    if a is not None and b is not None and b < a:
                        raise InputError({name: f"{MILESTONES[later]} ({local_time(b)}) cannot be before "
                                                f"{MILESTONES[earlier]} ({local_time(a)})"})
            setattr(incident, name, moment)
            self._timeline(incident, "milestone", f"{MILESTONES[name]} set to {self.people_time(moment) or '(cleared)'}")

        return self._change_incident(incident_id, change)

    def add_note(self, incident_id: int, text: str, at: datetime | None = None, *, followup: bool = False) -> Incident:
        """A timeline note; `followup=True` flags it as a follow-up item (the postmortem lists those)."""
        errors: dict[str, str] = {}
        try:
            text = parse_input(TimelineNoteInput, {"note": text}).note
        except InputError as error:
            errors.update(error.errors)
        if at is not None and at > self.now():
            errors["at"] = f"{local_time(at)} is in the future"
        if errors:
            raise InputError(errors)
        with self._command() as tx:
            if tx.uow.get("incidents", incident_id) is None:
                raise NotFound(f"INC-{incident_id} does not exist (any more)")
            # One small event; the incident is not rewritten.
            tx.timeline(incident_id, "followup" if followup else "note", text, at=at)
        return self.incident(incident_id)  # type: ignore[return-value]

    def record_sent(self, incident_id: int, template_title: str, *, counts_as_update: bool, fact: str = "",
                    missing: tuple[str, ...] = (), how: str = "sent (copied)", names_due: datetime | None = None,
                    also: Callable[[Any], None] | None = None) -> Incident:
        """A text was copied (or, `how`, posted) for stakeholders: on the timeline (with what it lacked); an update
        resets the update clock. Runs before the text is rendered, so the text names the state after it (a post,
        rendered before, names `names_due`). `also(uow)` writes in the same unit of work (the outbox's outcome)."""
        def change(incident: Incident) -> None:
            now = self.now()
            if counts_as_update:
                incident.last_update_at, incident.snoozed_until, incident.next_update_at = now, None, names_due
            line = f"{template_title} {how}" + (f" with missing: {', '.join(missing)}" if missing else "")
            due = self.next_update_due(incident)
            if counts_as_update and due is not None:
                line += f"; next update by {self.people_time(due, with_date=False)}"
            self._timeline(incident, "update", line, at=now)
            if fact:
                self._auto(incident, fact, f"{template_title} {'copied' if how == 'sent (copied)' else 'posted'}")
        return self._change_incident(incident_id, change, also)

    def send_status_update(self, incident_id: int, *, status: IncidentStatus | str, impact: str, current_actions: str,
                           next_in_minutes: int | None, confirm: bool = False) -> Incident:
        """The status-update form's facts, as one change: status, impact, current actions (the next update time
        is checked here and recorded with the update by services.delivery once its text reached somewhere)."""
        errors: dict[str, str] = {}
        texts = {"impact": impact, "current_actions": current_actions}
        for name, value in texts.items():
            try:
                texts[name] = parse_input(TextInput, {"text": value}, rename={"text": name}).text
            except InputError as error:
                errors.update(error.errors)
        impact, current_actions = texts["impact"], texts["current_actions"]
        if next_in_minutes is not None and not 1 <= next_in_minutes <= 1440:
            errors["next_update"] = "the next update must be 1 to 1440 minutes away"
        if errors:
            raise InputError(errors)
        status = IncidentStatus(status)

        def change(incident: Incident) -> None:
            self._apply_status(incident, status, confirm, sending=True)
            self._apply_impact(incident, impact)
            self._apply_actions(incident, current_actions)

        return self._change_incident(incident_id, change)

    def snooze_update(self, incident_id: int, minutes: int = 5) -> Incident:
        """A new promise, on the timeline: the next update moves `minutes` past the old one, or past now when
        that one was already missed (which stays on the timeline, for the incident and the postmortem)."""
        def change(incident: Incident) -> None:
            now, was = self.now(), self.next_update_due(incident)
            if was is None:
                raise InputError({"snooze": f"{incident.key} has no update due to move"})
            moved = max(was, now) + timedelta(minutes=minutes)

            def at(moment: datetime) -> str:
                return self.people_time(moment, with_date=False)

            if was <= now:
                self._timeline(incident, "promise", f"Update promised by {at(was)} missed "
                                                    f"({format_minutes(now - was)} overdue when snoozed)", at=now)
            incident.next_update_at, incident.snoozed_until = moved, None
            self._timeline(incident, "snooze", f"Next update moved to {at(moved)} — was {at(was)}", at=now)
        return self._change_incident(incident_id, change)

    def set_comms_text(self, owner: Literal["release", "incident"], owner_id: int, template: str, text: str | None) -> None:
        check_length("text", "The edited text", text or "")  # the limit every stored text has (issue 30 D3)
        with self._command() as tx:
            record = tx.load_owner(owner, owner_id)
            if text is None:
                record.comms.pop(template, None)
            else:
                record.comms[template] = text
            tx.save(record)

    def _link(self, release: Release, incident: Incident) -> bool:
        """Both sides of a release–incident link; False if they were linked already."""
        if release.id in incident.release_ids and incident.id in release.incident_ids:
            return False
        if release.id not in incident.release_ids:
            incident.release_ids.append(release.id)
        if incident.id not in release.incident_ids:
            release.incident_ids.append(incident.id)
        self._timeline(incident, "link", f"Linked to {release.key} {release.version}" + (" (hotfix)" if release.hotfix else ""))
        if release.hotfix:
            self._auto(incident, "hotfix", f"linked to hotfix {release.key} {release.version}")
        return True

    def link_release(self, incident_id: int, release_id: int) -> Incident:
        with self._command() as tx:
            incident = tx.load(Incident, incident_id)
            if tx.uow.get("releases", release_id) is None:
                raise InputError({"release": f"REL-{release_id} does not exist"})
            release = tx.load(Release, release_id)
            if not self._link(release, incident):
                raise InputError({"release": f"{incident.key} is already linked to {release.key}"})
            tx.save(release)
            tx.save(incident)
        return incident

    def unlink_release(self, incident_id: int, release_id: int) -> Incident:
        with self._command() as tx:
            incident = tx.load(Incident, incident_id)
            if release_id not in incident.release_ids:
                raise InputError({"release": f"{incident.key} is not linked to REL-{release_id}"})
            incident.release_ids.remove(release_id)
            if tx.uow.get("releases", release_id) is not None:
                release = tx.load(Release, release_id)
                if incident_id in release.incident_ids:
                    release.incident_ids.remove(incident_id)
                release.run_incidents = {role: n for role, n in release.run_incidents.items() if n != incident_id}
                tx.save(release)
                self._timeline(incident, "link", f"Unlinked from {release.key} {release.version}")
            tx.save(incident)
        return incident
