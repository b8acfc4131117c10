"""Databases of any size on demand: `octotui demo --size N`, the benchmark and the fault campaign.

About N records in one fixed mix (5% releases with checklist histories, 5% incidents with timelines, 90%
decisions), the same for the same N, written through the storage seam in a few units of work.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from octotui.domain.models import (
    ChecklistRun,
    Decision,
    DecisionStatus,
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
from octotui.services.records import document, event_streams
from octotui.services.workspace import Workspace
from octotui.storage.base import Doc

_T = TypeVar("_T")

END = datetime(2026, 1, 1, tzinfo=UTC)  # a fixed end: the same N gives the same database, byte for byte
BULK_ROLES = (ChecklistRole.GATE, ChecklistRole.DEPLOYMENT, ChecklistRole.ROLLBACK, ChecklistRole.ESCALATION)
BATCH = 5_000  # documents per unit of work: bounded memory, few commits
PEOPLE = ("maria", "lee", "priya", "sam", "devi", "ana", "jon")
SERVICES = ("checkout", "search", "payments", "catalog", "accounts", "orders", "shipping")


class NotEmpty(Exception):
    """Generating into a database that already holds records would mix fake data with real work."""


def mix(size: int) -> tuple[int, int, int]:
    """(releases, incidents, decisions) for about `size` records."""
    releases = max(1, size * 5 // 100) if size else 0
    incidents = size * 5 // 100
    return releases, incidents, max(0, size - releases - incidents)


def generate(workspace: Workspace, size: int, timeline_events: int = 10) -> tuple[int, int, int]:
    """Write about `size` records into an empty database; deterministic for a given size."""
    if not workspace.is_empty():
        raise NotEmpty(f"{workspace.store.location} already holds records; generate into an empty database")
    for role in BULK_ROLES:  # a guide without one is refused before the first batch, not halfway
        workspace.playbook.by_role(role)
    releases, incidents, decisions = mix(size)
    rng = random.Random(size)
    start = END - timedelta(days=max(30, releases * 3))
    end = END
    playbook = workspace.playbook
    records: Iterator[Release | Incident | Decision] = _chain(
        (_release(number, releases, start, end, rng, playbook, incidents) for number in range(1, releases + 1)),
        (_incident(number, start, end, rng, playbook, timeline_events, releases) for number in range(1, incidents + 1)),
        (_decision(number, decisions, start, end, rng) for number in range(1, decisions + 1)),
    )
    batch: list[Release | Incident | Decision] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            write_records(workspace, batch)
            batch = []
    if batch:
        write_records(workspace, batch)
    workspace.store.compact()  # at rest, as years of use leave it: not a journal of bulk batches
    workspace.refresh()
    return releases, incidents, decisions


def _chain(*parts: Iterator[_T]) -> Iterator[_T]:
    for part in parts:
        yield from part


TABLE = {Release: ("releases", "REL"), Incident: ("incidents", "INC"), Decision: ("decisions", "DEC")}


def write_records(workspace: Workspace, records: list[Release | Incident | Decision]) -> None:
    """Records built in memory (ids chosen), with their history, in one unit of work."""
    with workspace.store.unit_of_work() as uow:
        by_table: dict[str, dict[int, Doc]] = {}
        for record in records:
            by_table.setdefault(TABLE[type(record)][0], {})[record.id] = document(record, workspace.settings.signoff)
        for table, docs in by_table.items():
            uow.put_many(table, docs)
        for record in records:
            prefix = TABLE[type(record)][1]
            for stream, events in event_streams(record).items():
                for event in events:
                    uow.append_event(f"{prefix}-{record.id}", stream, event.model_dump(mode="json"))


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + timedelta(seconds=rng.randrange(max(1, int((end - start).total_seconds()))))


def _created(number: int, total: int, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * ((number - 1) / max(1, total))


def _linked(number: int, releases: int, incidents: int) -> bool:
    """Every tenth release (3, 13, ...) is followed by the incident of the same number, a week after it was created
    (it shipped by then): the reports' failed deployments and recovery times."""
    return number % 10 == 3 and number <= incidents and number < releases - 5


