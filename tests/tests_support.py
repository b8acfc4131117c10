"""Bulk data for scale tests and the benchmark: written straight through one unit of work."""

from __future__ import annotations

from datetime import timedelta

from tinydb.table import Document

from octotui.domain.models import ChecklistRun, Decision, Incident, Release, Severity, TimelineEvent
from octotui.services.records import document
from octotui.services.workspace import Workspace


def resealed(raw: bytes) -> bytes:
    """A snapshot edited by hand (to test what a start makes of a damaged index, say) with its checksum line
    made to match again: the edit is then taken for octotui's own writing."""
    import re
    import zlib

    match = re.search(rb'[,{]"~sum":([0-9]+)\}\}', raw)
    assert match is not None, "a sealed snapshot"
    body = raw[: match.start(1)]
    return body + str(zlib.crc32(body)).encode() + raw[match.end(1):]


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
    workspace.refresh()


def bulk_team(workspace: Workspace, releases: int, incidents: int, decisions: int, events_per_incident: int = 10) -> None:
    """A team's years of data: releases with runs, incidents with timelines (as events), decisions."""
    now = workspace.now()
    playbook = workspace.playbook
    release_docs, incident_docs = [], []
    for number in range(1, releases + 1):
        runs = {role: ChecklistRun.from_spec(playbook.by_role(role), now) for role in ("gate", "deployment")}
        release = Release(id=number, version=f"{number // 100}.{number % 100}.0", type="minor",
                          title=f"Release {number}", captain="cap", created_at=now, runs=runs)
        release_docs.append(Document(document(release, workspace.settings.signoff), doc_id=number))
    for number in range(1, incidents + 1):
        incident = Incident(id=number, title=f"Incident {number}", severity=Severity.P2, started_at=now,
                            resolved_at=now, status="Resolved",
                            runs={"escalation": ChecklistRun.from_spec(playbook.by_role("escalation"), now)})
        incident_docs.append(Document(document(incident, workspace.settings.signoff), doc_id=number))
    with workspace.store.unit_of_work() as uow:
        db = uow.tinydb
        db.table("releases").insert_multiple(release_docs)
        db.table("incidents").insert_multiple(incident_docs)
        for number in range(1, incidents + 1):
            for minute in range(events_per_incident):
                event = TimelineEvent(at=now, author="bench", kind="note", text=f"note {minute}")
                uow.append_event(f"INC-{number}", "timeline", event.model_dump(mode="json"))
    workspace.refresh()
    if decisions:
        bulk_decisions(workspace, decisions)


def bulk_timeline(workspace: Workspace, incident_id: int, count: int) -> None:
    """`count` timeline events on one incident, in one unit of work."""
    now = workspace.now()
    with workspace.store.unit_of_work() as uow:
        for number in range(count):
            event = TimelineEvent(at=now, author="bench", kind="note", text=f"note {number}: " + "x" * 60)
            uow.append_event(f"INC-{incident_id}", "timeline", event.model_dump(mode="json"))
    workspace.refresh()
