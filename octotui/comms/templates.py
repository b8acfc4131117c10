"""Communication templates: Markdown with `$placeholders`, filled from live state.

`string.Template` only substitutes names; no code in a template can run. A value that is not
known stays visible as a marked placeholder, and the fill reports which ones are missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from string import Template
from typing import Literal

from octotui.comms.source import RecordSource
from octotui.domain.clock import format_minutes
from octotui.domain.config import ConfigProblem, data_path
from octotui.domain.deployments import production_at
from octotui.domain.models import Incident, IncidentStatus, Release
from octotui.domain.playbook import FieldSpec
from octotui.domain.roles import ChecklistRole
from octotui.domain.stages import Stage
from octotui.domain.text import plain, visible

_HEADER = re.compile(r"^<!--\s*octotui:(.*?)-->\s*\n?", re.DOTALL)
MISSING = "⟦{}⟧"


class TemplateError(ConfigProblem, ValueError):
    pass


@dataclass(frozen=True)
class CommsTemplate:
    name: str  # file stem, e.g. "incident-update"
    title: str
    context: Literal["release", "incident"]
    body: str
    sends_update: bool = False
    path: str = ""
    fact: str = ""  # what copying it tells the app happened (`update`, `resolution`): ticks `auto:` items

    @property
    def records_copy(self) -> bool:
        return self.context == "incident" and bool(self.sends_update or self.fact)


@dataclass
class Filled:
    template: CommsTemplate
    text: str
    missing: list[str] = field(default_factory=list)
    edited: bool = False
    # What makes the text untrue now although every value is there (a promise already past, a resolution
    # for an incident that is not resolved): the pane shows it, export exits 3 for it.
    problems: list[str] = field(default_factory=list)


def parse_template(name: str, source: str, path: str = "") -> CommsTemplate:
    match = _HEADER.match(source)
    if not match:
        raise TemplateError(f"{path or name}:1: first line must be <!-- octotui: title=...; context=release|incident -->")
    options = {}
    for part in match.group(1).split(";"):
        key, _, value = part.partition("=")
        if key.strip():
            options[key.strip()] = value.strip()
    if options.get("context") not in ("release", "incident"):
        raise TemplateError(f"{path or name}:1: context must be release or incident")
    context: Literal["release", "incident"] = "release" if options["context"] == "release" else "incident"
    return CommsTemplate(name=name, title=options.get("title") or name, context=context,
                         body=source[match.end():], sends_update=options.get("sends_update") == "yes", path=path,
                         fact=options.get("fact") or ("update" if options.get("sends_update") == "yes" else ""))


def load_templates(override_dir: Path | None = None) -> dict[str, CommsTemplate]:
    """Bundled templates, each replaced by a same-named file in `override_dir` (extra files add)."""
    templates: dict[str, CommsTemplate] = {}
    sources = [data_path("templates")] + ([override_dir] if override_dir else [])
    for directory in sources:
        if directory is not None and not directory.is_dir():
            raise TemplateError(f"{directory}: templates folder not found")
        for file in sorted(directory.glob("*.md")):
            if not file.is_file():  # a FIFO would block the read forever; a folder or device is no template
                raise TemplateError(f"{file}: not a regular file")
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise TemplateError(f"{file}: cannot read ({error})") from None
            templates[file.stem] = parse_template(file.stem, text, str(file))
    return templates


def fill(template: CommsTemplate, values: dict[str, str]) -> Filled:
    body = Template(template.body)
    used = body.get_identifiers()
    missing = [name for name in used if not values.get(name, "").strip()]
    complete = {name: visible(values[name]) if name not in missing else MISSING.format(name) for name in used}
    for name in used:
        # Composite values (the guide's field lists) carry their own markers; report what they lack too.
        if name.endswith("_fields"):
            missing += [m for m in re.findall(r"⟦(\w+)⟧", values.get(name, "")) if m not in missing]
    return Filled(template, body.safe_substitute(complete), missing)


def _field_lines(fields: list[FieldSpec], values: dict[str, str]) -> str:
    """`- Label: value`; a value of several lines (a list) goes under its label, indented."""
    lines = []
    for spec in fields:
        value = values.get(spec.key, "").strip() or MISSING.format(spec.key)
        if "\n" in value:
            lines.append(f"- {spec.label}:\n" + "\n".join(f"  {line}" for line in value.splitlines()))
        else:
            lines.append(f"- {spec.label}: {value}")
    return "\n".join(lines)


SHIPPED = (Stage.PRODUCTION, Stage.VERIFIED)


def _availability(release: Release, stage: Stage, workspace: RecordSource) -> tuple[str, str]:
    """(subject word, sentence) for the announcement: the wording follows the release's stage."""
    shipped = production_at(release)
    kind = f"{release.type.value} release"
    target = release.target_date.isoformat() if release.target_date else ""
    if stage is Stage.ROLLING_BACK:  # the subject says what the sentence says: not "Rolled back" while it rolls
        return "Rolling back", f"is being rolled back ({kind})"
    if stage is Stage.ROLLED_BACK:
        return "Rolled back", f"was rolled back ({kind})"
    if stage in SHIPPED and shipped is not None:
        return "Released", f"is live (since {workspace.people_time(shipped)}, {kind})"
    if stage is Stage.CANCELLED:
        return "Cancelled", f"was cancelled ({kind}): {release.cancel_reason or 'no reason given'}"
    when = f"is scheduled for {target}" if target else "is planned, no date set yet"
    return "Upcoming", f"{when} ({kind}, now {stage.value})"


