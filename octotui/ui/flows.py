"""Flows more than one screen starts: the release form, the rollback flow, the decision form, copying a
template (with what it lacks), the status-update form. Screens import these, never each other."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from rich.text import Text

from octotui.comms.templates import CommsTemplate, release_values, render
from octotui.domain import lifecycle
from octotui.domain.inputs import CHOOSABLE_STATUSES, InputError
from octotui.domain.models import ROLES, ROLLBACK_FROM, Incident, IncidentStatus, Release, parse_key
from octotui.domain.semver import ReleaseType
from octotui.domain.text import plain
from octotui.services.workspace import LIST_NOTES
from octotui.ui.forms import ChoiceScreen, FormField, FormScreen, prompt
from octotui.ui.widgets import literal

if TYPE_CHECKING:
    from octotui.ui.app import OctoApp


def release_form(app: OctoApp, release: Release | None = None, *, hotfix: bool = False,
                 followup_of: int | None = None, title_prefill: str = "") -> FormScreen:
    """New or edit: Version, Title, Type (suggested from the previous version), Captain, Target date. A hotfix
    suggests the next patch of what production runs; a backport, the newest line still in flight."""
    workspace = app.workspace
    types = [(kind.value, kind.value) for kind in ReleaseType]
    if release is None:
        fixed = workspace.release(followup_of) if followup_of is not None else None
        if fixed is not None:
            version, why = workspace.suggest_backport(fixed)
        elif hotfix:
            version, why = workspace.suggest_hotfix_version()
        else:
            version, why = workspace.suggest_version(ReleaseType.MINOR), ""
        kind = workspace.suggest_type(version) or ReleaseType.MINOR
        if hotfix or fixed is not None:
            kind = ReleaseType.PATCH
        fields = [
            FormField("version", "Version (SemVer, e.g. 1.4.0)" + (f" — {why}" if why else ""), value=version),
            FormField("title", "Title", value=plain(title_prefill)),
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
        confirm = values.pop("_confirmed", "") == "yes"
        if release is not None:
            return workspace.update_release(release.id, confirm=confirm, **values)
        incident_text = values.pop("incident", "").strip()
        incident_id = parse_key(incident_text, "INC") if incident_text else None
        if incident_text and incident_id is None:
            raise InputError({"incident": f"{incident_text[:20]!r} is not an incident (INC-n)"})
        return workspace.create_release(hotfix=hotfix, followup_of=followup_of, incident_id=incident_id,
                                        confirm=confirm, **values)

    def changed(form: FormScreen, name: str, value: str) -> None:
        if name == "version" and release is None:
            suggested = workspace.suggest_type(value)
            if suggested is not None and not hotfix:
                form.set_value("type", suggested.value)
        values = form.values()
        form.warn("type", workspace.type_warning(values["version"], values["type"]))

    heading: str | Text = ("New hotfix release" if hotfix else "New release") if release is None \
        else Text(f"Edit {release.key}: ") + literal(release.title)
    return FormScreen(heading, fields, submit, on_change=changed)


def lifecycle_move(app: OctoApp, release: Release, move: Literal["cancel", "reopen"]) -> None:
    """Cancel or reopen: refused with the reason when the stage does not allow it; otherwise a reason is asked
    for, and only a typed reason confirms (a bare Enter never does)."""
    why_not = lifecycle.allowed(release, move)
    if why_not is not None:
        app.notify(why_not, severity="warning", timeout=8)
        return
    workspace = app.workspace
    command = workspace.cancel_release if move == "cancel" else workspace.reopen_release
    verb = "Cancel" if move == "cancel" else "Reopen"
    heading = Text(f"{verb} {release.key} {release.version} ({release.stage.value}) — ") + literal(release.title)
    label = "Why cancel? (required; the version can be reused later, after confirming)" if move == "cancel" \
        else "Why reopen? (required; its checklists become editable again)"
    form = FormScreen(heading, [FormField("reason", label)], lambda values: command(release.id, values["reason"]),
                      hint=f"Enter (after a reason): {verb.lower()} the release · Esc: leave it as it is")
    def done(result: Release | None) -> None:
        if result is not None:
            app.notify(f"{release.key} {'cancelled' if move == 'cancel' else 'reopened'} (recorded with the reason)")

    app.push_screen(form, done)


NEW_INCIDENT, NO_INCIDENT = "new", "none"


def start_rollback_flow(app: OctoApp, release: Release, incident_id: int | None = None) -> None:
    """A reason and the incident the rollback serves (the active one first; a new incident is an explicit
    choice, never the default), then the rollback checklist, on its first item."""
    if release.stage not in ROLLBACK_FROM:
        app.notify(f"{release.key} is {release.stage}: only a release in Staging or later can be rolled back",
                   severity="warning")
        return
    workspace = app.workspace
    open_incidents = workspace.open_incidents()
    preferred = incident_id if incident_id is not None else app.active_incident_id
    open_incidents.sort(key=lambda incident: incident.id != preferred)
    # Select options are (label, value).
    choices = [(f"{i.key} {i.severity} {i.title[:50]}" + ("  (active)" if i.id == app.active_incident_id else ""), str(i.id))
               for i in open_incidents]
    choices += [("New incident (started after the rollback)", NEW_INCIDENT), ("No incident", NO_INCIDENT)]
    known_good = workspace.last_known_good(release)

    def submit(values: dict[str, str]) -> tuple[Release, str]:
        chosen = values["incident"]
        number = int(chosen) if chosen.isdigit() else None
        return workspace.start_rollback(release.id, values["reason"], incident_id=number), chosen

    def rolled_back(result: tuple[Release, str] | None) -> None:
        if result is None:
            return
        app.selected_release_id = release.id
        app.restored_row = None  # the checklist opens on the rollback's first item
        app.checklist_owner = ("release", release.id)
        app.switch_mode("checklist")
        if result[1] == NEW_INCIDENT:
            app.action_start_incident(release_id=release.id, for_run="rollback")

    heading = Text(f"Roll back {release.key} {release.version} — ") + literal(release.title)
    heading.append(f"\nLast known-good: {known_good.version} ({known_good.key})" if known_good
                   else "\nLast known-good: none on the board", style="dim")
    fields = [FormField("incident", "For which incident? (its timeline gets the rollback's events)",
                        value=choices[0][1] if open_incidents else NO_INCIDENT, kind="select", options=choices),
              FormField("reason", "Why roll back? (shown on the board)")]
    app.push_screen(FormScreen(heading, fields, submit, hint="Enter: roll back and open the rollback checklist · "
                                                             "Shift+Tab: incident · Esc: cancel"), rolled_back)


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
                  options=[(status, status) for status in CHOOSABLE_STATUSES]),
        FormField("links", "Links (REL-n, INC-n; comma separated)", value=prefill.get("links", "")),
    ]
    return FormScreen(title, fields, submit)


def copy_template(app: OctoApp, template: CommsTemplate, owner: Release | Incident, *, allow_missing: bool = False) -> None:
    """Copy a filled template. A text with missing values asks first: fill them now, or copy anyway (recorded).
    A copy the incident keeps (an update, the resolution) is recorded first and rendered after, so the text
    names the state it created (the next update time above all)."""
    filled = render(template, owner, app.workspace)
    if filled.missing and not allow_missing:
        _ask_missing(app, template, owner, filled.missing)
        return
    if not (template.records_copy and isinstance(owner, Incident)):
        app.copy_text(filled.text, template.title)
        return

    def recorded(incident: Incident) -> None:
        app.copy_text(render(template, incident, app.workspace).text, template.title)

    app.run_command_async(app.workspace.record_sent, owner.id, template.title, counts_as_update=template.sends_update,
                          fact=template.fact, missing=tuple(filled.missing), on_success=recorded)


ROLE_OF_VALUE = {"incident_commander": "commander", "comms_lead": "comms", "tech_lead": "tech"}
UPDATE_FORM_FIELDS = ("impact", "current_actions")
INCIDENT_FILLS = {"impact": "Impact", "current_actions": "Current actions", "channel": "Coordination channel",
                  **{value: ROLES[role] for value, role in ROLE_OF_VALUE.items()}}


def _ask_missing(app: OctoApp, template: CommsTemplate, owner: Release | Incident, missing: list[str],
                 post: bool = False) -> None:
    """Fill now, or copy (`post`: post) anyway, recorded as such."""
    names = ", ".join(missing)
    choices: list[tuple[str, str]] = []
    in_form = [name for name in missing if name in UPDATE_FORM_FIELDS]
    if isinstance(owner, Incident) and template.sends_update and in_form:
        labels = ", ".join(INCIDENT_FILLS[name].lower() for name in in_form)
        choices.append(("form", f"Fill {labels} in the status-update form ({'sends' if post else 'copies'} when saved)"))
        missing_elsewhere = [name for name in missing if name not in UPDATE_FORM_FIELDS]
    else:
        missing_elsewhere = missing
    if isinstance(owner, Incident):
        choices += [(name, f"Fill {INCIDENT_FILLS[name].lower()} now") for name in missing_elsewhere if name in INCIDENT_FILLS]
    elif any(spec.key in missing for spec in app.workspace.playbook.fields.get("release-notes", [])):
        choices.append(("notes", "Fill the release notes fields now"))
    if post:
        choices.append(("anyway", f"Post anyway, with the gaps marked ⟦…⟧ (recorded with missing: {names})"))
    else:
        choices.append(("anyway", f"Copy anyway (recorded as sent with missing: {names})" if template.records_copy
                        else "Copy anyway, with the gaps marked ⟦…⟧"))

    def then(result: object) -> None:  # the copy continues once the gap is filled
        if result is not None:
            _copy_again(app, template, owner, post)

    def chosen(value: str | None) -> None:
        if value == "anyway" and post:
            from octotui.ui.posting import post_template
            post_template(app, template, owner, allow_missing=True)
        elif value == "anyway":
            copy_template(app, template, owner, allow_missing=True)
        elif value == "form" and isinstance(owner, Incident):
            open_status_update(app, owner, template, focus=in_form[0])
        elif value == "notes" and isinstance(owner, Release):
            app.push_screen(release_notes_form(app, owner), then)
        elif value and isinstance(owner, Incident):
            app.push_screen(fill_incident_form(app, owner, value), then)

    app.push_screen(ChoiceScreen(f"{template.title}: missing {names}", choices), chosen)


def _copy_again(app: OctoApp, template: CommsTemplate, owner: Release | Incident, post: bool = False) -> None:
    fresh = app.workspace.release(owner.id) if isinstance(owner, Release) else app.workspace.incident(owner.id)
    if fresh is not None and post:
        from octotui.ui.posting import post_template
        post_template(app, template, fresh)
    elif fresh is not None:
        copy_template(app, template, fresh)


def fill_incident_form(app: OctoApp, incident: Incident, name: str) -> FormScreen:
    """One field of an incident, asked for where a text needs it."""
    workspace = app.workspace
    if name in ROLE_OF_VALUE:
        role = ROLE_OF_VALUE[name]
        return prompt(f"{ROLES[role]} for {incident.key}", "Name",
                      lambda text: workspace.assign_role(incident.id, role, text), value=incident.roles.get(role, ""))
    if name == "impact":
        return prompt(f"Impact of {incident.key}", "Who or what is affected, how much",
                      lambda text: workspace.set_impact(incident.id, text), value=incident.impact)
    if name == "channel":
        return prompt(f"Coordination channel of {incident.key}", "Where the team talks (e.g. #inc-checkout)",
                      lambda text: workspace.set_channel(incident.id, text), value=incident.channel)
    return prompt(f"Current actions for {incident.key}", "What is being done now",
                  lambda text: workspace.set_current_actions(incident.id, text), value=incident.current_actions)


def release_notes_form(app: OctoApp, release: Release) -> FormScreen:
    workspace = app.workspace
    derived = release_values(release, workspace)
    fields = [FormField(spec.key, spec.label + (" — one item per line" if spec.key in LIST_NOTES else ""),
                        value=release.notes.get(spec.key, ""), kind="text" if spec.key in LIST_NOTES else "input",
                        placeholder=derived.get(spec.key, "") if spec.key not in release.notes else "")
              for spec in workspace.playbook.fields.get("release-notes", [])]
    return FormScreen(Text(f"Release notes — {release.key} {release.version}"), fields,
                      lambda values: workspace.set_release_notes(release.id, values))


NEXT_UPDATE_CHOICES = (15, 30, 60)


def open_status_update(app: OctoApp, incident: Incident, template: CommsTemplate, focus: str | None = None) -> None:
    """Status, impact, current actions and the next update in one form; saving records the update, sets the
    due time the text names, and copies the text rendered from the saved state."""
    workspace = app.workspace
    cadence = workspace.settings.update_interval(incident.severity)
    default_next = int(cadence.total_seconds() // 60) if cadence else 30
    minutes = sorted({*NEXT_UPDATE_CHOICES, default_next})
    # The two choices first; the texts last, so Enter walks impact → current actions → copy.
    fields = [
        FormField("status", "Status", value=incident.status.value, kind="select",
                  options=[(status.value, status.value) for status in IncidentStatus]),
        FormField("next_update", "Next update in", value=str(default_next), kind="select",
                  options=[(f"{n} min" + ("  (cadence)" if n == default_next and cadence else ""), str(n)) for n in minutes]),
        FormField("impact", "Impact (who or what is affected)", value=incident.impact),
        FormField("current_actions", "Current actions (what is being done now)", value=incident.current_actions),
    ]
    posting = bool(workspace.settings.posting.route(template.name))
    if posting:  # "post to: incidents, stakeholders" next to copy (ui.posting); recorded once a destination accepts
        from octotui.ui.posting import post_choices, post_saved_update

        choices = post_choices(app, template)
        fields.insert(2, FormField("send", "Send", value=choices[0][1], kind="select", options=choices))
    chosen: dict[str, str] = {}

    def submit(values: dict[str, str]) -> Incident:
        chosen.update(values)
        draft = incident.model_copy(update={"status": IncidentStatus(values["status"]), "impact": values["impact"].strip(),
                                            "current_actions": values["current_actions"].strip()})
        missing = tuple(render(template, draft, workspace).missing)
        return workspace.send_status_update(
            incident.id, status=values["status"], impact=values["impact"], current_actions=values["current_actions"],
            next_in_minutes=int(values["next_update"]), template_title=template.title,
            confirm=values.get("_confirmed") == "yes", missing=missing, record=values.get("send", "copy") == "copy")

    def sent(saved: Incident | None) -> None:
        if saved is not None and chosen.get("send", "copy") != "copy":
            post_saved_update(app, template, saved, int(chosen["next_update"]), chosen["send"].split(","))
        elif saved is not None:
            app.copy_text(render(template, saved, workspace).text, template.title)

    form = FormScreen(Text(f"Status update — {incident.key} ") + literal(incident.title), fields, submit,
                      focus=focus or "impact",
                      hint=("Enter: next field (sends on the last) · Ctrl+S: send (post asks first) · Esc: cancel"
                            if posting else "Enter: next field (copies on the last) · Ctrl+S: copy and record · Esc: cancel"))
    app.push_screen(form, sent)
