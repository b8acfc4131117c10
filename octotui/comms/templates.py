"""Communication templates: Markdown with `$placeholders`, filled from live state.

`string.Template` only substitutes names; no code in a template can run. A value that is not
known stays visible as a marked placeholder, and the fill reports which ones are missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Literal

from octotui.domain.clock import format_duration, local_time
from octotui.domain.models import Incident, ItemState, Release
from octotui.domain.playbook import FieldSpec, data_path
from octotui.domain.text import visible

_HEADER = re.compile(r"^<!--\s*octotui:(.*?)-->\s*\n?", re.DOTALL)
MISSING = "⟦{}⟧"


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class CommsTemplate:
    name: str  # file stem, e.g. "incident-update"
    title: str
    context: Literal["release", "incident"]
    body: str
    sends_update: bool = False
    path: str = ""


@dataclass
class Filled:
    template: CommsTemplate
    text: str
    missing: list[str] = field(default_factory=list)
    edited: bool = False


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
                         body=source[match.end():], sends_update=options.get("sends_update") == "yes", path=path)


def load_templates(override_dir: Path | None = None) -> dict[str, CommsTemplate]:
    """Bundled templates, each replaced by a same-named file in `override_dir` (extra files add)."""
    templates: dict[str, CommsTemplate] = {}
    sources = [data_path("templates")] + ([override_dir] if override_dir else [])
    for directory in sources:
        if directory is not None and not directory.is_dir():
            raise TemplateError(f"{directory}: templates folder not found")
        for file in sorted(directory.glob("*.md")):
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
    return "\n".join(f"- {spec.label}: {values.get(spec.key, '').strip() or MISSING.format(spec.key)}"
                     for spec in fields)


def release_values(release: Release, workspace) -> dict[str, str]:
    notes = release.notes
    target = release.target_date.isoformat() if release.target_date else ""
    values = {
        "release_key": release.key, "version": release.version, "title": release.title,
        "release_type": release.type.value, "captain": release.captain, "target_date": target,
        "stage": release.stage.value, "rollback_reason": release.rollback_reason,
        "incidents": ", ".join(f"INC-{n}" for n in release.incident_ids),
        "release_name_number": f"{release.version} — {release.title}",
        "date": target,
        **{key: value for key, value in notes.items() if value.strip()},
    }
    values["release_notes_fields"] = _field_lines(workspace.playbook.fields.get("release-notes", []), values)
    return values


def incident_values(incident: Incident, workspace) -> dict[str, str]:
    now = workspace.now()
    due = workspace.next_update_due(incident)
    release = workspace.release(incident.release_id) if incident.release_id else None

    def took(name: str) -> str:
        moment = getattr(incident, name)
        return format_duration(moment - incident.started_at) if moment else ""

    decisions = [workspace.decision(n) for n in incident.decision_ids]
    open_items = [f"- [ ] {item.text}" for ref in workspace.incident_runs(incident)
                  for item in (workspace.run(ref).items if workspace.run(ref) else []) if item.state is ItemState.TODO]
    retro = workspace.retro_deadline(incident)
    values = {
        "incident_id": incident.key, "title": incident.title, "severity": incident.severity.value,
        "status": incident.status.value, "impact": incident.impact,
        "start_time": local_time(incident.started_at),
        "incident_commander": incident.roles.get("commander", ""),
        "comms_lead": incident.roles.get("comms", ""), "tech_lead": incident.roles.get("tech", ""),
        "current_actions": incident.current_actions or _latest(incident, kinds=("note",)),
        "next_update_time": local_time(due) if due else ("none (resolved)" if not incident.open else "none for this severity"),
        "elapsed": format_duration(incident.elapsed(now)),
        "acknowledged_time": local_time(incident.acknowledged_at) if incident.acknowledged_at else "",
        "mitigated_time": local_time(incident.mitigated_at) if incident.mitigated_at else "",
        "resolved_time": local_time(incident.resolved_at) if incident.resolved_at else "",
        "time_to_acknowledge": took("acknowledged_at"), "time_to_mitigate": took("mitigated_at"),
        "time_to_resolve": took("resolved_at"),
        "retro_deadline": local_time(retro) if retro else "",
        "release": f"{release.key} {release.version} — {release.title}" if release else "",
        "latest_event": _latest(incident),
        "timeline": "\n".join(f"- {local_time(e.at)} ({e.author}) {e.text}"
                              for e in sorted(incident.timeline, key=lambda e: e.at)),
        "decisions": "\n".join(f"- {d.key}: {d.title} — {d.decision}" for d in decisions if d),
        "action_items": "\n".join(open_items),
    }
    values["incident_communication_fields"] = _field_lines(workspace.playbook.fields.get("incident-communication", []), values)
    return values


def _latest(incident: Incident, kinds: tuple[str, ...] = ()) -> str:
    events = [e for e in incident.timeline if not kinds or e.kind in kinds]
    return max(events, key=lambda e: e.at).text if events else ""



def render(template: CommsTemplate, owner: Release | Incident, workspace) -> Filled:
    """The text to show and copy: the person's edit if there is one, else the live fill."""
    values = release_values(owner, workspace) if isinstance(owner, Release) else incident_values(owner, workspace)
    filled = fill(template, values)
    edited = owner.comms.get(template.name)
    if edited is not None:
        return Filled(template, edited, [name for name in filled.missing if MISSING.format(name) in edited], edited=True)
    return filled
