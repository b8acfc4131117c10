"""The workspace: every read the UI makes and every command a person runs, over the storage seam.

Commands: each user action is one method that runs in exactly one unit of work (`self._command()`):
it reads fresh data under the lock, checks every rule (uniqueness included) against that data,
and writes every record it touches at one commit, or nothing. Reads: the UI reads `self._view`,
parsed models held in memory and replaced (never edited) after a commit or a refresh, so a reader
on the event loop never sees a half-applied change and never touches the disk.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, ValidationError

from octotui.domain import lifecycle, versioning
from octotui.domain.board import BoardRow, board_sorted
from octotui.domain.clock import Clock, SystemClock, current_author, format_minutes, local_time, people_time
from octotui.domain.inputs import (
    DecisionInput,
    IncidentInput,
    InputError,
    NeedsConfirmation,
    NoteInput,
    PersonInput,
    ReasonInput,
    ReleaseInput,
    TextInput,
    TimelineNoteInput,
    check_length,
    parse_input,
)
from octotui.domain.models import (
    AUTO_AUTHOR,
    MILESTONES,
    ROLES,
    ChecklistEvent,
    ChecklistRun,
    Decision,
    DecisionEdit,
    DecisionStatus,
    Incident,
    IncidentStatus,
    ItemState,
    LifecycleEvent,
    Release,
    Severity,
    TimelineEvent,
    build_validators,
)
from octotui.domain.playbook import Playbook
from octotui.domain.quoting import quoted
from octotui.domain.refs import RunRef
from octotui.domain.semver import ReleaseType, Version
from octotui.domain.settings import Settings
from octotui.domain.stages import Stage
from octotui.domain.text import plain
from octotui.services import actions, stale, team
from octotui.services.deployments import hotfix_base, known_good
from octotui.services.records import (
    MODELS,
    PREFIX,
    TABLE_OF_PREFIX,
    GateBlocked,
    Tx,
    View,
    assigns,
    bulk_adapter,
    describe_event,
    document,
    incident_order,
    point_override,
    run_incidents,
)
from octotui.services.releases import (
    SELF_ACCEPTED,
    edit_release,
    note_downgrade,
    overridden_releases,
    override_acceptance,
    repoint_overrides,
    set_release_notes,
    sign_off,
)
from octotui.services.resolve import resolve_concerns
from octotui.storage.base import EVENTS, META, Changes, Doc, Repository, Snapshot, ui_state_of
from octotui.storage.errors import NotFound, StoreCorrupt, StoreError, StoreReadOnly

if TYPE_CHECKING:
    from octotui.services.check import CheckReport, ChildCheck

MAX_TEXT = 20_000


def _said(value: Any) -> str:
    """A decision field's value as its history says it (`accepted`, not `DecisionStatus.ACCEPTED`)."""
    return str(getattr(value, "value", value))
MODELS_KEPT = 64  # releases kept parsed with their history: what a person moves between, not the whole board


