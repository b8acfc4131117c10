"""Bulk data for scale tests and the benchmark: written straight through one store transaction."""

from __future__ import annotations

from datetime import timedelta

from tinydb.table import Document

from octotui.domain.models import ChecklistRun, Decision, Incident, Release, Severity
from octotui.services.workspace import Workspace


def bulk_decisions(workspace: Workspace, count: int, start: int = 1) -> None:
    now = workspace.now()
    documents = []
    for number in range(start, start + count):
        decision = Decision(id=number, created_at=now - timedelta(hours=count - number), date=now.date(),
                            title=f"Decision {number} about service {number % 37}",
                            context=f"Context for {number}: latency budget and rollout {number % 11}",
                            decision=f"We choose option {number % 3}", owner=f"owner{number % 7}",
                            alternatives="A\nB", consequences="Some")
        documents.append(Document(decision.model_dump(mode="json"), doc_id=number))
    with workspace.store.transaction() as db:
        db.table("decisions").insert_multiple(documents)  # one table rebuild, not one per document


def bulk_team(workspace: Workspace, releases: int, incidents: int, decisions: int) -> None:
    """A team's years of data: releases with runs, incidents with timelines, decisions."""
    now = workspace.now()
    playbook = workspace.playbook
    release_docs, incident_docs = [], []
    for number in range(1, releases + 1):
        runs = {role: ChecklistRun.from_spec(playbook.by_role(role), now) for role in ("gate", "deployment")}
        release = Release(id=number, version=f"{number // 100}.{number % 100}.0", type="minor",
                          title=f"Release {number}", captain="cap", created_at=now, runs=runs)
        release_docs.append(Document(release.model_dump(mode="json"), doc_id=number))
    for number in range(1, incidents + 1):
        incident = Incident(id=number, title=f"Incident {number}", severity=Severity.P2, started_at=now,
                            resolved_at=now, status="Resolved",
                            runs={"escalation": ChecklistRun.from_spec(playbook.by_role("escalation"), now)})
        for minute in range(10):
            workspace._timeline(incident, "note", f"note {minute}", at=now)
        incident_docs.append(Document(incident.model_dump(mode="json"), doc_id=number))
    with workspace.store.transaction() as db:
        db.table("releases").insert_multiple(release_docs)
        db.table("incidents").insert_multiple(incident_docs)
    if decisions:
        bulk_decisions(workspace, decisions)
