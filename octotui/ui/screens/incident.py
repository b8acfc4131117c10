"""Screen 3: the incident — a big clock from the stored start, status, roles, milestones, countdowns, timeline."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Footer, Header, Static

from octotui.domain.clock import format_countdown, format_duration, local_time, parse_when
from octotui.domain.inputs import InputError, NeedsConfirmation
from octotui.domain.models import (
    MILESTONES,
    ROLES,
    ROLLBACK_FROM,
    Incident,
    IncidentStatus,
    Release,
    Severity,
)
from octotui.domain.roles import ChecklistRole
from octotui.domain.stages import Stage
from octotui.domain.text import one_line
from octotui.services.stale import StaleChoice
from octotui.ui import actions
from octotui.ui.flows import (
    copy_template,
    fill_incident_form,
    guide_lacks,
    open_status_update,
    release_form,
    start_rollback_flow,
)
from octotui.ui.forms import ChoiceScreen, ConfirmScreen, TextScreen, prompt
from octotui.ui.widgets import KeyTable, LiveScreen, StatusLine, cell, key_width, literal

if TYPE_CHECKING:
    from octotui.comms.templates import CommsTemplate

TIME_WIDTH = 16  # `11-26 12:00 UTC`: the timeline's times carry their zone, as the texts do (no year: it fits)
KIND_STYLE = {"status": "yellow", "update": "green", "note": "", "checklist": "cyan", "decision": "magenta",
              "role": "blue", "severity": "red", "milestone": "yellow", "snooze": "dim", "link": "dim",
              "impact": "red", "clock": "dim", "promise": "bold red"}


class IncidentScreen(LiveScreen):
    TITLE = "Incident"
    MODE = "incident"
    BINDINGS = actions.bindings(MODE)  # from the one registry (ui/actions.py)

    def __init__(self) -> None:
        super().__init__()
        self._timeline_key: tuple[int, int, datetime | None] | tuple[()] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusLine()
        with Horizontal(id="incident-top"):
            with Vertical(id="incident-left"):
                yield Digits("00:00:00", id="clock")
                yield Static(id="incident-summary")
            yield Static(id="incident-clocks")
        yield KeyTable(id="incident-list")
        yield KeyTable(id="timeline")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.octo, "active_incident_id", self._incident_switched, init=False)
        timeline = self.query_one("#timeline", KeyTable)
        timeline.add_column("Time", width=TIME_WIDTH, key="time")
        timeline.add_column("Who", width=10, key="who")
        timeline.add_column("Kind", width=9, key="kind")
        timeline.add_column("What happened", width=self._text_width(), key="text")
        incidents = self.query_one("#incident-list", KeyTable)
        id_width = 2 + key_width("INC", self.octo.workspace.store.snapshot.last_id("incidents"), 5)  # "▶ INC-12"
        for label, width in (("ID", id_width), ("Sev", 3), ("Status", 13), ("Elapsed", 9), ("Title", 60)):
            incidents.add_column(label, width=width, key=label)
        self.reload()
        timeline.focus()

    def _incident_switched(self, *_args: object) -> None:
        if self.is_current:
            self.reload()

    def _text_width(self) -> int:
        return max(20, (self.size.width or 120) - TIME_WIDTH - 10 - 9 - 2 * 4 - 2)

    def on_resize(self) -> None:
        timeline = self.query_one("#timeline", KeyTable)
        column = timeline.columns.get("text")  # type: ignore[call-overload]
        if column is not None and column.width != self._text_width():
            column.width = self._text_width()
            self._timeline_key = ()
            self.reload()

    def incident(self) -> Incident | None:
        incident_id = self.octo.active_incident_id
        return self.octo.workspace.incident(incident_id) if incident_id is not None else None

    def reload(self) -> None:
        workspace = self.octo.workspace
        incident = self.incident()
        if incident is None:
            incident = workspace.newest_incident()
            if incident is not None:
                self.octo.active_incident_id = incident.id
        summary = self.query_one("#incident-summary", Static)
        if incident is None:
            summary.update(Text("No incident. Press i (from any screen) to start one: a title, Enter, and the clock runs.",
                                style="bold"))
            self.query_one("#clock", Digits).update("00:00:00")
            self.query_one("#incident-clocks", Static).update("")
            self.query_one("#incident-list").display = False
            self.query_one("#timeline", KeyTable).clear()
            return
        summary.update(self._summary(incident))
        self._reload_list()
        self._reload_timeline(incident)
        self.tick()

    def _summary(self, incident: Incident) -> Text:
        """One fact per line, each cut to the width (a narrow terminal keeps the timeline visible)."""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{incident.key} ", style="bold")
        text.append_text(literal(one_line(incident.title), "bold"))
        text.append(f"\n{incident.severity}", style="bold white on red" if incident.severity in (Severity.P0, Severity.P1) else "bold")
        text.append(f"  {incident.status}", style="bold yellow" if incident.open else "bold green")
        for release_id in incident.release_ids:
            release = self.octo.workspace.release(release_id)
            if release is not None:
                text.append(f"  {release.key} {release.version} ({self.octo.workspace.stage(release)})", style="dim")
        text.append("\n")
        for index, (role, label) in enumerate((("commander", "IC"), ("comms", "comms"), ("tech", "tech"))):
            text.append(f"{' · ' if index else ''}{label} ", style="dim")
            text.append_text(literal(one_line(incident.roles.get(role, "—"))))
        text.append("\nImpact: ", style="dim")
        text.append_text(literal(one_line(incident.impact) or "— (p to describe)"))
        text.append("\nNow: ", style="dim")
        text.append_text(literal(one_line(incident.current_actions) or "— (w to say)"))
        if incident.channel:
            text.append("\nChannel: ", style="dim")
            text.append_text(literal(one_line(incident.channel)))
        runs = [self.octo.workspace.run(ref) for ref in self.octo.workspace.incident_runs(incident)]
        progress = " · ".join(f"{run.name.replace(' Checklist', '')} {run.progress_label()}" for run in runs if run)
        if progress:
            text.append(f"\nChecklists (c): {progress}", style="cyan")
        if incident.decision_ids:
            text.append(f"\nDecisions: {', '.join(f'DEC-{n}' for n in incident.decision_ids)}", style="magenta")
        return text

    def _reload_list(self) -> None:
        table = self.query_one("#incident-list", KeyTable)
        open_incidents = self.octo.workspace.open_incidents()
        table.display = len(open_incidents) > 1
        if not table.display:
            return
        table.clear()
        now = self.octo.workspace.now()
        for incident in open_incidents:
            active = incident.id == self.octo.active_incident_id
            table.add_row(cell(("▶ " if active else "  ") + incident.key, "bold" if active else ""),
                          cell(incident.severity.value), cell(incident.status.value),
                          cell(format_duration(incident.elapsed(now))), cell(incident.title), key=str(incident.id))

    def _reload_timeline(self, incident: Incident) -> None:
        key = (incident.id, len(incident.timeline), incident.timeline[-1].at if incident.timeline else None)
        if key == self._timeline_key:
            return
        self._timeline_key = key
        table = self.query_one("#timeline", KeyTable)
        table.clear()
        for index, event in sorted(enumerate(incident.timeline), key=lambda pair: (pair[1].at, pair[0]), reverse=True):
            table.add_row(cell(self.octo.workspace.people_time(event.at)[5:]), cell(event.author), cell(event.kind, KIND_STYLE.get(event.kind, "")),
                          cell(event.text), key=str(index))

    def tick(self) -> None:
        """On the app's tick: elapsed time and countdowns recomputed from stored times, never counted."""
        incident = self.incident()
        if incident is None:
            return
        workspace = self.octo.workspace
        now = workspace.now()
        digits = self.query_one("#clock", Digits)
        elapsed = format_duration(incident.elapsed(now))
        if digits.value != elapsed:
            digits.update(elapsed)
        digits.set_class(not incident.open, "stopped")
        self.query_one("#incident-clocks", Static).update(self._clocks(incident, now))
        incidents = self.query_one("#incident-list", KeyTable)
        if incidents.display:  # the other open incidents' clocks run too
            for row_key in list(incidents.rows):
                other = workspace.incident(int(row_key.value or 0))
                if other is not None:
                    incidents.update_cell(row_key, "Elapsed", cell(format_duration(other.elapsed(now))))

    def _clocks(self, incident: Incident, now: datetime) -> Text:
        workspace = self.octo.workspace
        text = Text("Milestones\n", style="bold underline")
        for name, label in MILESTONES.items():
            moment = getattr(incident, name)
            text.append(f"{label:<14}", style="dim")
            text.append(local_time(moment) if moment else "—")
            if moment is not None and name != "started_at":
                text.append(f"  (+{format_duration(moment - incident.started_at)})", style="dim")
            text.append("\n")
        text.append("\nCountdowns\n", style="bold underline")
        due = workspace.next_update_due(incident)
        if due is None:
            text.append("Next update   none" + (" (resolved)" if not incident.open else f" for {incident.severity}") + "\n",
                        style="dim")
        else:
            left = due - now
            if left.total_seconds() < 0:
                text.append(f"UPDATE OVERDUE by {format_countdown(-left)} — u or y\n", style="bold white on red")
            else:
                text.append("Next update   ", style="dim")
                text.append(f"in {format_countdown(left)}", style="bold cyan")
                text.append(f" ({workspace.people_time(due, with_date=False)})\n", style="dim")
        missed = [e for e in incident.timeline if e.kind == "promise"]
        if missed:  # a promise stakeholders were given and did not get stays in sight
            text.append(f"Missed        {len(missed)} promised update{'s' if len(missed) > 1 else ''}", style="bold red")
            text.append(f" (last: {local_time(missed[-1].at)})\n", style="dim")
        monitoring = workspace.monitoring_ends(incident)
        if monitoring is not None:
            left = monitoring - now
            text.append("Monitoring    ", style="dim")
            text.append(f"{format_countdown(left)} left" if left.total_seconds() > 0 else "window complete",
                        style="bold cyan" if left.total_seconds() > 0 else "green")
            text.append(f" (until {workspace.people_time(monitoring, with_date=False)})\n", style="dim")
        retro = workspace.retro_deadline(incident)
        if retro is not None:
            left = retro - now
            text.append("Retro due     ", style="dim")
            text.append(f"{workspace.people_time(retro)} ({format_countdown(left)})\n",
                        style="red" if left.total_seconds() < 0 else "cyan")
        return text

    # -- actions ---------------------------------------------------------------------------
    def _need_incident(self) -> Incident | None:
        incident = self.incident()
        if incident is None:
            self.notify("No incident: press i to start one", severity="warning")
        return incident

    def decision_context(self) -> dict[str, Any]:
        incident = self.incident()
        if incident is None:
            return {}
        links = [incident.key] + [f"REL-{n}" for n in incident.release_ids]
        return {"links": ", ".join(links)}

    def action_status(self) -> None:
        incident = self._need_incident()
        if incident is None:
            return
        order = list(IncidentStatus)
        next_status = order[min(order.index(incident.status) + 1, len(order) - 1)]
        choices = [(status.value, status.value + ("  (current)" if status is incident.status else "")) for status in order]

        def chosen(value: str | None) -> None:
            if value:  # chosen from the list as it showed this status: a newer one asks first
                self._set_status(incident.id, value, seen=incident.status.value)

        self.octo.push_screen(ChoiceScreen(f"Status of {incident.key} (Enter: {next_status})", choices, next_status.value), chosen)

    def action_resolve(self) -> None:
        """Resolve: the honest question first when anything is unfinished (Cancel is the default)."""
        incident = self._need_incident()
        if incident is not None and incident.open:
            self._set_status(incident.id, IncidentStatus.RESOLVED.value)
        elif incident is not None:
            self.notify(f"{incident.key} is already resolved", severity="warning")

    def _set_status(self, incident_id: int, status: str, confirm: bool = False, seen: str | None = None) -> None:
        """Resolving with work open asks first, as does a choice made from an older status than the stored
        one; once resolved, the resolution notice offers itself."""
        def asked(error: BaseException) -> bool:
            if isinstance(error, StaleChoice):
                def again(yes: bool | None) -> None:
                    if yes:  # now chosen knowing the stored status
                        self._set_status(incident_id, status, confirm, seen=error.current)

                self.octo.push_screen(ConfirmScreen(str(error), yes="Set it anyway", no="Keep it"), again)
                return True
            if not isinstance(error, NeedsConfirmation):
                return False
            def decide(yes: bool | None) -> None:
                if yes:
                    self._set_status(incident_id, status, confirm=True, seen=seen)

            self.octo.push_screen(ConfirmScreen(str(error), yes="Resolve anyway", no="Cancel", default="no"), decide)
            return True

        def done(incident: Incident) -> None:
            template = self.octo.templates.get("incident-resolution")
            def copy(yes: bool | None) -> None:
                if yes and template is not None:
                    copy_template(self.octo, template, incident)

            if incident.status is IncidentStatus.RESOLVED and template is not None:
                self.octo.push_screen(ConfirmScreen(Text(f"{incident.key} resolved. Copy the resolution notice now?"),
                                                    yes="Copy it", no="Later"), copy)

        self.octo.run_command_async(self.octo.workspace.set_status, incident_id, status, confirm=confirm, seen=seen,
                                    on_success=done, on_error=asked)

    def action_severity(self) -> None:
        incident = self._need_incident()
        if incident is None:
            return

        def chosen(value: str | None, seen: str = incident.severity.value) -> None:
            if value:  # chosen from the list as it showed this severity: a newer one asks first
                self.octo.run_command_async(self.octo.workspace.set_severity, incident.id, value, seen=seen,
                                            on_error=lambda error: stale_asked(error, value))

        def stale_asked(error: BaseException, value: str) -> bool:
            if not isinstance(error, StaleChoice):
                return False
            self.octo.push_screen(ConfirmScreen(str(error), yes="Set it anyway", no="Keep it"),
                                  lambda yes: chosen(value, seen=error.current) if yes else None)
            return True

        self.octo.push_screen(ChoiceScreen(f"Severity of {incident.key}", [(s.value, s.value) for s in Severity],
                                          incident.severity.value), chosen)

    def action_assign(self) -> None:
        incident = self._need_incident()
        if incident is None:
            return

        def role_chosen(role: str | None) -> None:
            if not role:
                return
            form = prompt(f"{ROLES[role]} for {incident.key}", "Name", lambda name: self.octo.workspace.assign_role(
                incident.id, role, name), value=incident.roles.get(role, ""))
            self.octo.push_screen(form)

        choices = [(role, f"{label}: {incident.roles.get(role, '—')}") for role, label in ROLES.items()]
        self.octo.push_screen(ChoiceScreen("Assign or hand off a role", choices), role_chosen)

    def action_milestone(self) -> None:
        incident = self._need_incident()
        if incident is None:
            return

        def milestone_chosen(name: str | None) -> None:
            if not name:
                return
            workspace = self.octo.workspace

            def submit(text: str) -> Incident:
                moment = None
                if text.strip():
                    try:
                        moment = parse_when(text, workspace.now())
                    except ValueError as error:
                        raise InputError({"text": str(error)}) from None
                return workspace.set_milestone(incident.id, name, moment)

            current = getattr(incident, name)
            form = prompt(f"{MILESTONES[name]} time of {incident.key}",
                          "When ('12 minutes ago', '14:05', '2026-11-26 14:05'; empty clears)", submit,
                          value=current.astimezone().strftime("%Y-%m-%d %H:%M") if current else "")
            self.octo.push_screen(form)

        choices = [(name, f"{label}: {local_time(getattr(incident, name))}") for name, label in MILESTONES.items()]
        self.octo.push_screen(ChoiceScreen("Edit a milestone", choices), milestone_chosen)

    def action_impact(self) -> None:
        incident = self._need_incident()
        if incident is not None:
            self.octo.push_screen(fill_incident_form(self.octo, incident, "impact"))

    def action_actions(self) -> None:
        incident = self._need_incident()
        if incident is not None:
            self.octo.push_screen(fill_incident_form(self.octo, incident, "current_actions"))

    def action_snooze(self) -> None:
        incident = self._need_incident()
        if incident is not None:
            self.octo.run_command_async(self.octo.workspace.snooze_update, incident.id, on_success=lambda saved: self.notify(
                next(e.text for e in reversed(saved.timeline) if e.kind == "snooze") + " (on the timeline)"))

    def _update_template(self, incident: Incident) -> CommsTemplate | None:
        """The first text an incident sends is the initial notification; after that, status updates."""
        first = incident.last_update_at is None and not any(e.kind == "update" for e in incident.timeline)
        return self.octo.templates.get("incident-initial" if first else "incident-update") \
            or self.octo.templates.get("incident-update")

    def action_copy_update(self) -> None:
        incident = self._need_incident()
        template = self._update_template(incident) if incident is not None else None
        if incident is not None and template is not None:
            copy_template(self.octo, template, incident)

    def action_status_update(self) -> None:
        incident = self._need_incident()
        template = self.octo.templates.get("incident-update")
        if incident is not None and template is not None:
            open_status_update(self.octo, incident, self._update_template(incident) or template)

    def action_acknowledge(self) -> None:
        incident = self._need_incident()
        if incident is not None:
            self.octo.run_command_async(self.octo.workspace.acknowledge, incident.id, on_success=lambda done: self.notify(
                f"{done.key} acknowledged at {local_time(done.acknowledged_at)} (on the timeline)"))

    def action_link_release(self) -> None:
        incident = self._need_incident()
        if incident is None:
            return
        workspace = self.octo.workspace
        releases = sorted(workspace.board_rows(), key=lambda r: (r.id not in incident.release_ids,
                                                                  r.stage not in (Stage.PRODUCTION, Stage.VERIFIED)))
        choices = [(str(r.id), ("Unlink " if r.id in incident.release_ids else "Link ")
                    + f"{r.key} {r.version} ({r.stage}) {r.title[:40]}") for r in releases]
        if not choices:
            self.notify("No release on the board to link", severity="warning")
            return

        def chosen(value: str | None) -> None:
            if value:
                command = workspace.unlink_release if int(value) in incident.release_ids else workspace.link_release
                self.octo.run_command_async(command, incident.id, int(value))

        self.octo.push_screen(ChoiceScreen(f"Link {incident.key} to a release (or unlink)", choices), chosen)

    def action_rollback(self) -> None:
        incident = self._need_incident()
        if incident is None:
            return
        workspace = self.octo.workspace
        candidates = [r for r in workspace.board_rows() if r.stage in ROLLBACK_FROM]
        # The releases this incident is linked to first, then what is in production.
        candidates.sort(key=lambda r: (r.id not in incident.release_ids, r.stage is not Stage.PRODUCTION))
        if not candidates:
            self.notify("No release in Staging or later to roll back", severity="warning")
            return

        def chosen(value: str | None) -> None:
            release = workspace.release(int(value)) if value else None
            if release is not None:
                start_rollback_flow(self.octo, release, incident_id=incident.id)

        choices = [(str(r.id), f"{r.key} {r.version} ({r.stage}) {r.title[:40]}") for r in candidates]
        self.octo.push_screen(ChoiceScreen(f"Roll back which release for {incident.key}?", choices), chosen)

    def action_title(self) -> None:
        incident = self._need_incident()
        if incident is not None:
            self.octo.push_screen(prompt(f"Title of {incident.key}", "What is happening (one line)",
                                        lambda text: self.octo.workspace.set_title(incident.id, text), value=incident.title))

    def action_channel(self) -> None:
        incident = self._need_incident()
        if incident is not None:
            self.octo.push_screen(fill_incident_form(self.octo, incident, "channel"))

    def action_followup(self) -> None:
        incident = self._need_incident()
        if incident is None:
            return
        timeline = self.query_one("#timeline", KeyTable)
        key = timeline.selected_key()
        noted = incident.timeline[int(key)] if key is not None and key.isdigit() and int(key) < len(incident.timeline) else None
        value = noted.text if noted is not None and noted.kind == "note" else ""
        self.octo.push_screen(prompt(f"Follow-up item for {incident.key}", "What must happen after the incident",
                                     lambda text: self.octo.workspace.add_note(incident.id, text, followup=True),
                                     value=value))

    def action_details(self) -> None:
        incident = self._need_incident()
        if incident is None:
            return
        text = Text()
        for label, value in (("Title", incident.title), ("Impact", incident.impact),
                             ("Current actions", incident.current_actions), ("Channel", incident.channel)):
            text.append(f"{label}\n", style="bold")
            text.append_text(literal(value or "—"))
            text.append("\n\n")
        self.octo.push_screen(TextScreen(f"{incident.key} in full", text))

    def action_hotfix(self) -> None:
        incident = self._need_incident()
        if incident is not None and not guide_lacks(self.octo, ChecklistRole.HOTFIX):
            self.octo.push_screen(release_form(self.octo, hotfix=True), self._hotfix_created)

    def _hotfix_created(self, release: Release | None) -> None:
        if release is not None:
            self.octo.selected_release_id = release.id
            self.notify(f"{release.key} {release.version} (hotfix) created: c opens its checklist")

    def action_checklists(self) -> None:
        incident = self._need_incident()
        if incident is not None:
            self.octo.checklist_owner = ("incident", incident.id)
            self.octo.switch_mode("checklist")

    def on_data_table_row_selected(self, event: KeyTable.RowSelected) -> None:
        if event.data_table.id == "incident-list" and event.row_key.value:
            self.octo.active_incident_id = int(event.row_key.value)

    def action_next_incident(self) -> None:
        open_ids = [i.id for i in self.octo.workspace.open_incidents()]
        if len(open_ids) < 2:
            self.notify("Only one incident is open", severity="information")
            return
        current = self.octo.active_incident_id
        index = open_ids.index(current) if current in open_ids else -1
        self.octo.active_incident_id = open_ids[(index + 1) % len(open_ids)]
        self.notify(f"Active incident: INC-{self.octo.active_incident_id}")
