"""Flows more than one screen starts: the release form, the rollback flow, the decision form, copying a
template (with what it lacks), the status-update form. Screens import these, never each other."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from rich.text import Text

from octotui.comms.templates import CommsTemplate, Filled, release_values, render
from octotui.domain import lifecycle
from octotui.domain.inputs import CHOOSABLE_STATUSES, InputError, NeedsConfirmation
from octotui.domain.models import ROLES, ROLLBACK_FROM, Incident, IncidentStatus, Release, parse_key
from octotui.domain.quoting import quoted
from octotui.domain.roles import ChecklistRole
from octotui.domain.semver import ReleaseType
from octotui.domain.text import plain
from octotui.services import deployments
from octotui.services.delivery import (
    describe_places,
    draft_after_update,
    places_from_copy,
    promise_for,
    record_delivered,
)
from octotui.services.releases import LIST_NOTES, EditConflict, form_values, version_fixed
from octotui.ui.forms import ChoiceScreen, ConfirmScreen, FormField, FormScreen, prompt
from octotui.ui.widgets import FieldError, literal

if TYPE_CHECKING:
    from octotui.comms.clipboard import CopyOutcome
    from octotui.ui.handle import Octo as OctoApp


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
            FormField("version", "Version (SemVer)" + (" — fixed: past Gate passed, make a new release for another"
                                                       if version_fixed(release) else ""), value=release.version),
            FormField("title", "Title", value=release.title),
            FormField("type", "Type", value=release.type.value, kind="select", options=types),
            FormField("captain", "Captain", value=release.captain),
            FormField("target_date", "Target date (YYYY-MM-DD, optional)",
                      value=release.target_date.isoformat() if release.target_date else ""),
        ]

    read = form_values(release) if release is not None else {}  # what this form showed: edits are against it

    def submit(values: dict[str, str]) -> Release:
        confirm = values.pop("_confirmed", "") == "yes"
        if release is not None:
            return workspace.update_release(release.id, confirm=confirm, read=dict(read), **values)
        incident_text = values.pop("incident", "").strip()
        incident_id = parse_key(incident_text, "INC") if incident_text else None
        if incident_text and incident_id is None:
            raise InputError({"incident": f"{quoted(incident_text)} is not an incident (INC-n)"})
        return workspace.create_release(hotfix=hotfix, followup_of=followup_of, incident_id=incident_id,
                                        confirm=confirm, **values)

    def changed(form: FormScreen, name: str, value: str) -> None:
        if name not in ("version", "type"):
            return  # the type's warning reads these two only (it reads every release on the board)
        if name == "version" and release is None:
            suggested = workspace.suggest_type(value)
            if suggested is not None and not hotfix:
                form.set_value("type", suggested.value)
        values = form.values()
        form.warn("type", workspace.type_warning(values["version"], values["type"], release.id if release else None))

    def refused(form: FormScreen, error: BaseException) -> bool:
        """Someone changed a field this edit changes too: keep mine (saved over theirs) or take theirs."""
        if not isinstance(error, EditConflict):
            return False

        def decide(keep_mine: bool | None) -> None:
            for conflict in error.conflicts:
                read[conflict.field] = conflict.theirs  # seen now: mine goes against theirs, or theirs stays
                if not keep_mine:
                    form.set_value(conflict.field, conflict.theirs)
            if keep_mine:
                form.action_save()
            else:
                form.query_one("#e-_form", FieldError).show("Took theirs: the form now shows their values; "
                                                              "Ctrl+S saves your other changes")
        app.push_screen(ConfirmScreen(str(error), yes="Keep mine", no="Take theirs"), decide)
        return True

    heading: str | Text = ("New hotfix release" if hotfix else "New release") if release is None \
        else Text(f"Edit {release.key}: ") + literal(release.title)
    return FormScreen(heading, fields, submit, on_change=changed, on_refused=refused)


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


NEW_INCIDENT, NO_INCIDENT, ASK = "new", "none", "ask"


def guide_lacks(app: OctoApp, role: ChecklistRole) -> bool:
    """A flow that needs a checklist the team's guide does not have says so in one line, before any form."""
    if app.workspace.playbook.has(role):
        return False
    app.notify(role.missing_text(), severity="warning", timeout=8)
    return True


