"""The forms a key opens from any screen: start an incident (`i`), a timeline note (`t`), a decision (`D`);
and the demo data, offered on a first start and in the palette."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from octotui.domain.clock import parse_when

if TYPE_CHECKING:
    from octotui.domain.models import Incident
    from octotui.domain.refs import RunRef
    from octotui.ui.handle import Octo


def _optional_time(values: dict[str, str], field: str, now: datetime) -> datetime | None:
    """An optional time typed as '12 minutes ago' or '14:05'; a wrong one is said next to its field."""
    from octotui.domain.inputs import InputError

    if not values[field].strip():
        return None
    try:
        return parse_when(values[field], now)
    except ValueError as error:
        raise InputError({field: str(error)}) from None


def start_incident_form(app: Octo, release_id: int | None = None, for_run: str | None = None) -> None:
    """`i` from anywhere: severity, an optional start time, one line; Enter starts the clock."""
    workspace = app.workspace

    from octotui.domain.models import Severity
    from octotui.ui.forms import FormField, IncidentStartForm

    def submit(values: dict[str, str]) -> Incident:
        started = _optional_time(values, "started", workspace.now())
        return workspace.start_incident(values["title"], values["severity"], started_at=started,
                                        release_id=release_id, for_run=for_run)

    def started(incident: Incident | None) -> None:
        if incident is None:
            return
        app.active_incident_id = incident.id
        app.switch_mode("incident")

    title = "Start an incident" + (f" linked to REL-{release_id}" if release_id else "")
    # The title last: it is what a person types, and Enter on the last field starts the clock.
    fields = [
        FormField("severity", "Severity", value="P1", kind="select",
                  options=[(f"{s.value}", s.value) for s in Severity]),
        FormField("started", "Started (optional: '12 minutes ago', '14:05')", placeholder="now"),
        FormField("title", "What is happening? (one line)", placeholder="e.g. Checkout returns 500 for some users"),
    ]
    app.push_screen(IncidentStartForm(title, fields, submit, focus="title",
                                       hint="Enter: start the clock · ↑/↓: severity · Esc: cancel"), started)


def timeline_note_form(app: Octo) -> None:
    """`t` from anywhere: a note on the active incident's timeline, optionally backdated."""
    incident_id = app.active_incident_id
    if incident_id is None or app.workspace.incident(incident_id) is None:
        app.notify("No active incident: press i to start one", severity="warning")
        return
    workspace = app.workspace

    from octotui.ui.forms import FormField, FormScreen

    def submit(values: dict[str, str]) -> Incident:
        at = _optional_time(values, "at", workspace.now())
        return workspace.add_note(incident_id, values["note"], at=at)

    # The note last: Enter on it saves (the optional time is one Shift+Tab away).
    fields = [FormField("at", "When (optional: '5 minutes ago', '14:05')", placeholder="now"),
              FormField("note", f"Timeline note for INC-{incident_id}", placeholder="what happened")]
    app.push_screen(FormScreen(f"Timeline note — INC-{incident_id}", fields, submit, focus="note",
                                hint="Enter: add the note · Shift+Tab: when · Esc: cancel"))


def decision_form_for(app: Octo, prefill: dict[str, Any]) -> None:
    """`D` from anywhere: a decision prefilled with the screen's context."""
    item_ref: RunRef | None = prefill.pop("item_ref", None)
    item_index: int | None = prefill.pop("item_index", None)
    workspace = app.workspace

    from octotui.ui.flows import decision_form

    def submit(values: dict[str, str]) -> Any:
        fields: dict[str, Any] = dict(values)
        return workspace.record_decision(item_ref=item_ref, item_index=item_index, **fields)

    def saved(decision: Any) -> None:
        if decision is not None:
            app.notify(f"{decision.key} recorded: {decision.title}")

    app.push_screen(decision_form("Record a decision", prefill, submit, workspace.author), saved)


def offer_demo(app: Octo) -> None:
    """The welcome on an empty database. Not with a team's own guide: the demo replays the bundled one."""
    from octotui.services.demo import demo_refusal
    from octotui.ui.forms import ConfirmScreen  # forms load when first needed, not before the first paint

    if demo_refusal(app.workspace.playbook) is not None:
        return
    app.push_screen(ConfirmScreen(
        "Welcome to octotui. The database is empty.\n\nLoad demo data (a few releases in different stages, "
        "an incident, decisions) to look around, or start empty?", yes="Load demo data", no="Start empty"),
        lambda load: load_demo(app) if load else None)


def load_demo(app: Octo) -> None:
    """The demo in the command worker; then the board and the incident screen select what it made."""
    from octotui.services.demo import load_demo as write_demo

    def loaded(_result: object) -> None:
        releases = app.workspace.board_rows()
        if releases and app.selected_release_id is None:
            app.selected_release_id = releases[0].id
        incidents = app.workspace.open_incidents()
        if incidents and app.active_incident_id is None:
            app.active_incident_id = incidents[0].id

    app.run_command_async(write_demo, app.workspace, on_success=loaded)