def release_values(release: Release, workspace: RecordSource) -> dict[str, str]:
    notes = release.notes
    stage = workspace.stage(release)
    shipped = production_at(release)
    target = release.target_date.isoformat() if release.target_date else ""
    headline, availability = _availability(release, stage, workspace)
    known_good = workspace.last_known_good(release)
    values = {
        "release_key": release.key, "version": release.version, "title": release.title,
        "release_type": release.type.value, "captain": release.captain, "target_date": target,
        "stage": stage.value, "rollback_reason": release.rollback_reason,
        "incidents": ", ".join(f"INC-{n}" for n in release.incident_ids) or "none",
        "release_name_number": f"{release.version} — {release.title}",
        "date": shipped.astimezone(workspace.settings.zone).date().isoformat() if shipped else target,
        "headline": headline, "availability": availability,
        "last_known_good": f"{known_good.version} ({known_good.key})" if known_good else "",
        **{key: value for key, value in notes.items() if value.strip()},
    }
    if shipped:  # the production date wins over a date typed before the release shipped
        values["date"] = shipped.astimezone(workspace.settings.zone).date().isoformat()
    values["release_notes_fields"] = _field_lines(workspace.playbook.fields.get("release-notes", []), values)
    return values


STATUS_SENTENCE = {
    IncidentStatus.INVESTIGATING: "We are investigating an incident.",
    IncidentStatus.IDENTIFIED: "We have identified the cause and are working on a fix.",
    IncidentStatus.MITIGATED: "A mitigation is in place; we are confirming that service is back to normal.",
    IncidentStatus.MONITORING: "A fix is in place and we are monitoring the results.",
    IncidentStatus.RESOLVED: "The incident is resolved.",
}


def incident_values(incident: Incident, workspace: RecordSource) -> dict[str, str]:
    now = workspace.now()
    due = workspace.next_update_due(incident)
    when = workspace.people_time
    releases = [r for n in incident.release_ids if (r := workspace.release(n)) is not None]

    def took(name: str) -> str:
        moment = getattr(incident, name)
        return format_minutes(moment - incident.started_at) if moment else ""

    decisions = [d for n in incident.decision_ids if (d := workspace.decision(n)) is not None]
    retro = workspace.retro_deadline(incident)
    values = {
        "incident_id": incident.key, "title": incident.title, "severity": incident.severity.value,
        "status": incident.status.value, "status_sentence": STATUS_SENTENCE[incident.status], "impact": incident.impact,
        "start_time": when(incident.started_at),
        "incident_commander": incident.roles.get("commander", ""),
        "comms_lead": incident.roles.get("comms", ""), "tech_lead": incident.roles.get("tech", ""),
        "channel": incident.channel,
        "current_actions": incident.current_actions,
        "next_update_time": _next_update(incident, due, workspace),
        "join_channel": f"Please join {incident.channel}." if incident.channel.strip() else "Please join the incident channel.",
        "elapsed": format_minutes(incident.elapsed(now)),
        "acknowledged_time": when(incident.acknowledged_at) or "not acknowledged",
        "mitigated_time": when(incident.mitigated_at) or "not mitigated",
        "resolved_time": when(incident.resolved_at) or "not resolved",
        "time_to_acknowledge": took("acknowledged_at") or "not acknowledged",
        "time_to_mitigate": took("mitigated_at") or "not recorded",
        "time_to_resolve": took("resolved_at") or "—",
        "retro_deadline": when(retro) if retro else "48 hours after resolution (not resolved yet)",
        "release": ", ".join(f"{r.key} {r.version} — {r.title}" for r in releases) or "none",
        "latest_event": _latest(incident),
        "timeline": "\n".join(f"- {when(e.at)} ({e.author}) {'Follow-up: ' if e.kind == 'followup' else ''}{e.text}"
                              for e in sorted(incident.timeline, key=lambda e: e.at)),
        "decisions": "\n".join(f"- {d.key} ({d.status_label()}): {d.title} — {d.decision}" for d in decisions)
                     or "None recorded.",
        "severity_changes": "\n".join(f"- {when(e.at)} {e.text}" for e in incident.timeline if e.kind == "severity")
                            or f"None: {incident.severity.value} throughout.",
        "linked_releases": _linked_releases(incident, releases, workspace) or "None.",
        "followups": "\n".join(f"- [ ] {text}" for text in followups(incident, workspace)) or "None recorded.",
    }
    missed = [e for e in sorted(incident.timeline, key=lambda e: e.at) if e.kind == "promise"]
    lines = [f"- {when(e.at)} {e.text}" for e in missed]
    if due is not None and due <= now:
        lines.append(f"- {when(now)} Update promised by {when(due)} is overdue (not sent yet)")
    values["missed_updates"] = "\n".join(lines) or "None: every promised update went out by its time."
    values["action_items"] = values["followups"]
    values["incident_communication_fields"] = _field_lines(workspace.playbook.fields.get("incident-communication", []), values)
    return values


