"""The months before the small demo's three days: shipped releases week after week, some rolled back, some
followed by incidents of every severity (acknowledged, mitigated, resolved, their updates on time or late).
So every chart of the Reports screen has something to show. Fixed for a given end time; written in one unit of
work after the replay (the replay's records keep their ids)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from octotui.domain.models import (
    ChecklistRun,
    Decision,
    Incident,
    IncidentStatus,
    ItemState,
    Release,
    Severity,
    TimelineEvent,
)
from octotui.domain.playbook import Playbook
from octotui.domain.roles import ChecklistRole
from octotui.domain.semver import ReleaseType
from octotui.services.bulk import write_records
from octotui.services.workspace import Workspace

WEEKS = 20  # the last 90 days and some of the 90 before (the "previous period" beside them)
PEOPLE = ("maria", "lee", "priya", "sam", "devi", "ana")
SERVICES = ("Checkout", "Search", "Payments", "Catalog", "Accounts", "Orders")
CADENCE = {Severity.P0: 15, Severity.P1: 30, Severity.P2: 60, Severity.P3: 0}  # minutes (the defaults)


def add_history(workspace: Workspace, end: datetime) -> None:
    """Write the weeks before `end` (the start of the replay) after the records already there."""
    snapshot = workspace.store.snapshot
    release_id, incident_id = snapshot.last_id("releases"), snapshot.last_id("incidents")
    rng = random.Random(2026)
    records: list[Release | Incident | Decision] = []
    number = 0
    for week in range(WEEKS, 0, -1):
        monday = end - timedelta(weeks=week)
        for slot in range(1 + (week % 3 == 0) + (week % 5 == 1)):  # one to three releases a week
            number += 1
            release_id += 1
            created = monday + timedelta(days=slot * 2, hours=9 + rng.randrange(4))
            release = _release(release_id, number, created, rng, workspace.playbook)
            records.append(release)
            production = max(item.at for item in release.runs[ChecklistRole.DEPLOYMENT].items if item.at is not None)
            if number % 4 == 2:  # a quarter of the releases are followed by an incident
                incident_id += 1
                severity = list(Severity)[(number // 4) % 4]
                incident = _incident(incident_id, severity, production + timedelta(hours=1 + rng.randrange(20)), rng,
                                     f"{release.title.split()[0]} errors after {release.version}")
                incident.release_ids.append(release.id)
                release.incident_ids.append(incident.id)
                records.append(incident)
                if severity in (Severity.P0, Severity.P1):  # the worst were rolled back
                    _roll_back(release, incident.started_at + timedelta(minutes=10), workspace.playbook, rng)
    write_records(workspace, records)


def _release(release_id: int, number: int, created: datetime, rng: random.Random, playbook: Playbook) -> Release:
    runs = {role: ChecklistRun.from_spec(playbook.by_role(role), created) for role in (ChecklistRole.GATE, ChecklistRole.DEPLOYMENT)}
    at = created
    for role, run in runs.items():
        if role == ChecklistRole.DEPLOYMENT:
            at += timedelta(hours=rng.randrange(4, 60))  # waiting for a deploy window: the lead time varies
        for index, item in enumerate(run.items):
            at += timedelta(minutes=rng.randrange(5, 40))
            state = ItemState.NA if item.optional and rng.random() < 0.3 else ItemState.DONE
            run.set_state(index, state, rng.choice(PEOPLE), at, reason="not needed this time" if state is ItemState.NA else "")
    service = SERVICES[number % len(SERVICES)]
    return Release(id=release_id, version=f"1.{number}.0", type=ReleaseType.MINOR, title=f"{service} update {number}",
                   captain=rng.choice(PEOPLE), created_at=created, created_by=rng.choice(PEOPLE), runs=runs)


def _roll_back(release: Release, at: datetime, playbook: Playbook, rng: random.Random) -> None:
    run = ChecklistRun.from_spec(playbook.by_role(ChecklistRole.ROLLBACK), at)
    for index in range(len(run.items)):
        at += timedelta(minutes=rng.randrange(2, 10))
        run.set_state(index, ItemState.DONE, rng.choice(PEOPLE), at)
    release.runs[ChecklistRole.ROLLBACK] = run
    release.rollback_reason = "Error rate rose after the deploy"


def _incident(incident_id: int, severity: Severity, started: datetime, rng: random.Random, title: str) -> Incident:
    author = rng.choice(PEOPLE)
    incident = Incident(id=incident_id, title=title, severity=severity, started_at=started,
                        impact="Some customers saw errors", roles={"commander": author, "comms": rng.choice(PEOPLE)},
                        created_by=author)
    incident.acknowledged_at = started + timedelta(minutes=rng.randrange(2, 20))
    incident.mitigated_at = started + timedelta(minutes=rng.randrange(30, 180))
    incident.resolved_at = incident.mitigated_at + timedelta(minutes=rng.randrange(15, 90))
    incident.status = IncidentStatus.RESOLVED
    cadence = CADENCE[severity] or 60
    at, sent = started, 0
    while True:
        # Mostly within the cadence; now and then a few minutes late.
        at += timedelta(minutes=cadence - rng.randrange(2, 6) if rng.random() < 0.75 else cadence + rng.randrange(3, 12))
        if at >= incident.resolved_at:
            break
        sent += 1
        incident.timeline.append(TimelineEvent(at=at, author=incident.roles["comms"], kind="update",
                                               text=f"Incident {'initial notification' if sent == 1 else 'status update'}"
                                                    " sent (copied)"))
    incident.timeline.append(TimelineEvent(at=incident.resolved_at, author=author, kind="status", text="Status → Resolved"))
    incident.last_update_at = max((event.at for event in incident.timeline if event.kind == "update"), default=None)
    return incident