def start_rollback_flow(app: OctoApp, release: Release, incident_id: int | None = None) -> None:
    """A reason and the incident the rollback serves (the one the release is linked to, else the active one,
    else asked; a new incident is an explicit choice, never the default), then the rollback checklist, on its
    first item. The last known-good release comes from the deployment history."""
    if guide_lacks(app, ChecklistRole.ROLLBACK):
        return
    if release.stage not in ROLLBACK_FROM:
        app.notify(f"{release.key} is {release.stage}: only a release in Staging or later can be rolled back",
                   severity="warning")
        return
    workspace = app.workspace
    open_incidents = workspace.open_incidents()
    open_ids = [i.id for i in open_incidents]
    linked = [n for n in release.incident_ids if n in open_ids]
    preferred = incident_id if incident_id is not None else (linked[-1] if linked else app.active_incident_id)
    open_incidents.sort(key=lambda incident: incident.id != preferred)

    def label(i: Incident) -> str:
        notes = [note for note, yes in (("linked", i.id in linked), ("active", i.id == app.active_incident_id)) if yes]
        return f"{i.key} {i.severity} {i.title[:50]}" + (f"  ({', '.join(notes)})" if notes else "")

    # Select options are (label, value).
    choices = [(label(i), str(i.id)) for i in open_incidents]
    choices += [("New incident (started after the rollback)", NEW_INCIDENT), ("No incident", NO_INCIDENT)]
    if open_incidents and preferred not in open_ids:
        choices.insert(0, ("Which incident does this rollback serve? (pick one)", ASK))
    known_good = deployments.known_good(workspace, release)

    def submit(values: dict[str, str]) -> tuple[Release, str]:
        chosen = values["incident"]
        if chosen == ASK:
            raise InputError({"incident": "pick the incident this rollback serves (or New / No incident)"})
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
            app.action_start_incident(release_id=release.id, for_run=ChecklistRole.ROLLBACK)

    heading = Text(f"Roll back {release.key} {release.version} — ") + literal(release.title)
    heading.append(f"\nLast known-good: {known_good.describe()}", style="dim")
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


def text_to_send(app: OctoApp, template: CommsTemplate, owner: Release | Incident) -> tuple[Filled, datetime | None]:
    """The text a copy sends and the promise it makes: an update is rendered from the incident as it will be
    once the update is recorded (its next update time is the one the text names)."""
    workspace = app.workspace
    if not (template.sends_update and isinstance(owner, Incident)):
        return render(template, owner, workspace), None
    promised = promise_for(workspace, owner)
    return render(template, draft_after_update(workspace, owner, promised), workspace), promised


def copy_template(app: OctoApp, template: CommsTemplate, owner: Release | Incident, *, allow_missing: bool = False) -> None:
    """Copy a filled template. A text with missing values asks first: fill them now, or copy anyway (recorded).
    A resolution for an incident that is not resolved offers the status update instead. A copy the incident
    keeps (an update, the resolution) is recorded only after the text reached somewhere, naming where."""
    if isinstance(owner, Incident) and template.fact == "resolution" and owner.open:
        _offer_update_instead(app, template, owner)
        return
    filled, promised = text_to_send(app, template, owner)
    if filled.missing and not allow_missing:
        _ask_missing(app, template, owner, filled.missing)
        return
    if app.read_only or not (template.records_copy and isinstance(owner, Incident)):  # read-only: copied, not recorded
        app.copy_text(filled.text, template.title)
        return
    deliver_and_record(app, template, owner, filled.text, promised, filled.missing)


def deliver_and_record(app: OctoApp, template: CommsTemplate, incident: Incident, text: str,
                       promised: datetime | None, missing: list[str] | tuple[str, ...] = ()) -> None:
    """Copy, then record what reached somewhere (services.delivery); a copy that reached nothing records
    nothing and says why, and the update stays due."""
    workspace = app.workspace

    def copied(outcome: CopyOutcome) -> None:
        places = places_from_copy(outcome)
        if not places:
            app.notify(f"{template.title} NOT sent: {outcome.message()}. Nothing recorded"
                       + ("; the update is still due." if template.sends_update else "."), severity="error", timeout=15)
            return

        def recorded(saved: Incident) -> None:
            due = workspace.next_update_due(saved)
            app.notify(f"{template.title}: {describe_places(places)}"
                       + (f". Recorded; next update by {workspace.people_time(due, with_date=False)}" if due and
                          template.sends_update else ". Recorded on the timeline"), timeout=8)

        app.run_command_async(record_delivered, workspace, incident.id, template, places, promised=promised,
                              missing=tuple(missing), on_success=recorded)

    app.copy_text(text, template.title, on_done=copied)


def _offer_update_instead(app: OctoApp, template: CommsTemplate, incident: Incident) -> None:
    update = app.templates.get("incident-update")
    choices = [("update", "Copy the status update instead")] if update is not None else []
    choices.append(("cancel", "Not now"))

    def chosen(value: str | None) -> None:
        if value == "update" and update is not None:
            copy_template(app, update, incident)

    app.push_screen(ChoiceScreen(f"{template.title}: {incident.key} is {incident.status.value}, not Resolved "
                                 "(resolve it first with s)", choices), chosen)