def _release(number: int, total: int, start: datetime, end: datetime, rng: random.Random, playbook: Playbook,
             incidents: int = 0) -> Release:
    created = _created(number, total, start, end)
    runs = {role: ChecklistRun.from_spec(playbook.by_role(role), created) for role in (ChecklistRole.GATE, ChecklistRole.DEPLOYMENT)}
    shipped = number < total - 5  # the newest few are still on their way
    at = created
    for role, run in runs.items():
        count = len(run.items) if shipped else rng.randrange(len(run.items) + 1) if role == ChecklistRole.GATE else 0
        for index in range(count):
            at += timedelta(minutes=rng.randrange(5, 90))
            state = ItemState.NA if run.items[index].optional and rng.random() < 0.3 else ItemState.DONE
            run.set_state(index, state, rng.choice(PEOPLE), at, reason="not needed this time" if state is ItemState.NA else "")
    rollback_reason = ""
    if shipped and (number % 20 == 3 or number % 25 == 7):  # some went wrong and were rolled back
        at += timedelta(minutes=30)
        runs[ChecklistRole.ROLLBACK] = ChecklistRun.from_spec(playbook.by_role(ChecklistRole.ROLLBACK), at)
        for index in range(len(runs[ChecklistRole.ROLLBACK].items)):
            at += timedelta(minutes=rng.randrange(2, 15))
            runs[ChecklistRole.ROLLBACK].set_state(index, ItemState.DONE, rng.choice(PEOPLE), at)
        rollback_reason = "Error rate rose after the deploy"
    kind = ReleaseType.MAJOR if number % 50 == 0 else ReleaseType.MINOR if number % 5 == 0 else ReleaseType.PATCH
    return Release(id=number, version=f"{1 + number // 500}.{(number // 20) % 25}.{number % 20}", type=kind,
                   title=f"{rng.choice(SERVICES).capitalize()} release {number}", captain=rng.choice(PEOPLE),
                   created_at=created, created_by=rng.choice(PEOPLE), runs=runs, rollback_reason=rollback_reason,
                   incident_ids=[number] if _linked(number, total, incidents) else [])


def _incident(number: int, start: datetime, end: datetime, rng: random.Random, playbook: Playbook,
              events: int, releases: int = 0) -> Incident:
    started = _moment(rng, start, end - timedelta(hours=2))
    linked = _linked(number, releases, number)
    if linked:
        started = _created(number, releases, start, end) + timedelta(days=7)
    severity = rng.choice(list(Severity))
    incident = Incident(id=number, title=f"{rng.choice(SERVICES).capitalize()} errors ({number})", severity=severity,
                        started_at=started, impact=f"{rng.randrange(1, 30)}% of requests fail",
                        roles={"commander": rng.choice(PEOPLE), "comms": rng.choice(PEOPLE), "tech": rng.choice(PEOPLE)},
                        runs={ChecklistRole.ESCALATION: ChecklistRun.from_spec(playbook.by_role(ChecklistRole.ESCALATION), started)},
                        created_by=rng.choice(PEOPLE), release_ids=[number] if linked else [])
    at = started
    for minute in range(events):
        at += timedelta(minutes=rng.randrange(1, 12))
        sent = minute % 3 == 2  # every third event a status update sent: some within the cadence, some late
        incident.timeline.append(TimelineEvent(at=at, author=rng.choice(PEOPLE), kind="update" if sent else "note",
                                               text="Incident status update sent (copied)" if sent else
                                               f"Update {minute + 1}: error rate {rng.randrange(1, 9)}%"))
    incident.acknowledged_at = min(at, started + timedelta(minutes=rng.randrange(1, 25)))
    incident.mitigated_at = at
    incident.resolved_at = at + timedelta(minutes=20)
    incident.status = IncidentStatus.RESOLVED
    return incident


def _decision(number: int, total: int, start: datetime, end: datetime, rng: random.Random) -> Decision:
    created = start + (end - start) * ((number - 1) / max(1, total))
    service = rng.choice(SERVICES)
    return Decision(id=number, created_at=created, date=created.date(), title=f"{service.capitalize()}: decision {number}",
                    context=f"Latency budget of {service} and rollout step {number % 11}",
                    decision=f"We choose option {number % 3} for {service}", owner=rng.choice(PEOPLE),
                    alternatives="Option A\nOption B", consequences="Documented in the runbook",
                    status=DecisionStatus.ACCEPTED if number % 9 else DecisionStatus.PROPOSED)