class Workspace:
    def __init__(self, store: Repository, playbook: Playbook, clock: Clock | None = None, author: str | None = None,
                 settings: Settings | None = None) -> None:
        self.store = store
        self.playbook = playbook
        self.clock = clock or SystemClock()
        self.author = author or current_author(getattr(store, "user", None))
        self.settings = team.team_settings(store, settings or Settings())  # team mode: the database's signers
        self.problem: StoreError | None = None  # the file is unreadable or invalid: saves are refused
        # What the last check of every record found damaged: left as it is in the file, the rest works.
        self.damaged: StoreCorrupt | None = None
        self.last_changed: set[str] = set()
        self.on_lock_wait: Callable[[], None] | None = None  # told when a command waits for another process
        self.action_id: str | None = None  # the next command's action id (a form's): never applied twice
        self._events: dict[int, TimelineEvent | ChecklistEvent] = {}  # parsed events by id (they never change)
        self._view = View()
        self._board_order: tuple[dict[int, BoardRow], list[BoardRow]] | None = None
        # The releases last asked for, parsed with their history, each beside the row it was read with
        # (a row replaced since means the record changed: it is read again).
        self._models: OrderedDict[int, tuple[BoardRow, Release]] = OrderedDict()
        self._past_incidents: OrderedDict[int, Incident] = OrderedDict()  # resolved ones read alone (incident())
        self._models_lock = threading.Lock()
        self._stale_rows: set[int] | None = None  # stored rows that say something else than their record
        self._generation = self.store.generation
        build_validators()
        bulk_adapter(Decision)
        snapshot = self.store.snapshot
        open_only: dict[int, Any] = {record_id: self._build_record(snapshot, "incidents", record_id)
                                     for record_id in snapshot.open_incidents()}
        self._view = View(rows=self._stored_rows(snapshot), incidents=open_only, incidents_complete=False,
                          meta=snapshot.all(META))

    def now(self) -> datetime:
        return self.clock.now()

    # -- the view: parsed records in memory ----------------------------------------------------
    def _invalid(self, table: str, record_id: Any, error: ValidationError, skip: int = 0) -> StoreCorrupt:
        """A record that fails validation, said once: which table, which document, which field, why."""
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"][skip:])
        return StoreCorrupt(self.store.location,
                            f"table {table!r} document {record_id}{'.' + where if where else ''}: {first['msg']}")

    def _parse(self, table: str, record_id: int, doc: Doc) -> Release | Incident | Decision:
        try:
            return MODELS[table].model_validate(doc)
        except ValidationError as error:
            raise self._invalid(table, record_id, error) from None

    def _parse_release(self, record_id: int, doc: Doc) -> Release:
        return cast(Release, self._parse("releases", record_id, doc))

    def _parse_all(self, table: str, docs: dict[int, Doc]) -> dict[int, Any]:
        try:
            return bulk_adapter(MODELS[table]).validate_python(docs)
        except ValidationError as error:
            raise self._invalid(table, error.errors()[0]["loc"][0], error, skip=1) from None

    def _event(self, event_id: int, doc: Doc) -> TimelineEvent | ChecklistEvent:
        cached = self._events.get(event_id)
        if cached is None:
            cached = self._events[event_id] = self._event_model(event_id, doc)
        return cached

    def _event_model(self, event_id: int, doc: Doc) -> TimelineEvent | ChecklistEvent:
        model = TimelineEvent if doc.get("stream") == "timeline" else ChecklistEvent
        try:
            return model.model_validate(doc)
        except ValidationError as error:
            raise self._invalid(EVENTS, event_id, error) from None

    def _attach(self, record: BaseModel, events: list[tuple[int, Doc]]) -> None:
        if not isinstance(record, Release | Incident):
            return
        for event_id, doc in events:
            stream = doc.get("stream")
            if stream == "timeline":
                if isinstance(record, Incident):
                    record.timeline.append(self._event(event_id, doc))  # type: ignore[arg-type]
            elif stream in record.runs:
                record.runs[str(stream)].history.append(self._event(event_id, doc))  # type: ignore[arg-type]

    def _build_record(self, source: Snapshot, table: str, record_id: int) -> Release | Incident | Decision | None:
        doc = source.get(table, record_id)
        if doc is None:
            return None
        record = self._parse(table, record_id, doc)
        if table != "decisions":
            self._attach(record, source.events(f"{PREFIX[table]}-{record_id}"))
        return record

    def _build(self, source: Snapshot, tables: tuple[str, ...], meta: bool = False) -> View:
        view = self._view
        parsed: dict[str, Any] = {}
        for table in tables:
            if table == "decisions":  # no events to attach: one bulk validation is several times faster
                parsed[table] = self._parse_all(table, source.all(table))
            elif table == "releases":
                parsed["rows"] = {record_id: self._row(self._parse_release(record_id, doc))
                                  for record_id, doc in source.all(table).items()}
            else:
                parsed[table] = {record_id: self._build_record(source, table, record_id) for record_id in source.all(table)}
        if meta:
            parsed["meta"] = source.all(META)
        if "incidents" in tables:
            parsed["incidents_complete"] = True
        return replace(view, **parsed)

    def _row(self, release: Release) -> BoardRow:
        """A release's board row as this workspace's rules (sign-off) derive it."""
        return BoardRow.of(release, release.stage, self.signoffs_missing(release))

    def _stored_rows(self, source: Snapshot) -> dict[int, BoardRow]:
        """The board as stored beside each release (no model parsed); a release stored without a usable
        row is parsed for it. The check after start-up re-derives every row under this workspace's rules."""
        rows: dict[int, BoardRow] = {}
        for record_id, doc in source.board_docs().items():
            row = BoardRow.from_doc(record_id, doc)
            if row is None:
                full = source.get("releases", record_id)
                if full is None:
                    continue
                row = self._row(self._parse_release(record_id, full))
            rows[record_id] = row
        return rows

    def _absorb(self, changes: Changes, source: Snapshot) -> set[str]:
        """Apply changed documents to the view; returns the keys of what changed (`REL-3`, `INC-1`,
        `DEC-2`, `meta`; `*` for everything). Raises StoreCorrupt, leaving the view as it was."""
        if not changes:
            return set()
        if changes.everything:
            self._events.clear()
            tables = ("releases", "incidents") + (("decisions",) if self._view.decisions is not None else ())
            self._view = self._build(source, tables, meta=True)
            with self._models_lock:
                self._models.clear()
                self._past_incidents.clear()
            return {"*"}
        keys: set[str] = set()
        owners: dict[str, set[int]] = {"rows": set(), "incidents": set(), "decisions": set()}
        for table in owners:
            owners[table].update(changes.ids.get("releases" if table == "rows" else table, ()))
        timeline_only: dict[str, list[int]] = {}  # owner -> new timeline event ids, while nothing else changed
        other_streams: set[str] = set()
        for event_id in sorted(changes.ids.get(EVENTS, ())):
            self._events.pop(event_id, None)
            doc = source.get(EVENTS, event_id) or {}
            owner = str(doc.get("owner", ""))
            prefix, _, number = owner.partition("-")
            if prefix in TABLE_OF_PREFIX and number.isdigit():
                owners["rows" if prefix == "REL" else TABLE_OF_PREFIX[prefix]].add(int(number))
                if doc.get("stream") == "timeline":
                    timeline_only.setdefault(owner, []).append(event_id)
                else:
                    other_streams.add(owner)
        for owner in other_streams:
            timeline_only.pop(owner, None)
        updates: dict[str, Any] = {}
        if owners["rows"]:
            rows = dict(self._view.rows)
            for record_id in owners.pop("rows"):
                stored = source.get("releases", record_id)
                if stored is None:
                    rows.pop(record_id, None)
                else:
                    rows[record_id] = self._row(self._parse_release(record_id, stored))
                keys.add(f"REL-{record_id}")
            updates["rows"] = rows
        else:
            owners.pop("rows")
        for table, ids in owners.items():
            current = getattr(self._view, table)
            if not ids or current is None:
                keys.update(f"{PREFIX[table]}-{n}" for n in ids)
                continue
            fresh = dict(current)
            for record_id in ids:
                appended = timeline_only.get(f"{PREFIX[table]}-{record_id}")
                known = current.get(record_id)
                if appended and record_id not in changes.ids.get(table, ()) and isinstance(known, Incident):
                    # Only new timeline events: extend a copy, never re-read the incident's whole past.
                    extended = known.model_copy()
                    added = [self._event(n, source.get(EVENTS, n) or {}) for n in appended]
                    extended.timeline = [*known.timeline, *(event for event in added if isinstance(event, TimelineEvent))]
                    fresh[record_id] = extended
                    keys.add(f"{PREFIX[table]}-{record_id}")
                    continue
                record = self._build_record(source, table, record_id)
                if record is None:
                    fresh.pop(record_id, None)
                else:
                    fresh[record_id] = record
                keys.add(f"{PREFIX[table]}-{record_id}")
            updates[table] = fresh
        if changes.ids.get(META):
            updates["meta"] = source.all(META)
            keys.add("meta")
        self._view = replace(self._view, **updates)
        return keys

    def _catch_up(self, source: Snapshot) -> set[str]:
        changes, generation = self.store.changes_since(self._generation)
        keys = self._absorb(changes, source)
        self._generation = generation
        return keys

    def refresh(self) -> set[str]:
        """Pick up other processes' changes (only those); what changed, by key. Raises StoreError and
        keeps the last good view, and records the problem so saves are refused until it is fixed."""
        try:
            self.store.refresh()
            keys = self._catch_up(self.store.snapshot)
        except StoreError as error:
            self.problem = error
            raise
        self.problem = None
        self.last_changed |= keys
        return keys

    def validate(self, *models: type[Decision] | type[Incident]) -> None:
        """Read every decision or incident into the view (a screen lists them all)."""
        for model in models:
            if model is Decision and self._view.decisions is None:
                self._view = self._build(self.store.snapshot, ("decisions",))
            if model is Incident and not self._view.incidents_complete:
                source, known = self.store.snapshot, self._view.incidents
                with self._models_lock:
                    read_alone = dict(self._past_incidents)  # by incident(): not parsed twice
                missing: dict[int, Any] = {
                    record_id: read_alone.get(record_id) or self._build_record(source, "incidents", record_id)
                    for record_id in source.all("incidents") if record_id not in known}
                self._view = replace(self._view, incidents={**known, **missing}, incidents_complete=True)
                self.last_changed |= {f"INC-{n}" for n in missing}

    def validate_all(self) -> set[int]:
        """Check every stored record against the models, without keeping what is not shown: a bad document
        is reported (StoreCorrupt), never rewritten. The board's rows are re-derived on the way under this
        workspace's rules; those that differ replace the shown ones, and the releases whose stored row differs
        are returned (and noted for `store_board_rows`)."""
        source = self.store.snapshot
        try:
            rows, self._stale_rows = self._checked_rows(source)
            for event_id, doc in source.scan(EVENTS).items():
                self._event_model(event_id, doc)
            for record_id, doc in source.scan("incidents").items():
                self._parse("incidents", record_id, doc)
            decisions = list(source.scan("decisions").items())
            for start in range(0, len(decisions), 1000):  # in bulk (much faster), a slice at a time (less memory)
                self._parse_all("decisions", dict(decisions[start:start + 1000]))
        except StoreCorrupt as error:
            self.damaged = error
            raise
        self.damaged = None
        shown = self._view.rows
        if rows != shown:
            kept = {record_id: shown[record_id] if shown.get(record_id) == row else row for record_id, row in rows.items()}
            self.last_changed |= {f"REL-{n}" for n in set(rows) | set(shown) if kept.get(n) is not shown.get(n)}
            self._view = replace(self._view, rows=kept)
        return set(self._stale_rows)

    def check_apart(self) -> ChildCheck | None:
        """`validate_all` to be run by a child process, when the data is a file big enough to be worth one
        (see services.check); None: check here."""
        from octotui.services.check import ChildCheck, worth_a_child

        path = self.store.local_file
        return ChildCheck(path, self.settings.signoff) if path is not None and worth_a_child(path) else None

    def take_check(self, report: CheckReport) -> None:
        """What a check apart found, applied to the view (in the worker that owns it): a damaged record is
        raised as here; the stale rows are derived again from their records and noted for `store_board_rows`."""
        if report.problem is not None:
            self.damaged = StoreCorrupt(self.store.location, report.problem)
            raise self.damaged
        self.damaged = None
        source, rows = self.store.snapshot, dict(self._view.rows)
        for release_id in report.stale:
            doc = source.get("releases", release_id)
            if doc is not None and release_id in rows:
                row = self._row(self._parse_release(release_id, doc))
                if row != rows[release_id]:
                    rows[release_id] = row
                    self.last_changed.add(row.key)
        if rows != self._view.rows:
            self._view = replace(self._view, rows=rows)
        self._stale_rows = set(report.stale)

    def _checked_rows(self, source: Snapshot) -> tuple[dict[int, BoardRow], set[int]]:
        """Every release checked and its row derived; and the ids whose stored row says something else."""
        rows, stale = {}, set()
        for record_id, doc in source.scan("releases").items():
            row = rows[record_id] = self._row(self._parse_release(record_id, doc))
            if BoardRow.from_doc(record_id, doc) != row:
                stale.add(record_id)
        return rows, stale

    # -- reading ---------------------------------------------------------------------------------
    def _decisions(self) -> dict[int, Decision]:
        if self._view.decisions is None:
            self.validate(Decision)
        return self._view.decisions or {}

    def releases(self) -> list[Release]:
        """Every release with its history, in board order. Each is parsed unless recently asked for: for
        what needs whole records; what the board shows of them is `board_rows()`."""
        return [release for row in self.board_rows() if (release := self.release(row.id)) is not None]

    def stage(self, release: Release | BoardRow) -> Stage:
        return release.stage

    def board_rows(self) -> list[BoardRow]:
        """The board, in board order: what each release's row shows (the same rows a start paints from)."""
        rows = self._view.rows
        cached = self._board_order
        if cached is None or cached[0] is not rows:
            ordered = board_sorted(list(rows.values()), lambda row: row.stage, lambda row: row.version, lambda row: row.id)
            cached = self._board_order = (rows, ordered)
        return cached[1]

    def row(self, release_id: int) -> BoardRow | None:
        return self._view.rows.get(release_id)

    def release(self, release_id: int) -> Release | None:
        """The release with its checklist history. Read from the store the first time it is asked for
        since it last changed; the last MODELS_KEPT asked for stay parsed."""
        row = self._view.rows.get(release_id)
        if row is None:
            return None
        with self._models_lock:
            kept = self._models.get(release_id)
            if kept is not None and kept[0] is row:
                self._models.move_to_end(release_id)
                return kept[1]
        record = self._build_record(self.store.snapshot, "releases", release_id)
        if not isinstance(record, Release):
            return None
        with self._models_lock:
            self._models[release_id] = (row, record)
            self._models.move_to_end(release_id)
            while len(self._models) > MODELS_KEPT:
                self._models.popitem(last=False)
        return record

    def _incidents(self) -> dict[int, Incident]:
        if not self._view.incidents_complete:
            self.validate(Incident)
        return self._view.incidents

    def incidents(self) -> list[Incident]:
        return sorted(self._incidents().values(), key=incident_order)

    def incident(self, incident_id: int) -> Incident | None:
        """Open incidents (and those changed since start-up) are in the view; another is read alone, with its
        timeline, and the last MODELS_KEPT read stay parsed (the view's copy wins once it changes)."""
        known = self._view.incidents.get(incident_id)
        if known is not None or self._view.incidents_complete:
            return known
        with self._models_lock:
            past = self._past_incidents.get(incident_id)
            if past is not None:
                self._past_incidents.move_to_end(incident_id)
                return past
        record = self._build_record(self.store.snapshot, "incidents", incident_id)
        if not isinstance(record, Incident):
            return None
        with self._models_lock:
            self._past_incidents[incident_id] = record
            while len(self._past_incidents) > MODELS_KEPT:
                self._past_incidents.popitem(last=False)
        return record

    def newest_incident(self) -> Incident | None:
        """What the incident screen shows when none was chosen: the first open one, else the last one
        opened (the highest number), read alone."""
        open_now = self.open_incidents()
        if open_now:
            return open_now[0]
        last = self.store.snapshot.last_id("incidents")
        for incident_id in range(last, max(0, last - 100), -1):  # incidents are never deleted: the first try
            found = self.incident(incident_id)
            if found is not None:
                return found
        return None

    def open_incidents(self) -> list[Incident]:
        """Never waits for the resolved ones (the status line asks every second)."""
        return sorted((i for i in self._view.incidents.values() if i.open), key=incident_order)

    @property
    def decisions_read(self) -> bool:
        """Whether the decisions are parsed (the decision log reads them once, off the loop, before listing)."""
        return self._view.decisions is not None

    def read_decisions(self) -> None:
        self.validate(Decision)

    def decision(self, decision_id: int) -> Decision | None:
        return self._decisions().get(decision_id)

    def decisions(self) -> dict[int, Decision]:
        return self._decisions()

    def decisions_newest_first(self) -> list[Decision]:
        return sorted(self._decisions().values(), key=lambda d: d.id, reverse=True)

    def runs_assigned_to(self, person: str) -> list[RunRef]:
        """The release runs with an item assigned to `person`, in board order. The stored documents are
        searched first, so only the releases that have one are parsed."""
        snapshot, refs = self.store.snapshot, []
        for row in self.board_rows():
            if not assigns(snapshot.get("releases", row.id), person):
                continue
            release = self.release(row.id)
            if release is not None:
                refs += [RunRef("release", release.id, role) for role in release.run_order()
                         if any(item.owner == person for item in release.runs[role].items)]
        return refs

    def run(self, ref: RunRef) -> ChecklistRun | None:
        owner = self.release(ref.owner_id) if ref.owner == "release" else self.incident(ref.owner_id)
        return None if owner is None else owner.runs.get(ref.role)

    def is_empty(self) -> bool:
        """No release, incident or decision was ever saved (asked at every start: read no table for it)."""
        snapshot = self.store.snapshot
        return not self._view.rows and not any(snapshot.last_id(table) for table in ("incidents", "decisions"))

    def ui_state(self) -> dict[str, Any]:
        """Where this author was (screen, release, incident, checklist row), to return there on restart."""
        return ui_state_of(self._view.meta, self.author)

    # -- commands: one unit of work each ----------------------------------------------------------
    @contextlib.contextmanager
    def _command(self) -> Iterator[Tx]:
        if self.store.read_only:
            raise StoreReadOnly(self.store.location, self.store.read_only_reason)
        with self.store.unit_of_work(on_wait=self.on_lock_wait) as uow:
            try:
                self.last_changed |= self._catch_up(uow)  # others' changes, checked before ours
            except StoreError as error:
                self.problem = error
                raise StoreCorrupt(self.store.location, f"not saved: {error.message}") from None
            self.problem = None
            action, self.action_id = self.action_id, None  # one unit of work per action id
            actions.check(uow, action)
            tx = Tx(self, uow)
            yield tx
            actions.record(uow, action, tx.changed)
        self.last_changed |= self._catch_up(self.store.snapshot) | tx.changed

    def drain_changed(self) -> set[str]:
        """What the last command (or commands since the last call) changed, by key."""
        changed, self.last_changed = self.last_changed, set()
        return changed

    def store_board_rows(self) -> int:
        """Store the board row of every release whose stored row is missing (saved by an octotui before
        rows were stored) or says something else than its record (the sign-off rules changed), so the next
        start paints the board from them at once. Only the row changes: no event, nothing on any timeline.
        Uses what the last `validate_all` found (it finds out itself when none ran)."""
        stale, self._stale_rows = self._stale_rows, set()
        if stale is None:
            stale = self._checked_rows(self.store.snapshot)[1]
        if not stale or self.store.read_only:
            return 0
        stored = 0
        with self._command() as tx:
            for release_id in sorted(stale):
                doc = tx.uow.get("releases", release_id)
                if doc is None:
                    continue
                release = self._parse_release(release_id, doc)
                if BoardRow.from_doc(release_id, doc) != self._row(release):
                    tx.uow.put("releases", release_id, document(release, self.settings.signoff))
                    tx.changed.add(release.key)
                    stored += 1
        return stored

    def save_ui_state(self, state: dict[str, Any]) -> None:
        if self.store.read_only or state == self.ui_state():
            return
        with self._command() as tx:
            docs = tx.uow.all(META)
            holder = next(((doc_id, doc) for doc_id, doc in docs.items() if "ui" in doc), None)
            if holder is None:
                tx.uow.put(META, tx.uow.reserve_id(META), {"ui": {self.author: state}})
            else:
                doc_id, doc = holder
                tx.uow.put(META, doc_id, {**doc, "ui": {**doc["ui"], self.author: state}})

    # -- releases ----------------------------------------------------------------------------------
    # -- which version next: answered from the rows (domain.versioning) -----------------------------
    def suggest_type(self, version_text: str, excluding: int | None = None) -> ReleaseType | None:
        return versioning.suggest_type(self._view.rows.values(), version_text, excluding)

    def suggest_version(self, kind: ReleaseType = ReleaseType.MINOR) -> str:
        return versioning.suggest_version(self._view.rows.values(), kind)

    def suggest_hotfix_version(self) -> tuple[str, str]:
        return hotfix_base(self)  # by deployment history

    def suggest_backport(self, fixed: Release) -> tuple[str, str]:
        return versioning.suggest_backport(list(self._view.rows.values()), fixed.version)

    def type_warning(self, version_text: str, kind: str, excluding: int | None = None) -> str:
        return versioning.type_warning(self._view.rows.values(), version_text, kind, excluding)

    def last_known_good(self, release: Release) -> Release | None:
        return known_good(self, release).release  # by deployment history

    def notes_question(self, ref: RunRef, index: int) -> str | None:
        """Asked before checking “Release notes drafted” while the notes a person must write are empty."""
        release = self.release(ref.owner_id) if ref.owner == "release" else None
        run = self.run(ref)
        if release is None or run is None or run.items[index].settled or not _RELEASE_NOTES_ITEM.search(run.items[index].text):
            return None
        empty = self._empty_required_notes(release)
        if not empty:
            return None
        return f"The release notes are still empty ({', '.join(empty)}). Check “{plain(run.items[index].text)}” anyway?"

    def _empty_required_notes(self, release: Release) -> list[str]:
        """Release-notes fields a person must write (not the derived name and date, not `(if any)` ones)."""
        derived = {"release_name_number", "date"}
        return [spec.label for spec in self.playbook.fields.get("release-notes", [])
                if spec.key not in derived and "(if any)" not in spec.label and not release.notes.get(spec.key, "").strip()]

    def _release_fields(self, tx: Tx, fields: dict[str, Any], existing: Release | None,
                        confirm: bool = False) -> dict[str, Any]:
        """Validated input plus the rules that need stored data, read inside the unit of work."""
        errors: dict[str, str] = {}
        try:
            clean = parse_input(ReleaseInput, fields)
        except InputError as error:
            errors = dict(error.errors)
            clean = None
        version_text = str(fields.get("version", "")).strip()
        reuse: str | None = None
        if "version" not in errors:
            version = Version.parse(version_text)
            for other in versioning.taken(self._view.rows.values(), version, existing.id if existing else None):
                if other.stage is not Stage.CANCELLED:
                    errors["version"] = f"{version} already exists ({other.key}: {other.title[:40]})"
                    break
                reuse = f"{version} belonged to {other.key}, which was cancelled. Use it again for this release?"
        today = self.now().astimezone().date()
        target = clean.target_date if clean else None
        if target is not None and target < today and (existing is None or existing.target_date != target):
            errors["target_date"] = f"{target} is in the past (today is {today})"
        if errors or clean is None:
            raise InputError(errors)
        if reuse is not None and not confirm:
            raise NeedsConfirmation(reuse)
        kind = clean.type or self.suggest_type(version_text) or ReleaseType.MINOR
        return {"version": clean.version, "title": clean.title, "captain": clean.captain, "type": kind,
                "target_date": clean.target_date}

    def create_release(self, *, hotfix: bool = False, followup_of: int | None = None,
                       incident_id: int | None = None, confirm: bool = False, **fields: Any) -> Release:
        """Raises NeedsConfirmation to reuse the version of a cancelled release."""
        now = self.now()
        with self._command() as tx:
            clean = self._release_fields(tx, fields, None, confirm)
            if incident_id is not None and tx.uow.get("incidents", incident_id) is None:
                raise InputError({"incident": f"INC-{incident_id} does not exist"})
            runs = {"gate": ChecklistRun.from_spec(self.playbook.by_role("gate"), now)}
            work_role = "hotfix" if hotfix else "deployment"
            runs[work_role] = ChecklistRun.from_spec(self.playbook.by_role(work_role), now)
            release = tx.new(Release, lambda new_id: Release(
                id=new_id, created_at=now, created_by=self.author, hotfix=hotfix, runs=runs, followup_of=followup_of,
                incident_ids=[incident_id] if incident_id else [],
                run_incidents={work_role: incident_id} if incident_id and hotfix else {}, **clean))
            if incident_id is not None:
                incident = tx.load(Incident, incident_id)
                incident.release_ids.append(release.id)
                self._timeline(incident, "link", f"Linked to {release.key} {release.version}" + (" (hotfix)" if hotfix else ""))
                if hotfix:
                    self._auto(incident, "hotfix", f"hotfix {release.key} {release.version} created")
                tx.save(incident)
        return release

    def update_release(self, release_id: int, confirm: bool = False, read: dict[str, str] | None = None,
                       **fields: Any) -> Release:
        """Only the changed fields, against what was `read` (services.releases: conflicts, recorded edits)."""
        return edit_release(self, release_id, fields, read, confirm)

    def cancel_release(self, release_id: int, reason: str) -> Release:
        """Only before Production, with a reason; a shipped release is rolled back or superseded instead."""
        def cancel(release: Release, now: datetime) -> None:
            release.cancelled_at, release.cancel_reason = now, release.lifecycle[-1].reason
        return self._lifecycle_move(release_id, "cancel", reason, cancel)

    def reopen_release(self, release_id: int, reason: str) -> Release:
        """A locked release (Verified, Rolled back, Cancelled) opens again for changes, with a reason."""
        return self._lifecycle_move(release_id, "reopen", reason,
                                    lambda release, _now: setattr(release, "cancelled_at", None))

    def _lifecycle_move(self, release_id: int, move: Literal["cancel", "reopen"], reason: str,
                        apply: Callable[[Release, datetime], None]) -> Release:
        """Checked against the lifecycle table inside the unit of work, recorded with who, when and why."""
        reason = parse_input(ReasonInput, {"reason": reason}).reason
        with self._command() as tx:
            release = tx.load(Release, release_id)
            lifecycle.require(release, move, reason=reason)
            if move == "reopen" and release.cancelled_at is not None:
                self._version_free_again(tx, release)
            now = self.now()
            release.lifecycle.append(LifecycleEvent(at=now, by=self.author, action=move, reason=reason,
                                                    from_stage=release.stage.value))
            apply(release, now)
            tx.save(release)
        return release

    def _version_free_again(self, tx: Tx, release: Release) -> None:
        """A version names one live release: a cancelled one comes back only while nobody reused its version."""
        for other in versioning.taken(self._view.rows.values(), Version.parse(release.version), release.id):
            if other.stage is not Stage.CANCELLED:
                raise InputError({"reason": f"{release.version} is now the version of {other.key}; "
                                            f"{release.key} cannot come back under it"})

    def signoffs_missing(self, release: Release) -> int:
        return lifecycle.signoffs_missing(release, self.settings.signoff)

    def sign_off(self, release_id: int, note: str = "") -> Release:
        return sign_off(self, release_id, note)

    def set_release_notes(self, release_id: int, notes: dict[str, str]) -> Release:
        return set_release_notes(self, release_id, notes)

    def start_rollback(self, release_id: int, reason: str, incident_id: int | None = None) -> Release:
        """Roll back, for one incident (linked both ways if it was not) or for none: the rollback's
        events go to that incident's timeline and nowhere else."""
        reason = parse_input(ReasonInput, {"reason": reason}).reason
        with self._command() as tx:
            release = tx.load(Release, release_id)
            lifecycle.require(release, "rollback", reason=reason)
            release.rollback_reason = reason
            release.runs["rollback"] = ChecklistRun.from_spec(self.playbook.by_role("rollback"), self.now())
            if incident_id is not None:
                incident = tx.load(Incident, incident_id)
                if not incident.open:
                    raise InputError({"incident": f"{incident.key} is resolved; pick an open incident or a new one"})
                self._link(release, incident)
                release.run_incidents["rollback"] = incident_id
                self._timeline(incident, "status", f"Rollback of {release.key} {release.version} started: {reason}")
                tx.save(incident)
            tx.save(release)
        return release

    def _link(self, release: Release, incident: Incident) -> bool:
        """Both sides of a release–incident link; False if they were linked already."""
        if release.id in incident.release_ids and incident.id in release.incident_ids:
            return False
        if release.id not in incident.release_ids:
            incident.release_ids.append(release.id)
        if incident.id not in release.incident_ids:
            release.incident_ids.append(incident.id)
        self._timeline(incident, "link", f"Linked to {release.key} {release.version}" + (" (hotfix)" if release.hotfix else ""))
        if release.hotfix:
            self._auto(incident, "hotfix", f"linked to hotfix {release.key} {release.version}")
        return True

    def link_release(self, incident_id: int, release_id: int) -> Incident:
        with self._command() as tx:
            incident = tx.load(Incident, incident_id)
            if tx.uow.get("releases", release_id) is None:
                raise InputError({"release": f"REL-{release_id} does not exist"})
            release = tx.load(Release, release_id)
            if not self._link(release, incident):
                raise InputError({"release": f"{incident.key} is already linked to {release.key}"})
            tx.save(release)
            tx.save(incident)
        return incident

    def unlink_release(self, incident_id: int, release_id: int) -> Incident:
        with self._command() as tx:
            incident = tx.load(Incident, incident_id)
            if release_id not in incident.release_ids:
                raise InputError({"release": f"{incident.key} is not linked to REL-{release_id}"})
            incident.release_ids.remove(release_id)
            if tx.uow.get("releases", release_id) is not None:
                release = tx.load(Release, release_id)
                if incident_id in release.incident_ids:
                    release.incident_ids.remove(incident_id)
                release.run_incidents = {role: n for role, n in release.run_incidents.items() if n != incident_id}
                tx.save(release)
                self._timeline(incident, "link", f"Unlinked from {release.key} {release.version}")
            tx.save(incident)
        return incident

    # -- checklists -----------------------------------------------------------------------
    def change_item(self, ref: RunRef, index: int, action: Literal["toggle", "na", "note", "undo", "assign", "due"], *,
                    text: str = "", confirm: bool = False, due: datetime | None = None,
                    skip_reason: str = "") -> ChecklistRun:
        """Check/uncheck, N/A with a reason, note, or undo, recorded with who and when.

        Raises GateBlocked if the change would move a release past the gate, NeedsConfirmation for
        an early end to a timed window, InputError for bad text.
        """
        now = self.now()
        if action == "na":
            text = parse_input(ReasonInput, {"reason": text}).reason
        elif action == "note":
            text = parse_input(NoteInput, {"note": text}).note
        elif action == "assign":
            text = parse_input(TextInput, {"text": text}, rename={"text": "owner"}).text
        with self._command() as tx:
            owner = tx.load_owner(ref.owner, ref.owner_id)
            run = owner.runs.get(ref.role)
            if run is None:
                raise InputError({"run": f"{ref.owner_key} has no {ref.role} checklist"})
            if isinstance(owner, Release):
                lifecycle.require(owner, "change")
            if action == "assign":
                run.assign(index, text, self.author, now)
            elif action == "due":
                run.set_due(index, due, self.author, now)
            elif action == "undo":
                if run.undo(self.author, now) is None:
                    raise InputError({"undo": "nothing to undo in this checklist"})
            elif action == "note":
                run.set_note(index, text, self.author, now)
            else:
                item = run.items[index]
                target = ItemState.NA if action == "na" else (ItemState.TODO if item.settled else ItemState.DONE)
                if isinstance(owner, Release) and target is not ItemState.TODO and item.stage:
                    missing = 0 if owner.gate_override is not None else self.signoffs_missing(owner)
                    if not owner.gate_passed or missing:
                        raise GateBlocked(owner, missing)
                    note_downgrade(self, owner, index, confirm)
                    skipped = lifecycle.skipped_stage(run, index)
                    if skipped is not None and not skip_reason.strip():
                        raise lifecycle.StageSkipped(run, index, skipped)
                    if skipped is not None:  # the skipped stage is N/A, with the reason given for skipping it
                        run.set_state(skipped, ItemState.NA, self.author, now,
                                      reason=parse_input(ReasonInput, {"reason": skip_reason}).reason)
                if target is ItemState.TODO and item.by not in (None, self.author) and not confirm:
                    who = f"the app ({item.cause})" if item.by == AUTO_AUTHOR else item.by
                    raise NeedsConfirmation(f"“{plain(item.text)[:60]}” was checked by {who} at "
                                            f"{local_time(item.at)}. Uncheck it anyway (recorded as your override)?")
                timing = run.timing_question(index, now) if target is ItemState.DONE else None
                if timing is not None and not confirm:  # early in its window, or before the item that starts it
                    raise NeedsConfirmation(timing[1])
                mark = timing[0] if timing else ""
                run.set_state(index, target, self.author, now, reason=text, early=mark == "early",
                              before_start=mark == "before_start")
            line = describe_event(run, run.history[-1])
            if isinstance(owner, Incident):
                self._timeline(owner, "checklist", line)
            else:
                for incident_id in run_incidents(owner, ref.role):
                    tx.timeline(incident_id, "checklist", f"{owner.key} {line}")
            tx.save(owner)
        return run

    def skip_decision(self, ref: RunRef, index: int) -> None:
        with self._command() as tx:
            owner = tx.load_owner(ref.owner, ref.owner_id)
            owner.runs[ref.role].items[index].decision_skipped = True
            tx.save(owner)

    # -- decisions ------------------------------------------------------------------------
    def _decision_fields(self, tx: Tx | None, fields: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        try:
            parsed = parse_input(DecisionInput, fields)
            clean = parsed.model_dump()
            clean["owner"] = clean["owner"] or self.author
            clean["status"] = DecisionStatus(clean["status"])
        except InputError as error:
            errors.update(error.errors)
        if "links" in fields:
            release_ids, incident_ids, bad = self._parse_links(str(fields["links"]), tx)
            if bad:
                errors["links"] = f"unknown link(s): {', '.join(bad)} (use REL-n or INC-n, comma separated)"
            clean["release_ids"], clean["incident_ids"] = release_ids, incident_ids
        if errors:
            raise InputError(errors)
        return clean

    def parse_links(self, text: str) -> tuple[list[int], list[int], list[str]]:
        return self._parse_links(text, None)

    def _parse_links(self, text: str, tx: Tx | None) -> tuple[list[int], list[int], list[str]]:
        releases: list[int] = []
        incidents: list[int] = []
        bad: list[str] = []
        for part in text.replace(";", ",").replace(" ", ",").split(","):
            part = part.strip().upper()
            if not part:
                continue
            prefix, _, number = part.partition("-")
            target = {"REL": (releases, "releases"), "INC": (incidents, "incidents")}.get(prefix)
            exists = False
            if target and number.isdigit() and len(number) < 10:
                table = target[1]
                exists = (tx.uow.get(table, int(number)) if tx else self.store.snapshot.get(table, int(number))) is not None
            if target and exists:
                if int(number) not in target[0]:
                    target[0].append(int(number))
            else:
                bad.append(quoted(part)[1:-1])
        return releases, incidents, bad

    def record_decision(self, *, item_ref: RunRef | None = None, item_index: int | None = None, kind: str = "",
                        supersedes: int | None = None, gate_override_for: int | None = None,
                        **fields: Any) -> Decision:
        now = self.now()
        with self._command() as tx:
            clean = self._decision_fields(tx, fields)
            if gate_override_for is not None and clean["status"] is DecisionStatus.ACCEPTED:
                accepted = override_acceptance(tx.load(Release, gate_override_for), self.author, self.settings.signoff)
                clean["history"] = [DecisionEdit(at=now, author=self.author, previous={"status": ""},
                                                 new={"status": accepted})] if accepted == SELF_ACCEPTED else []
            item_text = ""
            if item_ref is not None and item_index is not None:
                run = self.run(item_ref)
                if run is not None:
                    item_text = plain(run.items[item_index].text)
            old = tx.load(Decision, supersedes) if supersedes is not None and tx.uow.get("decisions", supersedes) else None
            if supersedes is not None and old is None:
                raise InputError({"supersedes": f"DEC-{supersedes} does not exist"})
            decision = tx.new(Decision, lambda new_id: Decision(
                id=new_id, created_at=now, date=now.astimezone().date(), item=item_text, kind=kind,
                supersedes=supersedes, **clean))
            for release_id in decision.release_ids:
                release = tx.load(Release, release_id)
                release.decision_ids.append(decision.id)
                if gate_override_for == release.id:
                    point_override(release, decision)
                if item_ref is not None and item_index is not None and item_ref.owner == "release" and item_ref.owner_id == release.id:
                    release.runs[item_ref.role].items[item_index].decision_id = decision.id
                tx.save(release)
            for incident_id in decision.incident_ids:
                incident = tx.load(Incident, incident_id)
                incident.decision_ids.append(decision.id)
                if item_ref is not None and item_index is not None and item_ref.owner == "incident" and item_ref.owner_id == incident.id:
                    incident.runs[item_ref.role].items[item_index].decision_id = decision.id
                self._timeline(incident, "decision", f"{decision.key} recorded: {decision.title}")
                self._auto(incident, "decision", f"{decision.key} recorded")
                tx.save(incident)
            if old is not None:
                old.history.append(DecisionEdit(at=now, author=self.author, previous={"status": old.status.value},
                                                new={"status": f"superseded by {decision.key}"}))
                old.status = DecisionStatus.SUPERSEDED
                old.superseded_by = decision.id
                tx.save(old)
                repoint_overrides(tx, old)
        return decision

    def override_gate(self, release_id: int, **fields: Any) -> Decision:
        if self.release(release_id) is None:
            raise KeyError(release_id)
        fields.setdefault("links", f"REL-{release_id}")
        return self.record_decision(kind="gate-override", gate_override_for=release_id, **fields)

    def edit_decision(self, decision_id: int, **fields: Any) -> Decision:
        now = self.now()
        with self._command() as tx:
            decision = tx.load(Decision, decision_id)
            merged: dict[str, Any] = {name: getattr(decision, name) for name in (
                "title", "context", "decision", "alternatives", "consequences", "owner")}
            merged["status"] = decision.status.value if decision.status is not DecisionStatus.SUPERSEDED else "accepted"
            merged["links"] = decision.links_label()
            merged.update(fields)
            clean = self._decision_fields(tx, merged)
            linked_before: dict[Literal["release", "incident"], set[int]] = {
                "release": set(decision.release_ids), "incident": set(decision.incident_ids)}
            if decision.status is DecisionStatus.SUPERSEDED:
                clean["status"] = DecisionStatus.SUPERSEDED  # superseding is undone only by the other record
            previous: dict[str, str] = {}
            new: dict[str, str] = {}
            if clean["status"] is DecisionStatus.ACCEPTED and decision.status is not DecisionStatus.ACCEPTED:
                for release in overridden_releases(tx, decision):  # an override: accepted by a second person
                    new["status"] = override_acceptance(release, self.author, self.settings.signoff)
            for name, value in clean.items():
                old = getattr(decision, name)
                if old != value:
                    previous[name] = _said(old)
                    new.setdefault(name, _said(value))
                    setattr(decision, name, value)
            if previous:
                decision.history.append(DecisionEdit(at=now, author=self.author, previous=previous, new=new))
                tx.save(decision)
            self._sync_decision_links(tx, decision, linked_before)
            if "status" in previous:
                repoint_overrides(tx, decision)
        return decision

    def _sync_decision_links(self, tx: Tx, decision: Decision, before: dict[Literal["release", "incident"], set[int]]) -> None:
        """A decision's links are kept on both sides: the records it now names list it, the ones it
        no longer names do not."""
        now: dict[Literal["release", "incident"], set[int]] = {
            "release": set(decision.release_ids), "incident": set(decision.incident_ids)}
        for kind, after in now.items():
            for record_id in sorted(before[kind] ^ after):
                if tx.uow.get(f"{kind}s", record_id) is None:
                    continue
                record = tx.load_owner(kind, record_id)
                if record_id in after and decision.id not in record.decision_ids:
                    record.decision_ids.append(decision.id)
                    if isinstance(record, Incident):
                        self._timeline(record, "decision", f"{decision.key} linked: {decision.title}")
                        self._auto(record, "decision", f"{decision.key} linked")
                elif record_id not in after and decision.id in record.decision_ids:
                    record.decision_ids.remove(decision.id)
                    if isinstance(record, Incident):
                        self._timeline(record, "decision", f"{decision.key} unlinked")
                tx.save(record)

    def supersede(self, old_id: int, **fields: Any) -> Decision:
        old = self.decision(old_id)
        if old is None:
            raise InputError({"supersedes": f"DEC-{old_id} does not exist"})
        if old.superseded_by is not None:
            raise InputError({"supersedes": f"{old.key} is already superseded by DEC-{old.superseded_by}"})
        return self.record_decision(supersedes=old_id, **fields)

    def check_supersede(self, new_id: int, old_id: int) -> None:
        """Refuse self-supersession and cycles (DEC-a supersedes DEC-b supersedes ... DEC-a)."""
        if new_id == old_id:
            raise InputError({"supersedes": "a decision cannot supersede itself"})
        seen: set[int] = set()
        current = self.decision(old_id)
        while current is not None and current.supersedes is not None and current.id not in seen:
            seen.add(current.id)
            if current.supersedes == new_id:
                raise InputError({"supersedes": f"DEC-{new_id} is already superseded through DEC-{old_id}: that would make a cycle"})
            current = self.decision(current.supersedes)

    def supersede_existing(self, new_id: int, old_id: int) -> None:
        """Link two existing decisions: new supersedes old (both ways)."""
        self.check_supersede(new_id, old_id)
        now = self.now()
        with self._command() as tx:
            new, old = tx.load(Decision, new_id), tx.load(Decision, old_id)
            new.history.append(DecisionEdit(at=now, author=self.author, previous={"supersedes": str(new.supersedes or "")},
                                            new={"supersedes": old.key}))
            new.supersedes = old_id
            old.history.append(DecisionEdit(at=now, author=self.author, previous={"status": old.status.value},
                                            new={"status": f"superseded by {new.key}"}))
            old.status, old.superseded_by = DecisionStatus.SUPERSEDED, new_id
            tx.save(new)
            tx.save(old)
            repoint_overrides(tx, old)

    # -- incidents ------------------------------------------------------------------------
    def _timeline(self, incident: Incident, kind: str, text: str, at: datetime | None = None) -> None:
        incident.timeline.append(TimelineEvent(at=at or self.now(), author=self.author, kind=kind, text=text))

    def _auto(self, incident: Incident, fact: str, cause: str) -> None:
        """The app saw `fact` happen: tick the escalation item that asks for it (author "auto")."""
        run = incident.runs.get("escalation")
        event = run.auto_tick(fact, cause, self.now()) if run is not None else None
        if run is not None and event is not None:
            incident.timeline.append(TimelineEvent(at=event.at, author=AUTO_AUTHOR, kind="checklist",
                                                   text=f"{describe_event(run, event)} — {cause}"))

    def people_time(self, moment: datetime | None, with_date: bool = True) -> str:
        """A time in a text for people, with its zone (the team's `timezone` setting, else local)."""
        return people_time(moment, self.settings.zone, with_date=with_date)

    def start_incident(self, title: str, severity: Severity | str = Severity.P1, started_at: datetime | None = None,
                       release_id: int | None = None, impact: str = "", for_run: str | None = None) -> Incident:
        """Start the clock. With `release_id`, linked both ways; with `for_run` ("rollback", "hotfix"), that
        run of the release belongs to this incident."""
        errors: dict[str, str] = {}
        try:
            clean = parse_input(IncidentInput, {"title": title, "severity": str(severity), "impact": impact})
        except InputError as error:
            errors.update(error.errors)
        now = self.now()
        started = started_at or now
        if started > now:
            errors["started"] = f"{local_time(started)} is in the future"
        if errors:
            raise InputError(errors)
        level = Severity(clean.severity)
        with self._command() as tx:
            release = None
            if release_id is not None:
                if tx.uow.get("releases", release_id) is None:
                    raise InputError({"release": f"REL-{release_id} does not exist"})
                release = tx.load(Release, release_id)

            def build(new_id: int) -> Incident:
                incident = Incident(id=new_id, title=clean.title, severity=level, started_at=started,
                                    impact=clean.impact, created_by=self.author, roles={"commander": self.author},
                                    runs={"escalation": ChecklistRun.from_spec(self.playbook.by_role("escalation"), now)})
                self._timeline(incident, "status", f"Incident started: {level} {IncidentStatus.INVESTIGATING}", at=started)
                self._auto(incident, "severity", f"started as {level}")
                self._auto(incident, "commander", f"{self.author} named incident commander at start")
                if release is not None:
                    self._link(release, incident)
                    if for_run and for_run in release.runs:
                        release.run_incidents[for_run] = new_id
                return incident

            incident = tx.new(Incident, build)
            if release is not None:
                tx.save(release)
        return incident

    def _change_incident(self, incident_id: int, change: Callable[[Incident], Any],
                         also: Callable[[Any], None] | None = None) -> Incident:
        with self._command() as tx:
            incident = tx.load(Incident, incident_id)
            change(incident)
            tx.save(incident)
            if also is not None:
                also(tx.uow)
        return self.incident(incident_id) or incident

    def resolve_concerns(self, incident: Incident) -> list[str]:
        return resolve_concerns(self, incident)

    def _apply_status(self, incident: Incident, status: IncidentStatus, confirm: bool) -> None:
        if incident.status == status:
            return
        if status is IncidentStatus.RESOLVED and not confirm:
            concerns = self.resolve_concerns(incident)
            if concerns:
                raise NeedsConfirmation(f"Resolve {incident.key}? Still unfinished:\n" + "\n".join(f"• {c}" for c in concerns),
                                        careful=True)
        now = self._ordered_now(incident)
        order = list(IncidentStatus)
        reached = order.index(status)
        resolving = status is IncidentStatus.RESOLVED  # never fills a milestone nobody recorded
        if not resolving and reached >= order.index(IncidentStatus.IDENTIFIED) and incident.acknowledged_at is None:
            incident.acknowledged_at = now
        if not resolving and reached >= order.index(IncidentStatus.MITIGATED) and incident.mitigated_at is None:
            incident.mitigated_at = now
        due = self.next_update_due(incident)
        if resolving and due is not None and due <= now:
            self._timeline(incident, "promise", f"Update promised by {self.people_time(due, with_date=False)} "
                                                "missed (resolved without it)", at=now)
        self._timeline(incident, "status", f"Status: {incident.status} → {status}", at=now)
        stale.close_monitoring(self, incident, status, now)
        incident.status = status
        if status is IncidentStatus.MONITORING:
            running = self._run_window(incident)
            incident.monitoring_since = running[0] if running else now
            ends = self.monitoring_ends(incident)
            if ends is not None:
                source = f"from “{running[2]}” checked at {self.people_time(running[0], with_date=False)}" if running \
                    else "from the status change"
                self._timeline(incident, "clock", f"Monitoring window until {self.people_time(ends, with_date=False)} "
                                                  f"({format_minutes(ends - incident.monitoring_since)}, {source})", at=now)
        if status is IncidentStatus.RESOLVED:
            incident.resolved_at = now
            retro = self.retro_deadline(incident)
            if retro is not None:
                self._timeline(incident, "clock", f"Retrospective due by {self.people_time(retro)} "
                                                  f"({format_minutes(retro - now)} after resolution)", at=now)
        elif incident.resolved_at is not None:
            incident.resolved_at = None  # reopened: the clock runs again

    def set_status(self, incident_id: int, status: IncidentStatus | str, *, confirm: bool = False,
                   seen: str | None = None) -> Incident:
        """Raises NeedsConfirmation when resolving with the monitoring window or escalation items open, and
        StaleChoice when the status is no longer `seen` (the one the person's list showed)."""
        status = IncidentStatus(status)

        def change(incident: Incident) -> None:
            stale.check(self, incident, "status", seen, status.value)
            self._apply_status(incident, status, confirm)
        return self._change_incident(incident_id, change)

    def acknowledge(self, incident_id: int) -> Incident:
        """The Acknowledged milestone: someone has the incident. The status stays as it is."""
        def change(incident: Incident) -> None:
            if incident.acknowledged_at is not None:
                raise InputError({"acknowledged_at": f"{incident.key} was acknowledged at "
                                                      f"{local_time(incident.acknowledged_at)}"})
            incident.acknowledged_at = self._ordered_now(incident)
            self._timeline(incident, "milestone", f"Acknowledged by {self.author}", at=incident.acknowledged_at)
        return self._change_incident(incident_id, change)

    def _ordered_now(self, incident: Incident) -> datetime:
        """Now, but never before a milestone already recorded (the system clock can jump back)."""
        stamps: list[datetime] = [getattr(incident, name) for name in MILESTONES if getattr(incident, name) is not None]
        return max([self.now(), *stamps])

    def set_severity(self, incident_id: int, severity: Severity | str, *, seen: str | None = None) -> Incident:
        severity = Severity(severity)

        def change(incident: Incident) -> None:
            stale.check(self, incident, "severity", seen, severity.value)
            if incident.severity != severity:
                self._timeline(incident, "severity", f"Severity: {incident.severity} → {severity}")
                incident.severity = severity
            self._auto(incident, "severity", f"severity set to {severity}")

        return self._change_incident(incident_id, change)

    def assign_role(self, incident_id: int, role: str, person: str) -> Incident:
        errors: dict[str, str] = {}
        if role not in ROLES:
            errors["role"] = f"unknown role {role!r}"
        try:
            person = parse_input(PersonInput, {"person": person}).person
        except InputError as error:
            errors.update(error.errors)
        if errors:
            raise InputError(errors)

        def change(incident: Incident) -> None:
            before = incident.roles.get(role)
            if before == person:
                return
            incident.roles[role] = person
            verb = f"handed from {before} to {person}" if before else f"assigned to {person}"
            self._timeline(incident, "role", f"{ROLES[role]} {verb}")
            if role == "commander":
                self._auto(incident, "commander", f"{person} named incident commander")
            if all(incident.roles.get(name) for name in ROLES):
                self._auto(incident, "roles", "all three roles assigned")

        return self._change_incident(incident_id, change)

    def set_title(self, incident_id: int, title: str) -> Incident:
        title = parse_input(IncidentInput, {"title": title}).title

        def change(incident: Incident) -> None:
            if incident.title != title:
                self._timeline(incident, "title", f"Title: “{incident.title}” → “{title}”")
                incident.title = title

        return self._change_incident(incident_id, change)

    def set_impact(self, incident_id: int, impact: str) -> Incident:
        impact = parse_input(TextInput, {"text": impact}, rename={"text": "impact"}).text
        return self._change_incident(incident_id, lambda incident: self._apply_impact(incident, impact))

    def _apply_impact(self, incident: Incident, impact: str) -> None:
        if incident.impact != impact:
            incident.impact = impact
            self._timeline(incident, "impact", f"Impact: {impact or '(cleared)'}")

    def set_current_actions(self, incident_id: int, text: str) -> Incident:
        text = parse_input(TextInput, {"text": text}, rename={"text": "actions"}).text
        return self._change_incident(incident_id, lambda incident: self._apply_actions(incident, text))

    def _apply_actions(self, incident: Incident, text: str) -> None:
        if incident.current_actions != text:
            incident.current_actions = text
            self._timeline(incident, "actions", f"Current actions: {text or '(cleared)'}")

    def set_channel(self, incident_id: int, channel: str) -> Incident:
        channel = parse_input(TextInput, {"text": channel}, rename={"text": "channel"}).text

        def change(incident: Incident) -> None:
            if incident.channel != channel:
                incident.channel = channel
                self._timeline(incident, "channel", f"Coordination channel: {channel or '(cleared)'}")
            if channel:
                self._auto(incident, "channel", f"channel {channel} noted")

        return self._change_incident(incident_id, change)

    def set_milestone(self, incident_id: int, name: str, moment: datetime | None) -> Incident:
        if name not in MILESTONES:
            raise InputError({name: f"unknown milestone {name!r}"})
        if moment is not None and moment > self.now():
            raise InputError({name: f"{local_time(moment)} is in the future"})
        if name == "started_at" and moment is None:
            raise InputError({name: "an incident always has a start time"})

        def change(incident: Incident) -> None:
            proposed = {key: getattr(incident, key) for key in MILESTONES}
            proposed[name] = moment
            names = list(MILESTONES)
            for earlier_index, earlier in enumerate(names):
                for later in names[earlier_index + 1:]:
                    a, b = proposed[earlier], proposed[later]
                    if a is not None and b is not None and b < a:
                        raise InputError({name: f"{MILESTONES[later]} ({local_time(b)}) cannot be before "
                                                f"{MILESTONES[earlier]} ({local_time(a)})"})
            setattr(incident, name, moment)
            self._timeline(incident, "milestone", f"{MILESTONES[name]} set to {self.people_time(moment) or '(cleared)'}")

        return self._change_incident(incident_id, change)

    def add_note(self, incident_id: int, text: str, at: datetime | None = None, *, followup: bool = False) -> Incident:
        """A timeline note; `followup=True` flags it as a follow-up item (the postmortem lists those)."""
        errors: dict[str, str] = {}
        try:
            text = parse_input(TimelineNoteInput, {"note": text}).note
        except InputError as error:
            errors.update(error.errors)
        if at is not None and at > self.now():
            errors["at"] = f"{local_time(at)} is in the future"
        if errors:
            raise InputError(errors)
        with self._command() as tx:
            if tx.uow.get("incidents", incident_id) is None:
                raise NotFound(f"INC-{incident_id} does not exist (any more)")
            # One small event; the incident is not rewritten.
            tx.timeline(incident_id, "followup" if followup else "note", text, at=at)
        return self.incident(incident_id)  # type: ignore[return-value]

    def record_sent(self, incident_id: int, template_title: str, *, counts_as_update: bool, fact: str = "",
                    missing: tuple[str, ...] = (), how: str = "sent (copied)", names_due: datetime | None = None,
                    also: Callable[[Any], None] | None = None) -> Incident:
        """A text was copied (or, `how`, posted) for stakeholders: on the timeline (with what it lacked); an update
        resets the update clock. Runs before the text is rendered, so the text names the state after it (a post,
        rendered before, names `names_due`). `also(uow)` writes in the same unit of work (the outbox's outcome)."""
        def change(incident: Incident) -> None:
            now = self.now()
            if counts_as_update:
                incident.last_update_at, incident.snoozed_until, incident.next_update_at = now, None, names_due
            line = f"{template_title} {how}" + (f" with missing: {', '.join(missing)}" if missing else "")
            due = self.next_update_due(incident)
            if counts_as_update and due is not None:
                line += f"; next update by {self.people_time(due, with_date=False)}"
            self._timeline(incident, "update", line, at=now)
            if fact:
                self._auto(incident, fact, f"{template_title} {'copied' if how == 'sent (copied)' else 'posted'}")
        return self._change_incident(incident_id, change, also)

    def send_status_update(self, incident_id: int, *, status: IncidentStatus | str, impact: str, current_actions: str,
                           next_in_minutes: int | None, confirm: bool = False) -> Incident:
        """The status-update form's facts, as one change: status, impact, current actions (the next update time
        is checked here and recorded with the update by services.delivery once its text reached somewhere)."""
        errors: dict[str, str] = {}
        texts = {"impact": impact, "current_actions": current_actions}
        for name, value in texts.items():
            try:
                texts[name] = parse_input(TextInput, {"text": value}, rename={"text": name}).text
            except InputError as error:
                errors.update(error.errors)
        impact, current_actions = texts["impact"], texts["current_actions"]
        if next_in_minutes is not None and not 1 <= next_in_minutes <= 1440:
            errors["next_update"] = "the next update must be 1 to 1440 minutes away"
        if errors:
            raise InputError(errors)
        status = IncidentStatus(status)

        def change(incident: Incident) -> None:
            self._apply_status(incident, status, confirm)
            self._apply_impact(incident, impact)
            self._apply_actions(incident, current_actions)

        return self._change_incident(incident_id, change)

    def snooze_update(self, incident_id: int, minutes: int = 5) -> Incident:
        """A new promise, on the timeline: the next update moves `minutes` past the old one, or past now when
        that one was already missed (which stays on the timeline, for the incident and the postmortem)."""
        def change(incident: Incident) -> None:
            now, was = self.now(), self.next_update_due(incident)
            if was is None:
                raise InputError({"snooze": f"{incident.key} has no update due to move"})
            moved = max(was, now) + timedelta(minutes=minutes)

            def at(moment: datetime) -> str:
                return self.people_time(moment, with_date=False)

            if was <= now:
                self._timeline(incident, "promise", f"Update promised by {at(was)} missed "
                                                    f"({format_minutes(now - was)} overdue when snoozed)", at=now)
            incident.next_update_at, incident.snoozed_until = moved, None
            self._timeline(incident, "snooze", f"Next update moved to {at(moved)} — was {at(was)}", at=now)
        return self._change_incident(incident_id, change)

    def set_comms_text(self, owner: Literal["release", "incident"], owner_id: int, template: str, text: str | None) -> None:
        check_length("text", "The edited text", text or "")  # the limit every stored text has (issue 30 D3)
        with self._command() as tx:
            record = tx.load_owner(owner, owner_id)
            if text is None:
                record.comms.pop(template, None)
            else:
                record.comms[template] = text
            tx.save(record)

    # -- incident clocks (pure reads) -----------------------------------------------------------
    def next_update_due(self, incident: Incident) -> datetime | None:
        """When the next status update is due: the time the last update named, else the severity's cadence."""
        interval = self.settings.update_interval(incident.severity)
        if not incident.open:
            return None
        if incident.next_update_at is not None:
            due = incident.next_update_at
        elif interval is None:
            return None
        else:
            due = (incident.last_update_at or incident.started_at) + interval
        if incident.snoozed_until is not None and incident.snoozed_until > due:
            due = incident.snoozed_until
        return due

    def _timing_seconds(self, role: str, kind: str) -> int | None:
        for item in self.playbook.by_role(role).items:
            if item.timing is not None and item.timing.kind == kind:
                return item.timing.seconds
        return None

    def _run_window(self, incident: Incident) -> tuple[datetime, int, str] | None:
        """A monitoring window running on a checklist that serves this incident: (start, seconds, the item
        whose check started it)."""
        for ref in self.incident_runs(incident):
            run = self.run(ref)
            if run is None or ref.owner != "release":
                continue
            for index, item in enumerate(run.items):
                if item.timing is not None and item.timing.kind == "window" and not item.settled and index > 0:
                    start = run.window_start(index)
                    if start is not None:
                        return start, item.timing.seconds, plain(run.items[index - 1].text)
        return None

    def monitoring_ends(self, incident: Incident) -> datetime | None:
        """The incident's one monitoring window: the guide's `monitor for N+ minutes`, counted from the
        checklist step that started it when one serves this incident, else from the status change."""
        if incident.status is not IncidentStatus.MONITORING:
            return None
        running = self._run_window(incident)
        if running is not None:
            return running[0] + timedelta(seconds=running[1])
        seconds = self._timing_seconds("hotfix", "window")
        if incident.monitoring_since is None or seconds is None:
            return None
        return incident.monitoring_since + timedelta(seconds=seconds)

    def retro_deadline(self, incident: Incident) -> datetime | None:
        """The guide's `retrospective within N hours`, counted from resolution."""
        seconds = self._timing_seconds("escalation", "deadline")
        if incident.resolved_at is None or seconds is None:
            return None
        return incident.resolved_at + timedelta(seconds=seconds)

    def incident_runs(self, incident: Incident) -> list[RunRef]:
        """The incident's own escalation run, plus the hotfix / rollback runs of linked releases that serve it."""
        refs = [RunRef("incident", incident.id, role) for role in incident.runs]
        for release_id in incident.release_ids:
            release = self.release(release_id)
            if release is None:
                continue
            refs += [RunRef("release", release.id, role) for role in ("hotfix", "rollback")
                     if role in release.runs and release.run_incidents.get(role, incident.id) == incident.id]
        return refs

    def active_run(self, owner: Release | Incident) -> str | None:
        """The run work is happening on now: a rollback while rolling back, else the first with items left."""
        if isinstance(owner, Release):
            if owner.stage is Stage.ROLLING_BACK:
                return "rollback"
            order = owner.run_order()
        else:
            order = list(owner.runs)
        return next((role for role in order if not owner.runs[role].complete), order[-1] if order else None)

    def _serves(self, ref: RunRef) -> list[Incident]:
        if ref.owner == "incident":
            incident = self.incident(ref.owner_id)
            return [incident] if incident else []
        release = self.release(ref.owner_id)
        if release is None:
            return []
        return [i for n in run_incidents(release, ref.role) if (i := self.incident(n)) is not None]

    def time_left(self, ref: RunRef, index: int) -> timedelta | None:
        """A timed item's countdown, one rule everywhere: a window from the step before it; a deadline
        (`within 48 hours`) for an incident from its resolution — None (not running) until then."""
        run = self.run(ref)
        if run is None:
            return None
        item = run.items[index]
        incidents = self._serves(ref)
        if item.timing is not None and item.timing.kind == "deadline" and incidents:
            deadlines = [d for i in incidents if (d := self.retro_deadline(i)) is not None]
            if not deadlines or item.settled:
                return None
            return min(deadlines) - self.now()
        return run.time_left(index, self.now())


_RELEASE_NOTES_ITEM = re.compile(r"\brelease notes\b", re.IGNORECASE)

__all__ = ["Workspace", "RunRef", "InputError", "GateBlocked", "NeedsConfirmation", "MAX_TEXT"]