def _next_update(incident: Incident, due: datetime | None, workspace: RecordSource) -> str:
    """The promise a text makes: never a past time as if it were still ahead."""
    if due is None:
        return "none (resolved)" if not incident.open else f"none scheduled for {incident.severity.value}"
    now = workspace.now()
    if due > now:
        return workspace.people_time(due)
    interval = workspace.settings.update_interval(incident.severity) or timedelta(minutes=30)
    return (f"overdue (was due {workspace.people_time(due)}); next update by "
            f"{workspace.people_time(now + interval)}")


def problems(template: CommsTemplate, owner: Release | Incident, workspace: RecordSource) -> list[str]:
    """Why a filled text would say something untrue if it went out now."""
    if not isinstance(owner, Incident):
        return []
    found = []
    if template.fact == "resolution" and owner.open:
        found.append(f"{owner.key} is {owner.status.value}, not Resolved: resolve it first (s), or send a status update")
    due = workspace.next_update_due(owner)
    names_promise = "next_update_time" in template.body or "incident_communication_fields" in template.body
    if names_promise and due is not None and due <= workspace.now():
        found.append(f"the promised update time {workspace.people_time(due)} has passed: the update is overdue")
    return found


def _linked_releases(incident: Incident, releases: list[Release], workspace: RecordSource) -> str:
    lines = []
    for release in releases:
        lines.append(f"- {release.key} {release.version} — {release.title} ({workspace.stage(release).value})")
        for role in (ChecklistRole.HOTFIX, ChecklistRole.ROLLBACK):
            run = release.runs.get(role)
            if run is None or release.run_incidents.get(role, incident.id) != incident.id:
                continue
            extra = f"; reason: {release.rollback_reason}" if role == ChecklistRole.ROLLBACK and release.rollback_reason else ""
            lines.append(f"  - {run.name}: {run.progress_label()} done, started {workspace.people_time(run.started_at)}{extra}")
    return "\n".join(lines)


def followups(incident: Incident, workspace: RecordSource) -> list[str]:
    """What is left to do after the incident: notes flagged as follow-ups, and the guide's follow-up items
    (`followup:` in the guide) still open on the runs that served it. Never an item the app saw done."""
    found = [e.text for e in sorted(incident.timeline, key=lambda e: e.at) if e.kind == "followup"]
    for ref in workspace.incident_runs(incident):
        run = workspace.run(ref)
        for item in run.items if run else []:
            if item.followup and not item.settled and plain(item.text) not in found:
                found.append(plain(item.text))
    return found


def _latest(incident: Incident, kinds: tuple[str, ...] = ()) -> str:
    events = [e for e in incident.timeline if not kinds or e.kind in kinds]
    return max(events, key=lambda e: e.at).text if events else ""


def render(template: CommsTemplate, owner: Release | Incident, workspace: RecordSource) -> Filled:
    """The text to show and copy: the person's edit if there is one, else the live fill."""
    values = release_values(owner, workspace) if isinstance(owner, Release) else incident_values(owner, workspace)
    filled = fill(template, values)
    edited = owner.comms.get(template.name)
    if edited is not None:  # stored text, typed by anyone on the team: through the display boundary like a fill
        edited = visible(edited)
        filled = Filled(template, edited, [name for name in filled.missing if MISSING.format(name) in edited], edited=True)
    filled.problems = problems(template, owner, workspace)
    return filled
