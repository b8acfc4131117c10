"""`octotui export data`: the whole database as plain JSON that stock TinyDB opens.

One JSON object of tables (`releases`, `incidents`, `decisions`), each `{"1": document, ...}` as TinyDB's
JSONStorage keeps them, so `TinyDB(PATH).table("releases").all()` reads it. Each document is the whole record
with its history nested (checklist runs with every event, the timeline, decision edits), its id as people
write it ("REL-3"), and the times the metrics use (`production_at`, `rolled_back_at`, each update's `due_at`).
"""

from __future__ import annotations

import json
from typing import Any

from octotui.services.reports import incident_facts, release_facts
from octotui.services.workspace import Workspace


def _time(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def export_data(workspace: Workspace) -> dict[str, dict[str, dict[str, Any]]]:
    snapshot, settings = workspace.store.snapshot, workspace.settings
    releases: dict[str, dict[str, Any]] = {}
    for row in sorted(workspace.board_rows(), key=lambda row: row.id):
        release = workspace.release(row.id)
        doc = snapshot.get("releases", row.id)
        if release is None or doc is None:
            continue
        facts = release_facts(snapshot, row.id, doc, None)
        body = release.model_dump(mode="json")
        body.update(id=release.key, stage=release.stage.value, incident_ids=[f"INC-{n}" for n in release.incident_ids],
                    decision_ids=[f"DEC-{n}" for n in release.decision_ids],
                    production_at=_time(facts.production_at) if facts else None,
                    rolled_back_at=_time(facts.rolled_back_at) if facts else None)
        releases[str(row.id)] = body
    incidents: dict[str, dict[str, Any]] = {}
    for incident in sorted(workspace.incidents(), key=lambda incident: incident.id):
        doc = snapshot.get("incidents", incident.id)
        found = incident_facts(snapshot, incident.id, doc, settings, None) if doc is not None else None
        body = incident.model_dump(mode="json")
        body.update(id=incident.key, release_ids=[f"REL-{n}" for n in incident.release_ids],
                    decision_ids=[f"DEC-{n}" for n in incident.decision_ids],
                    updates=[{"at": _time(update.at), "due_at": _time(update.due_at)}
                             for update in (found.updates if found else ())])
        incidents[str(incident.id)] = body
    decisions = {}
    for decision in sorted(workspace.decisions().values(), key=lambda decision: decision.id):
        body = decision.model_dump(mode="json")
        body.update(id=decision.key, release_ids=[f"REL-{n}" for n in decision.release_ids],
                    incident_ids=[f"INC-{n}" for n in decision.incident_ids])
        decisions[str(decision.id)] = body
    return {"releases": releases, "incidents": incidents, "decisions": decisions}


def export_data_text(workspace: Workspace) -> str:
    """ASCII JSON: no byte of anyone's text can act on a terminal it is printed to."""
    return json.dumps(export_data(workspace), indent=1, allow_nan=False) + "\n"
