"""An honest resolve: everything still unfinished about an incident, said before it is resolved.

Textual-free; the workspace asks it inside the resolve command, the UI shows the list and defaults to Cancel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from octotui.domain.models import Incident
from octotui.domain.roles import ChecklistRole

if TYPE_CHECKING:
    from octotui.services.records import Reads


def open_promise(incident: Incident) -> bool:
    """Whether stakeholders were told a next update time (an update named one, or a snooze moved it)."""
    return incident.last_update_at is not None or incident.next_update_at is not None


def resolve_concerns(workspace: Reads, incident: Incident, *, sending: bool = False) -> list[str]:
    """What a person should hear before resolving, one line each: unfinished rollback / hotfix runs that
    serve the incident, an open monitoring window, an overdue update or a promised one still open (unless
    `sending`: the resolve comes with an update, which keeps it), no acknowledgement, no update ever sent,
    no mitigation time, open escalation items."""
    concerns = []
    now = workspace.now()
    for ref in workspace.incident_runs(incident):
        run = workspace.run(ref)
        if ref.owner == "release" and run is not None and not run.complete:
            concerns.append(f"REL-{ref.owner_id}'s {run.name} is unfinished ({run.progress_label()} done)")
    window = workspace.monitoring_ends(incident)
    if window is not None and window > now:
        concerns.append(f"the monitoring window is still open (ends {workspace.people_time(window, with_date=False)})")
    due = workspace.next_update_due(incident)
    if due is not None and due <= now:
        concerns.append(f"the update promised by {workspace.people_time(due, with_date=False)} is overdue "
                        "(recorded as missed)")
    elif due is not None and not sending and open_promise(incident):
        concerns.append(f"the update promised by {workspace.people_time(due, with_date=False)} is still open "
                        "(recorded as missed)")
    if incident.acknowledged_at is None:
        concerns.append("nobody acknowledged it (it stays unacknowledged)")
    if incident.last_update_at is None and not any(e.kind == "update" for e in incident.timeline):
        concerns.append("no status update was ever sent")
    if incident.mitigated_at is None:
        concerns.append("no mitigation time is recorded (it stays empty; m sets it)")
    escalation = incident.runs.get(ChecklistRole.ESCALATION)
    if escalation is not None and escalation.remaining():
        concerns.append(f"{len(escalation.remaining())} of {len(escalation.items)} escalation items are open")
    return concerns
