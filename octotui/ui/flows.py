"""Flows more than one screen starts: the release form, the rollback flow, the decision form, copying a
template. Screens import these, never each other."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text

from octotui.comms.templates import CommsTemplate, render
from octotui.domain.inputs import InputError
from octotui.domain.models import ROLLBACK_FROM, Incident, Release, parse_key
from octotui.domain.semver import ReleaseType
from octotui.ui.forms import ConfirmScreen, FormField, FormScreen
from octotui.ui.widgets import literal

if TYPE_CHECKING:
    from octotui.ui.app import OctoApp


def release_form(app: OctoApp, release: Release | None = None, *, hotfix: bool = False,
                 followup_of: int | None = None, title_prefill: str = "") -> FormScreen:
    """New or edit: Version (focused), Title, Type (suggested from the previous version), Captain, Target date."""
    workspace = app.workspace
    types = [(kind.value, kind.value) for kind in ReleaseType]
    if release is None:
        version = workspace.suggest_version(ReleaseType.PATCH if hotfix or followup_of else ReleaseType.MINOR)
        kind = workspace.suggest_type(version) or ReleaseType.MINOR
        fields = [
            FormField("version", "Version (SemVer, e.g. 1.4.0)", value=version),
            FormField("title", "Title", value=title_prefill),
            FormField("type", "Type (suggested from the previous version)", value=kind.value, kind="select", options=types),
            FormField("captain", "Captain", value=workspace.author),
            FormField("target_date", "Target date (YYYY-MM-DD, optional)"),
        ]
        if hotfix:
            fields.append(FormField("incident", "Incident (INC-n, optional)",
                                    value=f"INC-{app.active_incident_id}" if app.active_incident_id else ""))
    else:
        fields = [
            FormField("version", "Version (SemVer)", value=release.version),
            FormField("title", "Title", value=release.title),
            FormField("type", "Type", value=release.type.value, kind="select", options=types),
            FormField("captain", "Captain", value=release.captain),
            FormField("target_date", "Target date (YYYY-MM-DD, optional)",
                      value=release.target_date.isoformat() if release.target_date else ""),
        ]

    def submit(values: dict[str, str]) -> Release:
        if release is not None:
            return workspace.update_release(release.id, **values)
        incident_text = values.pop("incident", "").strip()
        incident_id = parse_key(incident_text, "INC") if incident_text else None
        if incident_text and incident_id is None:
            raise InputError({"incident": f"{incident_text[:20]!r} is not an incident (INC-n)"})
        return workspace.create_release(hotfix=hotfix, followup_of=followup_of, incident_id=incident_id, **values)

    def suggest_type(form: FormScreen, name: str, value: str) -> None:
        if name == "version" and release is None:
            suggested = workspace.suggest_type(value)
            if suggested is not None:
                form.set_value("type", suggested.value)

    heading: str | Text = ("New hotfix release" if hotfix else "New release") if release is None \
        else Text(f"Edit {release.key}: ") + literal(release.title)
    return FormScreen(heading, fields, submit, on_change=suggest_type)


def start_rollback_flow(app: OctoApp, release: Release) -> None:
    """Confirm with a reason, open the rollback checklist, then offer a linked incident."""
    if release.stage not in ROLLBACK_FROM:
        app.notify(f"{release.key} is {release.stage}: only a release in Staging or later can be rolled back",
                   severity="warning")
        return

    def rolled_back(result: Release | None) -> None:
        if result is None:
            return
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        app.switch_mode("checklist")

        def maybe_incident(start: bool | None) -> None:
            if start:
                app.action_start_incident(release_id=release.id)

        app.push_screen(ConfirmScreen(Text(f"Start an incident linked to {release.key} {release.version}?"),
                                      yes="Start incident", no="Not now"), maybe_incident)

    form = FormScreen(Text(f"Roll back {release.key} {release.version} — ") + literal(release.title),
                      [FormField("reason", "Why roll back? (shown on the board)")],
                      lambda values: app.workspace.start_rollback(release.id, values["reason"]),
                      hint="Enter: roll back and open the rollback checklist · Esc: cancel")
    app.push_screen(form, rolled_back)


def decision_form(title: str, prefill: dict[str, Any], submit: Callable[[dict[str, str]], Any], author: str) -> FormScreen:
    """Title (focused), context, decision, alternatives, consequences, owner, status, links."""
    fields = [
        FormField("title", "Title", value=prefill.get("title", "")),
        FormField("context", "Context — why is a decision needed?", value=prefill.get("context", "")),
        FormField("decision", "Decision", value=prefill.get("decision", "")),
        FormField("alternatives", "Alternatives considered", value=prefill.get("alternatives", "")),
        FormField("consequences", "Consequences", value=prefill.get("consequences", "")),
        FormField("owner", "Owner", value=prefill.get("owner", author)),
        FormField("status", "Status", value=prefill.get("status", "accepted"), kind="select",
                  options=[("accepted", "accepted"), ("proposed", "proposed")]),
        FormField("links", "Links (REL-n, INC-n; comma separated)", value=prefill.get("links", "")),
    ]
    return FormScreen(title, fields, submit, enter_advances=True, confirm_discard=True)


def copy_template(app: OctoApp, template: CommsTemplate, owner: Release | Incident) -> None:
    """Copy a filled template; an incident update or first notification counts as sent."""
    filled = render(template, owner, app.workspace)
    app.copy_text(filled.text, template.title)
    if template.sends_update and isinstance(owner, Incident):
        app.commands.submit(app.workspace.record_update_sent, owner.id, template.title)
