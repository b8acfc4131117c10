"""What the workspace works with: the record tables, which checklist run, the view of what was last read, a
command's handle on its unit of work, and how a record is stored."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from octotui.comms.source import RecordSource as CommsSource
from octotui.domain import lifecycle
from octotui.domain.board import BoardRow
from octotui.domain.clock import local_time
from octotui.domain.models import (
    AUTO_AUTHOR,
    ChecklistEvent,
    ChecklistRun,
    Decision,
    DecisionStatus,
    Incident,
    Release,
    TimelineEvent,
)
from octotui.domain.refs import RecordKind, RecordRef
from octotui.domain.settings import SignOffRules
from octotui.domain.text import plain
from octotui.storage.base import Doc, Repository, UnitOfWork
from octotui.storage.errors import NotFound

if TYPE_CHECKING:
    from octotui.domain.settings import Settings


class RecordSource(Protocol):
    """What a unit of work's handle needs of the workspace: how a stored document becomes a record."""

    settings: Settings
    author: str

    def now(self) -> datetime: ...

    def _parse(self, table: str, record_id: int, doc: Doc) -> Release | Incident | Decision: ...

    def _attach(self, record: BaseModel, events: list[tuple[int, Doc]]) -> None: ...


class Reads(CommsSource, Protocol):
    """What the services' rule modules (deployments, resolve, …) read of the workspace: what a text reads, plus
    the board's rows, the open incidents and the monitoring window."""

    def board_rows(self) -> list[BoardRow]: ...

    def open_incidents(self) -> list[Incident]: ...

    def monitoring_ends(self, incident: Incident) -> datetime | None: ...


class CommandSource(RecordSource, Protocol):
    """What the services' command modules (releases, …) need of the workspace: one unit of work per command,
    the board's rows, and the release rules that read stored data."""

    store: Repository

    def _command(self) -> contextlib.AbstractContextManager[Tx]: ...

    def board_rows(self) -> list[BoardRow]: ...

    def _release_fields(self, tx: Tx, fields: dict[str, Any], existing: Release | None,
                        confirm: bool = False) -> dict[str, Any]: ...


Model = TypeVar("Model", Release, Incident, Decision)
TABLES: dict[type[BaseModel], str] = {Release: "releases", Incident: "incidents", Decision: "decisions"}
MODELS: dict[str, type[Release] | type[Incident] | type[Decision]] = {
    "releases": Release, "incidents": Incident, "decisions": Decision}
PREFIX = {"releases": "REL", "incidents": "INC", "decisions": "DEC"}
KIND: dict[str, RecordKind] = {"releases": "release", "incidents": "incident", "decisions": "decision"}
TABLE_OF_KIND = {kind: table for table, kind in KIND.items()}


class GateBlocked(Exception):
    def __init__(self, release: Release, signoffs_missing: int = 0) -> None:
        self.blockers = [] if release.gate_override is not None else release.gate_blockers()
        self.signoffs_missing = signoffs_missing
        why = []
        if self.blockers:
            why.append(f"{len(self.blockers)} pre-release requirement(s) open: "
                       + "; ".join(plain(item.text) for item in self.blockers))
        if signoffs_missing:
            why.append(f"awaiting {signoffs_missing} sign-off(s)")
        if release.gate_override_pending is not None and release.gate_override is None:
            why.append(f"override pending DEC-{release.gate_override_pending} (proposed, not accepted)")
        super().__init__(f"{release.key} cannot enter Staging: {'; '.join(why)}")


@dataclass(frozen=True)
class View:
    """What is held of the records as last read. Replaced as a whole by whoever applies a change."""

    # Every release as its board row: a release's model (checklists, history) is parsed when someone asks
    # for it and only the most recent few are kept (see Workspace.release), so memory follows what is shown.
    rows: dict[int, BoardRow] = field(default_factory=dict)
    incidents: dict[int, Incident] = field(default_factory=dict)
    decisions: dict[int, Decision] | None = None  # parsed on first use: the first screen does not need them
    meta: dict[int, Doc] = field(default_factory=dict)
    # At start only open incidents are parsed (with their timelines): resolved ones are most of a mature
    # database and no first screen shows them. The rest follow in the worker right after the first paint.
    incidents_complete: bool = True


class Tx:
    """A command's handle on its unit of work: load fresh records, save them with their new events."""

    def __init__(self, workspace: RecordSource, uow: UnitOfWork) -> None:
        self.ws, self.uow = workspace, uow
        self._seen: dict[int, dict[str, int]] = {}  # id(record) -> events already stored, by stream
        self.changed: set[RecordRef] = set()  # the records this command touched
        # Each release saved, beside the document stored for it: the view takes the model as it is (a check
        # parses its release once, here) while what is stored is still that document.
        self.saved_releases: dict[int, tuple[Doc, Release]] = {}

    def load(self, model: type[Model], record_id: int, *, timeline: bool = False) -> Model:
        table = TABLES[model]
        doc = self.uow.get(table, record_id)
        if doc is None:
            raise NotFound(f"{PREFIX[table]}-{record_id} does not exist (any more)")
        record = self.ws._parse(table, record_id, doc)
        if isinstance(record, Release | Incident):
            owner = f"{PREFIX[table]}-{record_id}"
            streams = list(record.runs) + (["timeline"] if timeline else [])
            self.ws._attach(record, [event for stream in streams for event in self.uow.events(owner, stream)])
        self._seen[id(record)] = event_counts(record)
        return record  # type: ignore[return-value]

    def load_owner(self, kind: Literal["release", "incident"], owner_id: int) -> Release | Incident:
        return self.load(Release, owner_id) if kind == "release" else self.load(Incident, owner_id)

    def new(self, model: type[Model], build: Callable[[int], Model]) -> Model:
        table = TABLES[model]
        record = build(self.uow.reserve_id(table))
        self._seen[id(record)] = {}
        self.save(record)
        return record

    def save(self, record: Release | Incident | Decision) -> None:
        table = TABLES[type(record)]
        owner = f"{PREFIX[table]}-{record.id}"
        doc = document(record, self.ws.settings.signoff)
        self.uow.put(table, record.id, doc)
        if isinstance(record, Release):
            self.saved_releases[record.id] = (doc, record)
        seen = self._seen.get(id(record), {})
        for stream, events in event_streams(record).items():
            for event in events[seen.get(stream, 0):]:
                self.uow.append_event(owner, stream, event.model_dump(mode="json"))
        self._seen[id(record)] = event_counts(record)
        self.changed.add(RecordRef(KIND[table], record.id))

    def timeline(self, incident_id: int, kind: str, text: str, at: datetime | None = None) -> None:
        """A timeline event on an incident without loading the incident (or its past)."""
        if self.uow.get("incidents", incident_id) is None:
            return
        event = TimelineEvent(at=at or self.ws.now(), author=self.ws.author, kind=kind, text=text)
        self.uow.append_event(f"INC-{incident_id}", "timeline", event.model_dump(mode="json"))
        self.changed.add(RecordRef("incident", incident_id))

    def docs(self, model: type[Model]) -> dict[int, Doc]:
        return self.uow.all(TABLES[model])


