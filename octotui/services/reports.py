"""The facts the metrics need, read through the storage seam (either backend), and the report of a period.

Run it off the event loop (a worker, or a headless export). It reads the stored documents, not the parsed
models: the times it needs are plain fields, and a year of history is not parsed for a handful of numbers.
Times the records do not store are derived from what is stored:

- `production_at`: the first time the Production item of the release's deployment (or hotfix) checklist was
  settled, from that checklist's history (the item's own time when it has no history);
- `rolled_back_at`: when the rollback checklist was started;
- an update's due time: the severity's cadence after the previous update (or after the start); an update sent
  after the incident was resolved, or of a severity without a cadence, has none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from octotui.domain.metrics import IncidentFacts, Metrics, Period, ReleaseFacts, UpdateFacts, compute
from octotui.domain.models import Severity
from octotui.domain.roles import ChecklistRole
from octotui.domain.settings import Settings
from octotui.storage.base import Doc, Repository, Snapshot

SETTLED = ("done", "na")
Key = TypeVar("Key")


@dataclass(frozen=True)
class Report:
    metrics: Metrics
    previous: Metrics | None  # the period of the same length just before (none for "all")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _ids(value: Any) -> tuple[int, ...]:
    return tuple(n for n in value if isinstance(n, int)) if isinstance(value, list) else ()


def _production_item(doc: Doc) -> tuple[str, int, datetime] | None:
    """The work checklist's Production item when it is settled now: (stream, index, its time)."""
    runs = doc.get("runs") if isinstance(doc.get("runs"), dict) else {}
    role = ChecklistRole.HOTFIX if doc.get("hotfix") else ChecklistRole.DEPLOYMENT
    run = runs.get(role) if isinstance(runs, dict) else None
    items = run.get("items") if isinstance(run, dict) else None
    for index, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("stage") == "production" and item.get("state") in SETTLED:
            moment = _time(item.get("at"))
            return (role, index, moment) if moment is not None else None
    return None


ProductionItem = tuple[str, int]  # the work checklist's stream and its Production item's index


def _release_read(release_id: int, doc: Doc) -> tuple[ReleaseFacts, ProductionItem | None] | None:
    """A release's facts from its document alone (`production_at`: the Production item's time now), and the
    item whose history may hold an earlier first arrival."""
    created = _time(doc.get("created_at"))
    if created is None:
        return None
    found = _production_item(doc)
    runs = doc.get("runs") if isinstance(doc.get("runs"), dict) else {}
    rollback = runs.get(ChecklistRole.ROLLBACK) if isinstance(runs, dict) else None
    facts = ReleaseFacts(id=release_id, created_at=created, production_at=found[2] if found else None,
                         rolled_back_at=_time(rollback.get("started_at")) if isinstance(rollback, dict) else None,
                         cancelled_at=_time(doc.get("cancelled_at")), incident_ids=_ids(doc.get("incident_ids")))
    return facts, (found[0], found[1]) if found else None


def _arrival_matters(facts: ReleaseFacts, since: datetime | None) -> bool:
    # The first arrival is never later than the item's time now: only a release that could fall in the period
    # has its history read.
    return facts.production_at is not None and (since is None or facts.production_at >= since)


def _first_arrival(snapshot: Snapshot, facts: ReleaseFacts, item: ProductionItem) -> ReleaseFacts:
    role, index = item
    first = facts.production_at
    for _, event in snapshot.events(f"REL-{facts.id}", role):
        if event.get("item") == index and event.get("action") in SETTLED and (moment := _time(event.get("at"))) \
                and (first is None or moment < first):
            first = moment
    return replace(facts, production_at=first)


def release_facts(snapshot: Snapshot, release_id: int, doc: Doc, since: datetime | None) -> ReleaseFacts | None:
    read = _release_read(release_id, doc)
    if read is None:
        return None
    facts, item = read
    return _first_arrival(snapshot, facts, item) if item is not None and _arrival_matters(facts, since) else facts


def _incident_read(incident_id: int, doc: Doc) -> IncidentFacts | None:
    """An incident's facts from its document alone: its updates are in its history."""
    started = _time(doc.get("started_at"))
    severity = str(doc.get("severity"))
    if started is None or severity not in Severity.__members__:
        return None
    return IncidentFacts(id=incident_id, severity=severity, started_at=started,
                         acknowledged_at=_time(doc.get("acknowledged_at")), mitigated_at=_time(doc.get("mitigated_at")),
                         resolved_at=_time(doc.get("resolved_at")), release_ids=_ids(doc.get("release_ids")))


def _updates_matter(facts: IncidentFacts, since: datetime | None) -> bool:
    # Updates are sent while an incident is open: one resolved before the period has none in it.
    return since is None or facts.resolved_at is None or facts.resolved_at >= since


def _with_updates(snapshot: Snapshot, facts: IncidentFacts, settings: Settings) -> IncidentFacts:
    interval, resolved = settings.update_interval(Severity(facts.severity)), facts.resolved_at
    updates: list[UpdateFacts] = []
    previous = facts.started_at
    sent = sorted(moment for _, event in snapshot.events(f"INC-{facts.id}", "timeline")
                  if event.get("kind") == "update" and (moment := _time(event.get("at"))) is not None)
    for moment in sent:
        due = previous + interval if interval is not None and (resolved is None or moment <= resolved) else None
        updates.append(UpdateFacts(at=moment, due_at=due))
        previous = moment
    return replace(facts, updates=tuple(updates))


