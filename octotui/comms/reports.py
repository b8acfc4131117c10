"""The release report: one Markdown document a change board or an auditor can read on its own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from octotui.comms.source import RecordSource
from octotui.domain import lifecycle
from octotui.domain.models import ChecklistEvent, ChecklistRun, Release
from octotui.domain.roles import ChecklistRole
from octotui.domain.stages import Stage
from octotui.domain.text import markdown_block, markdown_inline, plain

ACTION_WORDS = {"done": "checked", "todo": "unchecked", "na": "marked N/A", "note": "noted", "undo": "undid",
                "assign": "assigned", "due": "set due"}


def _stage_dates(release: Release) -> list[tuple[str, datetime | None]]:
    work = release.runs.get(release.work_role)
    gate = release.runs.get(ChecklistRole.GATE)
    rollback = release.runs.get(ChecklistRole.ROLLBACK)

    def reached(run: ChecklistRun | None, stage: str) -> datetime | None:
        return next((item.at for item in run.items if item.stage == stage and item.settled), None) if run else None

    def completed(run: ChecklistRun | None) -> datetime | None:
        return max((item.at for item in run.items if item.at), default=None) if run and run.complete else None

    finished = [completed(run) for run in (work, *(release.runs[key] for key in release.extra_keys()))]
    verified = max(at for at in finished if at is not None) if all(finished) else None  # the guide's own runs too
    rows = [("Planned (created)", release.created_at), ("Gate passed", completed(gate)),
            ("Staging", reached(work, "staging")), ("Production", reached(work, "production")),
            ("Verified", verified)]
    if rollback is not None:
        rows += [("Rolling back", rollback.started_at), ("Rolled back", completed(rollback))]
    if release.cancelled_at is not None:
        rows.append(("Cancelled", release.cancelled_at))
    return rows


def _event_line(run: ChecklistRun, event: ChecklistEvent, when: Callable[[datetime], str]) -> str:
    item = run.items[event.item] if event.item < len(run.items) else None
    text = markdown_inline(plain(item.text)) if item else f"item {event.item + 1}"
    line = f"| {when(event.at)} | {markdown_inline(event.author)} | {ACTION_WORDS[event.action]} | {text} |"
    details = []
    if event.action == "na" and event.after.na_reason:
        details.append(f"reason: {event.after.na_reason}")
    if event.action == "note":
        details.append(f"note: {event.after.note}")
    if event.action == "undo" and event.undoes:
        details.append(f"undoes change {event.undoes}")
    if event.action == "assign":
        details.append(f"to {event.after.owner or 'nobody'}")
    if event.action == "due":
        details.append(f"due {when(event.after.due) if event.after.due else 'none'}")
    if event.after.early and event.action == "done":
        details.append("early")
    if event.after.cause:
        details.append(event.after.cause)
    return line + f" {markdown_inline('; '.join(details)) or '—'} |"


def release_report(release: Release, workspace: RecordSource) -> str:
    when = workspace.people_time
    stage = workspace.stage(release)
    out = [f"# Release report: {markdown_inline(release.key)} {markdown_inline(release.version)} — "
           f"{markdown_inline(release.title)}", ""]
    facts = [("Type", release.type.value + (" (hotfix)" if release.hotfix else "")), ("Captain", release.captain or "—"),
             ("Target date", release.target_date.isoformat() if release.target_date else "—"),
             ("Stage now", stage.value + (" (locked)" if lifecycle.is_locked(release, stage) else "")),
             ("Created", f"{when(release.created_at)} by {release.created_by or '—'}")]
    if release.followup_of:
        facts.append(("Follow-up of", f"REL-{release.followup_of}"))
    out += [f"- **{label}:** {markdown_inline(value)}" for label, value in facts]
    out += ["", "## Stages", "", "| Stage | Reached |", "|---|---|"]
    out += [f"| {name} | {when(moment) if moment else '—'} |" for name, moment in _stage_dates(release)]
    for event in release.lifecycle:
        if event.action in ("cancel", "reopen"):
            out.append(f"| {event.action.capitalize()} (from {event.from_stage}) | {when(event.at)} by "
                       f"{markdown_inline(event.by)}: {markdown_inline(event.reason)} |")
        if event.action == "downgrade":
            out.append(f"| Deployed as a downgrade from {markdown_inline(event.reason)} | {when(event.at)} by "
                       f"{markdown_inline(event.by)} |")

    out += ["", "## Changes", ""]
    changes = [(edit.at, edit.by, f"{edit.field.replace('_', ' ')}: {edit.old or '—'} → {edit.new or '—'}")
               for edit in release.edits]
    changes += [(edit.at, edit.author, f"{d.key} {edit.describe()}") for n in release.decision_ids
                if (d := workspace.decision(n)) is not None for edit in d.history]
    out += [f"- {when(at)} {markdown_inline(by)}: {markdown_inline(text)}" for at, by, text in sorted(
        changes, key=lambda change: change[0])] or ["None since it was created."]

    out += ["", "## Gate", ""]
    gate = release.runs.get(ChecklistRole.GATE)
    if release.gate_override is not None:
        decision = workspace.decision(release.gate_override)
        out.append(f"Overridden by DEC-{release.gate_override}" + (f" ({decision.status_label()}): "
                   f"{markdown_inline(decision.title)} — {markdown_inline(decision.decision)}" if decision else ""))
    elif gate is not None and gate.complete:
        out.append(f"Passed: {gate.progress_label()} pre-release requirements done or N/A.")
    else:
        out.append(f"Not passed: {gate.progress_label() if gate else '0/0'} done.")
    if release.gate_override_pending is not None and release.gate_override is None:
        out.append(f"Override pending DEC-{release.gate_override_pending} (not accepted).")
    missing = workspace.signoffs_missing(release)
    signoffs = release.signoffs
    out += ["", "## Sign-offs", ""]
    out += [f"- {when(event.at)} {markdown_inline(event.by)}" + (f": {markdown_inline(event.reason)}" if event.reason else "")
            for event in signoffs] or ["None."]
    if missing and release.gate_override is None:
        out.append(f"- Awaiting {missing} more.")

    for role in release.run_order():
        run = release.runs[role]
        out += ["", f"## {markdown_inline(run.name)} ({run.progress_label()})", ""]
        if not run.history:
            out.append("No changes recorded.")
            continue
        out += ["| When | Who | Did | Item | Details |", "|---|---|---|---|---|"]
        out += [_event_line(run, event, when) for event in run.history]

    out += ["", "## Incidents and rollbacks", ""]
    incidents = [i for n in release.incident_ids if (i := workspace.incident(n)) is not None]
    out += [f"- {i.key} {i.severity} {i.status}: {markdown_inline(i.title)}"
            + (" (the rollback served it)" if release.run_incidents.get(ChecklistRole.ROLLBACK) == i.id else "") for i in incidents] \
        or ["None linked."]
    if release.rollback_reason:
        out.append(f"- Rollback reason: {markdown_inline(release.rollback_reason)}")
    known_good = workspace.last_known_good(release) if stage in (Stage.ROLLING_BACK, Stage.ROLLED_BACK) else None
    if known_good is not None:
        out.append(f"- Last known-good: {known_good.version} ({known_good.key})")

    out += ["", "## Decisions", ""]
    decisions = [d for n in release.decision_ids if (d := workspace.decision(n)) is not None]
    out += [f"- {d.key} ({d.status_label()}): {markdown_inline(d.title)} — {markdown_inline(d.decision)}"
            for d in decisions] or ["None."]

    out += ["", "## Release notes", ""]
    for spec in workspace.playbook.fields.get("release-notes", []):
        value = release.notes.get(spec.key, "").strip()
        out += [f"**{markdown_inline(spec.label)}**", "", markdown_block(value) if value else "—", ""]
    return "\n".join(out).rstrip() + "\n"
