"""Screen 3: the incident — a big clock from the stored start, status, roles, milestones, countdowns, timeline."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Footer, Header, Static

from octotui.domain.clock import format_countdown, format_duration, local_time, parse_when
from octotui.domain.inputs import InputError
from octotui.domain.models import MILESTONES, ROLES, Incident, IncidentStatus, Severity
from octotui.domain.text import one_line
from octotui.ui.flows import copy_template, release_form
from octotui.ui.forms import ChoiceScreen, prompt
from octotui.ui.widgets import KeyTable, LiveScreen, StatusLine, cell, literal

KIND_STYLE = {"status": "yellow", "update": "green", "note": "", "checklist": "cyan", "decision": "magenta",
              "role": "blue", "severity": "red", "milestone": "yellow", "snooze": "dim", "link": "dim",
              "impact": "red", "clock": "dim"}


class IncidentScreen(LiveScreen):
    TITLE = "Incident"
    BINDINGS = [
        Binding("s", "status", "Status", id="incident.status", tooltip="Advance or pick the status"),
        Binding("v", "severity", "Severity", id="incident.severity", tooltip="Change the severity"),
        Binding("o", "assign", "Roles", id="incident.roles", tooltip="Assign or hand off a role"),
        Binding("y", "copy_update", "Copy update", id="incident.copy_update", tooltip="Copy the status update; records it as sent"),
        Binding("n", "app.timeline_note", "Note", id="incident.new_note", tooltip="Add a timeline note"),
        Binding("c", "checklists", "Checklists", id="incident.checklists", tooltip="Escalation checklist and linked runs"),
        Binding("m", "milestone", "Milestone", show=False, id="incident.milestone", tooltip="Backdate or correct a milestone"),
        Binding("p", "impact", "Impact", show=False, id="incident.impact", tooltip="Describe the customer impact"),
        Binding("w", "actions", "Actions", show=False, id="incident.actions", tooltip="What is being done now (goes into updates)"),
        Binding("z", "snooze", "Snooze", show=False, id="incident.snooze", tooltip="Snooze the update reminder 5 minutes (recorded)"),
        Binding("H", "hotfix", "Hotfix", show=False, id="incident.hotfix", tooltip="Create a hotfix release linked to this incident"),
        Binding("right_square_bracket", "next_incident", "Next incident", show=False, id="incident.next", tooltip="Switch to the next open incident"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._bell_rung_for: datetime | None = None
        self._timeline_key: tuple = ()

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
        timeline.add_column("Time", width=16, key="time")
        timeline.add_column("Who", width=10, key="who")
        timeline.add_column("Kind", width=9, key="kind")
        timeline.add_column("What happened", width=self._text_width(), key="text")
        incidents = self.query_one("#incident-list", KeyTable)
        for label, width in (("ID", 7), ("Sev", 3), ("Status", 13), ("Elapsed", 9), ("Title", 60)):
            incidents.add_column(label, width=width, key=label)
        self.reload()
        timeline.focus()

    def _incident_switched(self, *_args: object) -> None:
        if self.is_current:
            self.reload()

    def _text_width(self) -> int:
        return max(20, (self.size.width or 120) - 16 - 10 - 9 - 2 * 4 - 2)

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
            incidents = workspace.open_incidents() or workspace.incidents()
            if incidents:
                self.octo.active_incident_id = incidents[0].id
                incident = incidents[0]
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
        if incident.release_id:
            release = self.octo.workspace.release(incident.release_id)
            if release is not None:
                text.append(f"  {release.key} {release.version} ({release.stage})", style="dim")
        text.append("\n")
        for index, (role, label) in enumerate((("commander", "IC"), ("comms", "comms"), ("tech", "tech"))):
            text.append(f"{' · ' if index else ''}{label} ", style="dim")
            text.append_text(literal(one_line(incident.roles.get(role, "—"))))
        text.append("\nImpact: ", style="dim")
        text.append_text(literal(one_line(incident.impact) or "— (p to describe)"))
        text.append("\nNow: ", style="dim")
        text.append_text(literal(one_line(incident.current_actions) or "— (w to say)"))
        runs = [self.octo.workspace.run(ref) for ref in self.octo.workspace.incident_runs(incident)]
        progress = " · ".join(f"{run.name.replace(' Checklist', '')} {run.progress_label()}" for run in runs if run)
        if progress:
            text.append(f"\nChecklists (c): {progress}", style="cyan")
        if incident.decision_ids:
            text.append(f"\nDecisions: {', '.join(f'DEC-{n}' for n in incident.decision_ids)}", style="magenta")
        return text

    def _reload_list(self) -> None:
        table = self.query_one("#incident-list", KeyTable)
        incidents = self.octo.workspace.incidents()
        open_incidents = [i for i in incidents if i.open]
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
            table.add_row(cell(local_time(event.at)), cell(event.author), cell(event.kind, KIND_STYLE.get(event.kind, "")),
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
                text.append(f"UPDATE OVERDUE by {format_countdown(-left)} — y copies one\n", style="bold white on red")
                if self._bell_rung_for != due:
                    self._bell_rung_for = due
                    self.octo.bell()
            else:
                text.append("Next update   ", style="dim")
                text.append(f"in {format_countdown(left)}", style="bold cyan")
                text.append(f" ({local_time(due, with_date=False)})\n", style="dim")
        monitoring = workspace.monitoring_ends(incident)
        if monitoring is not None:
            left = monitoring - now
            text.append("Monitoring    ", style="dim")
            text.append(f"{format_countdown(left)} left\n" if left.total_seconds() > 0 else "window complete\n",
                        style="bold cyan" if left.total_seconds() > 0 else "green")
        retro = workspace.retro_deadline(incident)
        if retro is not None:
            left = retro - now
            text.append("Retro due     ", style="dim")
            text.append(f"{local_time(retro)} ({format_countdown(left)})\n", style="red" if left.total_seconds() < 0 else "cyan")
        return text

    # -- actions ---------------------------------------------------------------------------
    def _need_incident(self) -> Incident | None:
        incident = self.incident()
        if incident is None:
            self.notify("No incident: press i to start one", severity="warning")
        return incident

    def decision_context(self) -> dict:
        incident = self.incident()
        if incident is None:
            return {}
        links = [incident.key] + ([f"REL-{incident.release_id}"] if incident.release_id else [])
        return {"links": ", ".join(links)}

    def action_status(self) -> None:
        incident = self._need_incident()
        if incident is None:
            return
        order = list(IncidentStatus)
        next_status = order[min(order.index(incident.status) + 1, len(order) - 1)]
        choices = [(status.value, status.value + ("  (current)" if status is incident.status else "")) for status in order]

        def chosen(value: str | None) -> None:
            if value:
                self.octo.run_command_async(self.octo.workspace.set_status, incident.id, value)

        self.octo.push_screen(ChoiceScreen(f"Status of {incident.key} (Enter: {next_status})", choices, next_status.value), chosen)

    def action_severity(self) -> None:
        incident = self._need_incident()
        if incident is None:
            return

        def chosen(value: str | None) -> None:
            if value:
                self.octo.run_command_async(self.octo.workspace.set_severity, incident.id, value)

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

            def submit(text: str):
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
            self.octo.push_screen(prompt(f"Impact of {incident.key}", "Who or what is affected, how much",
                                        lambda text: self.octo.workspace.set_impact(incident.id, text),
                                        value=incident.impact))

    def action_actions(self) -> None:
        incident = self._need_incident()
        if incident is not None:
            self.octo.push_screen(prompt(f"Current actions for {incident.key}", "What is being done now",
                                        lambda text: self.octo.workspace.set_current_actions(incident.id, text),
                                        value=incident.current_actions))

    def action_snooze(self) -> None:
        incident = self._need_incident()
        if incident is not None:
            self.octo.run_command_async(self.octo.workspace.snooze_update, incident.id, on_success=lambda _incident: self.notify(
                "Update reminder snoozed 5 minutes (on the timeline)"))

    def action_copy_update(self) -> None:
        incident = self._need_incident()
        template = self.octo.templates.get("incident-update")
        if incident is not None and template is not None:
            copy_template(self.octo, template, incident)

    def action_hotfix(self) -> None:
        incident = self._need_incident()
        if incident is not None:
            self.octo.push_screen(release_form(self.octo, hotfix=True), self._hotfix_created)

    def _hotfix_created(self, release) -> None:
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