ROLE_OF_VALUE = {"incident_commander": "commander", "comms_lead": "comms", "tech_lead": "tech"}
UPDATE_FORM_FIELDS = ("impact", "current_actions")
INCIDENT_FILLS = {"impact": "Impact", "current_actions": "Current actions", "channel": "Coordination channel",
                  **{value: ROLES[role] for value, role in ROLE_OF_VALUE.items()}}


def post_template(app: OctoApp, template: CommsTemplate, owner: Release | Incident, *, allow_missing: bool = False) -> None:
    """`p`: the route's channels, the text as it will go out, a confirmation, then the outbox. Missing values
    ask first, as for copying: fill them now, or post anyway (recorded with what was missing)."""
    from octotui.services.outbox import PostRefused
    from octotui.ui.posting import confirm_and_post, outbox_runner

    runner = outbox_runner(app)
    outbox = runner.outbox
    if not outbox.channels.channels:
        app.notify("No channels are configured: y copies the text (channels: see the README)", severity="warning")
        return
    try:
        channels = outbox.destinations_for(template.name)
    except PostRefused as error:
        app.notify(f"{error}; y copies the text", severity="warning", timeout=8)
        return
    filled, names_due = outbox.preview(template, owner)
    if filled.missing and not allow_missing:
        _ask_missing(app, template, owner, filled.missing, post=True)
        return
    confirm_and_post(app, template, owner, channels, filled.text, list(filled.missing), names_due)


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
        choices.append(("anyway", f"Copy anyway (recorded with missing: {names}, once it reached somewhere)"
                        if template.records_copy else "Copy anyway, with the gaps marked ⟦…⟧"))

    def then(result: object) -> None:  # the copy continues once the gap is filled
        if result is not None:
            _copy_again(app, template, owner, post)

    def chosen(value: str | None) -> None:
        if value == "anyway" and post:
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
    # Focus on the first empty field a person writes: not on one the app derives (name, date) from the release.
    editable = [spec.name for spec in fields if not spec.placeholder and spec.name not in derived]
    focus = next((name for name in editable if not release.notes.get(name)), editable[0] if editable else None)
    return FormScreen(Text(f"Release notes — {release.key} {release.version}"), fields,
                      lambda values: workspace.set_release_notes(release.id, values), focus=focus)


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
        confirmed = values.get("_confirmed") == "yes"
        draft = incident.model_copy(update={"status": IncidentStatus(values["status"]), "impact": values["impact"].strip(),
                                            "current_actions": values["current_actions"].strip()})
        missing = render(template, draft, workspace).missing
        questions = []
        if missing:  # the question `y` asks: never a gap sent unasked
            labels = ", ".join(INCIDENT_FILLS.get(name, name).lower() for name in missing)
            questions.append(f"The update is missing: {labels}. Copy anyway (recorded as sent with missing: "
                             f"{', '.join(missing)})?")
        if draft.status is IncidentStatus.RESOLVED and incident.open:
            questions += [f"Resolve although {concern}?" for concern in workspace.resolve_concerns(incident, sending=True)]
        if questions and not confirmed:
            raise NeedsConfirmation("\n".join(questions) + "\nNot yet: back to the form.", careful=True)
        return workspace.send_status_update(
            incident.id, status=values["status"], impact=values["impact"], current_actions=values["current_actions"],
            next_in_minutes=int(values["next_update"]), confirm=confirmed)

    def sent(saved: Incident | None) -> None:
        if saved is None:
            return
        if chosen.get("send", "copy") != "copy":  # posted: recorded once a destination accepts it
            post_saved_update(app, template, saved, int(chosen["next_update"]), chosen["send"].split(","))
            return
        promised = promise_for(workspace, saved, int(chosen["next_update"]))
        filled = render(template, draft_after_update(workspace, saved, promised), workspace)
        deliver_and_record(app, template, saved, filled.text, promised, filled.missing)

    form = FormScreen(Text(f"Status update — {incident.key} ") + literal(incident.title), fields, submit,
                      focus=focus or "impact",
                      hint=("Enter: next field (sends on the last) · Ctrl+S: send (post asks first) · Esc: cancel"
                            if posting else "Enter: next field (copies on the last) · Ctrl+S: copy and record · Esc: cancel"))
    app.push_screen(form, sent)


def copy_release_report(app: OctoApp) -> None:
    """The report of the release the screen shows (Comms' "For:", the checklist's, the board's selection)."""
    from octotui.comms.reports import release_report

    shown = getattr(app.screen, "shown_release", None)
    release = shown() if callable(shown) else None
    if release is None and app.selected_release_id is not None:
        release = app.workspace.release(app.selected_release_id)
    if release is None:
        app.notify("Select a release first (board: 1)", severity="warning")
        return
    app.copy_text(release_report(release, app.workspace), f"Release report {release.key}")