def document(record: BaseModel, signoff: SignOffRules) -> Doc:
    """What is stored for a record: everything but its history, which lives in events. A release also
    carries what its board row derives (stage, progress...), so a start can paint the board without parsing
    any release (see domain.board)."""
    exclude: dict[str, Any] = {}
    if isinstance(record, Release | Incident):
        exclude["runs"] = {role: {"history"} for role in record.runs}
    if isinstance(record, Incident):
        exclude["timeline"] = True
    doc = record.model_dump(mode="json", exclude=exclude or None)
    if isinstance(record, Release):
        doc["board"] = BoardRow.of(record, record.stage, lifecycle.signoffs_missing(record, signoff)).derived()
    return doc


def event_streams(record: BaseModel) -> dict[str, list[Any]]:
    streams: dict[str, list[Any]] = {}
    if isinstance(record, Release | Incident):
        for role, run in record.runs.items():
            streams[role] = run.history
    if isinstance(record, Incident):
        streams["timeline"] = record.timeline
    return streams


def event_counts(record: BaseModel) -> dict[str, int]:
    return {stream: len(events) for stream, events in event_streams(record).items()}


def incident_order(incident: Incident) -> tuple[bool, float, int]:
    return not incident.open, -incident.started_at.timestamp(), -incident.id


def assigns(doc: Doc | None, person: str) -> bool:
    """Whether a stored release names `person` as an item's owner (an unexpected shape: maybe, the model decides)."""
    try:
        return any(item.get("owner") == person for run in (doc or {}).get("runs", {}).values() for item in run["items"])
    except (AttributeError, KeyError, TypeError):
        return True


def point_override(release: Release, decision: Decision) -> None:
    """A gate override counts only while its decision is accepted; proposed, it is pending. One that counted
    and is superseded, rejected or deprecated stops counting at once and is remembered as withdrawn; another
    decision's status never touches an override it is not."""
    if decision.status is DecisionStatus.ACCEPTED:
        release.gate_override, release.gate_override_pending, release.gate_override_withdrawn = decision.id, None, None
        return
    if release.gate_override == decision.id:
        release.gate_override, release.gate_override_withdrawn = None, decision.id
    if decision.status is DecisionStatus.PROPOSED:
        release.gate_override_pending = decision.id
    elif release.gate_override_pending == decision.id:
        release.gate_override_pending = None


def run_incidents(release: Release, role: str) -> list[int]:
    """The incidents a run's events belong to: its own incident if it serves one, else all linked."""
    owner = release.run_incidents.get(role)
    return [owner] if owner is not None else list(release.incident_ids)


@functools.cache
def bulk_adapter(model: type[BaseModel]) -> TypeAdapter[dict[int, Any]]:
    return TypeAdapter(dict[int, model])  # type: ignore[valid-type]


def describe_event(run: ChecklistRun, event: ChecklistEvent) -> str:
    item = run.items[event.item]
    words = {"done": "checked", "todo": "unchecked", "na": "marked N/A", "note": "noted", "undo": "undid a change on",
             "assign": "assigned", "due": "set a due time on"}
    line = f"{run.name}: {words[event.action]} “{plain(item.text)}”"
    if event.action == "assign":
        line += f" to {event.after.owner or 'nobody'}"
    if event.action == "due":
        line += f": {local_time(event.after.due) if event.after.due else 'none'}"
    if event.action == "na":
        line += f" (reason: {event.after.na_reason})"
    if event.after.early and event.action == "done":
        line += " (early)"
    if event.action == "todo" and event.before.by == AUTO_AUTHOR:
        line += f" (overriding the app's tick: {event.before.cause or 'auto'})"
    if event.after.before_start and event.action == "done":
        line += " (before its start)"
    return line


def first_invalid_record(tables: dict[str, dict[int, Any]]) -> str | None:
    """Where the first record that octotui could not read is (`releases` document 3, field, why), or None:
    what a copy checks before writing, so it never makes a database that will not open."""
    for table, model in MODELS.items():
        docs = tables.get(table, {})
        try:
            bulk_adapter(model).validate_python(docs)
        except ValidationError as error:
            first = error.errors()[0]
            record_id, *field = first["loc"]
            where = ".".join(str(part) for part in field)
            return f"table {table!r} document {record_id}{'.' + where if where else ''}: {first['msg']}"
    return None