def incident_facts(snapshot: Snapshot, incident_id: int, doc: Doc, settings: Settings,
                   since: datetime | None) -> IncidentFacts | None:
    facts = _incident_read(incident_id, doc)
    if facts is None:
        return None
    return _with_updates(snapshot, facts, settings) if _updates_matter(facts, since) else facts


NEVER_SHIPPED = ("Planned", "Gate passed", "Staging", "Cancelled")  # board stages without a Production item settled


BREATHE_EVERY = 32  # documents read between two chances for other threads (the event loop) to run


def _breathing(ids: Iterable[Key]) -> Iterator[Key]:
    """Run through ids, letting other threads have the interpreter every few documents: a reader in a worker
    thread then never keeps the event loop waiting longer than one small document's parse."""
    for count, key in enumerate(ids, 1):
        if count % BREATHE_EVERY == 0:
            time.sleep(0)  # releases the GIL: the loop's thread takes it if it waits
        yield key


class FactsCache:
    """The facts last read, by record, kept between computations (the Reports screen holds one): only the
    records the store says changed since (a save here, or another process's) are read again. A record's
    history is read once a period needs it: a longer period reads the histories it now needs, no document again."""

    def __init__(self) -> None:
        self.generation: int | None = None
        # Each record's facts (None: not a record to count) and whether its history is still unread.
        self.releases: dict[int, tuple[ReleaseFacts | None, ProductionItem | None]] = {}
        self.incidents: dict[int, tuple[IncidentFacts | None, bool]] = {}
        self.reads = 0  # documents read (tests count them)
        self.history_reads = 0  # records' histories read
        self.lock = threading.Lock()

    def catch_up(self, store: Repository) -> None:
        changes, generation = store.changes_since(self.generation) if self.generation is not None else (None, None)
        if changes is None or changes.everything:
            self.releases.clear()
            self.incidents.clear()
        else:
            for release_id in changes.ids.get("releases", ()):
                self.releases.pop(release_id, None)
            for incident_id in changes.ids.get("incidents", ()):
                self.incidents.pop(incident_id, None)
        self.generation = generation if generation is not None else store.generation

    def release(self, snapshot: Snapshot, release_id: int, since: datetime | None) -> ReleaseFacts | None:
        kept = self.releases.get(release_id)
        if kept is None:
            doc = snapshot.get("releases", release_id)
            self.reads += 1
            kept = (_release_read(release_id, doc) if doc else None) or (None, None)
        facts, unread = kept
        if facts is not None and unread is not None and _arrival_matters(facts, since):
            facts, unread = _first_arrival(snapshot, facts, unread), None
            self.history_reads += 1
        self.releases[release_id] = (facts, unread)
        return facts

    def incident(self, snapshot: Snapshot, settings: Settings, incident_id: int,
                 since: datetime | None) -> IncidentFacts | None:
        kept = self.incidents.get(incident_id)
        if kept is None:
            doc = snapshot.get("incidents", incident_id)
            self.reads += 1
            facts = _incident_read(incident_id, doc) if doc else None
            kept = (facts, facts is not None)
        facts, unread = kept
        if facts is not None and unread and _updates_matter(facts, since):
            facts, unread = _with_updates(snapshot, facts, settings), False
            self.history_reads += 1
        self.incidents[incident_id] = (facts, unread)
        return facts


def gather(snapshot: Snapshot, settings: Settings, since: datetime | None = None,
           cache: FactsCache | None = None) -> tuple[list[ReleaseFacts], list[IncidentFacts]]:
    """Every release and incident as facts; histories are read only where they can matter from `since` on.
    Documents are read one at a time (`get`): a store that keeps a large table unparsed reads each from its
    place, so no single parse of a whole table holds the interpreter (or the store) for seconds."""
    cache = cache or FactsCache()
    releases = []
    rows = snapshot.board_docs()
    for release_id in _breathing(list(rows)):
        board = rows[release_id].get("board")
        if isinstance(board, dict) and board.get("stage") in NEVER_SHIPPED:  # a deployment needs Production reached
            continue
        if (release := cache.release(snapshot, release_id, since)) is not None:
            releases.append(release)
    incidents = []
    for incident_id in _breathing(range(1, snapshot.last_id("incidents") + 1)):
        if (incident := cache.incident(snapshot, settings, incident_id, since)) is not None:
            incidents.append(incident)
    return releases, incidents


def build_report(snapshot: Snapshot, settings: Settings, period: Period, previous: bool = True,
                 cache: FactsCache | None = None) -> Report:
    """The metrics of a period and of the period before it, from one read (what `cache` holds is not read again)."""
    before = period.previous() if previous else None
    releases, incidents = gather(snapshot, settings, before.since if before else period.since, cache)
    return Report(compute(releases, incidents, period), compute(releases, incidents, before) if before else None)
