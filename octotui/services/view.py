"""The workspace's state and its view: parsed records in memory, replaced (never edited) after a commit or a
refresh, so a reader on the event loop never sees a half-applied change and never touches the disk; and the
one unit of work every command runs in (`_command`).
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from octotui.domain import lifecycle
from octotui.domain.board import BoardRow
from octotui.domain.clock import Clock, SystemClock, current_author
from octotui.domain.models import ChecklistEvent, Decision, Incident, Release, TimelineEvent, build_validators
from octotui.domain.playbook import Playbook
from octotui.domain.refs import EVERYTHING_CHANGED, NOTHING_CHANGED, ChangeNotice, RecordRef
from octotui.domain.settings import Settings
from octotui.services import actions, team
from octotui.services.records import KIND, MODELS, PREFIX, TABLE_OF_KIND, Tx, View, bulk_adapter
from octotui.storage.base import EVENTS, META, Changes, Doc, Repository, Snapshot, ui_state_of
from octotui.storage.errors import StoreCorrupt, StoreError, StoreReadOnly

BULK_SLICE = 1000  # records validated per call when a table is parsed whole
MODELS_KEPT = 64  # releases kept parsed with their history: what a person moves between, not the whole board


class WorkspaceView:
    """The base every area builds on: the state, parsing, the view, its catch-up, and `_command` (the unit of work)."""

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
        self.last_changed = NOTHING_CHANGED  # what changed since the UI was last told (drain_changed)
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
        """In bulk (several times faster than one by one), a slice at a time: one bulk call holds the GIL
        throughout, so the event loop could not run (~0.3 s at 27k decisions) while a worker parsed them all."""
        adapter, items, parsed = bulk_adapter(MODELS[table]), list(docs.items()), {}
        try:
            for start in range(0, len(items), BULK_SLICE):
                parsed.update(adapter.validate_python(dict(items[start:start + BULK_SLICE])))
        except ValidationError as error:
            raise self._invalid(table, error.errors()[0]["loc"][0], error, skip=1) from None
        return parsed

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

    def _keep(self, release_id: int, row: BoardRow, release: Release) -> None:
        """Keep `release` parsed as the model of `row` (what `release()` returns while the row stands)."""
        with self._models_lock:
            self._models[release_id] = (row, release)
            self._models.move_to_end(release_id)
            while len(self._models) > MODELS_KEPT:
                self._models.popitem(last=False)

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

    def _absorb(self, changes: Changes, source: Snapshot, saved: dict[int, tuple[Doc, Release]] | None = None) -> ChangeNotice:
        """Apply changed documents to the view; returns the records that changed (or everything), told by
        reference: the storage's table/id report translated here. A release this process just `saved` (the
        model beside its document) is taken as it is while the store still holds that document, and kept as
        the parsed release of its new row. Raises StoreCorrupt, leaving the view as it was."""
        if not changes:
            return NOTHING_CHANGED
        if changes.everything:
            self._events.clear()
            tables = ("releases", "incidents") + (("decisions",) if self._view.decisions is not None else ())
            self._view = self._build(source, tables, meta=True)
            with self._models_lock:
                self._models.clear()
                self._past_incidents.clear()
            return EVERYTHING_CHANGED
        refs: set[RecordRef] = set()
        owners: dict[str, set[int]] = {"rows": set(), "incidents": set(), "decisions": set()}
        for table in owners:
            owners[table].update(changes.ids.get("releases" if table == "rows" else table, ()))
        timeline_only: dict[str, list[int]] = {}  # owner -> new timeline event ids, while nothing else changed
        other_streams: set[str] = set()
        for event_id in sorted(changes.ids.get(EVENTS, ())):
            self._events.pop(event_id, None)
            doc = source.get(EVENTS, event_id) or {}
            owner = str(doc.get("owner", ""))
            ref = RecordRef.parse(owner)  # the history's owner field, as stored: `REL-3`
            if ref is not None:
                owners["rows" if ref.kind == "release" else TABLE_OF_KIND[ref.kind]].add(ref.id)
                if doc.get("stream") == "timeline":
                    timeline_only.setdefault(owner, []).append(event_id)
                else:
                    other_streams.add(owner)
        for owner in other_streams:
            timeline_only.pop(owner, None)
        updates: dict[str, Any] = {}
        models: dict[int, tuple[BoardRow, Release]] = {}
        if owners["rows"]:
            rows = dict(self._view.rows)
            for record_id in owners.pop("rows"):
                stored = source.get("releases", record_id)
                if stored is None:
                    rows.pop(record_id, None)
                else:
                    ours = (saved or {}).get(record_id)
                    if ours is not None and ours[0] == stored:
                        row = self._row(ours[1])
                        models[record_id] = (row, ours[1])
                    else:
                        row = self._row(self._parse_release(record_id, stored))
                    rows[record_id] = row
                refs.add(RecordRef("release", record_id))
            updates["rows"] = rows
        else:
            owners.pop("rows")
        for table, ids in owners.items():
            current = getattr(self._view, table)
            if not ids or current is None:
                refs.update(RecordRef(KIND[table], n) for n in ids)
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
                    refs.add(RecordRef(KIND[table], record_id))
                    continue
                record = self._build_record(source, table, record_id)
                if record is None:
                    fresh.pop(record_id, None)
                else:
                    fresh[record_id] = record
                refs.add(RecordRef(KIND[table], record_id))
            updates[table] = fresh
        meta = bool(changes.ids.get(META))
        if meta:
            updates["meta"] = source.all(META)
        self._view = replace(self._view, **updates)
        for record_id, (row, release) in models.items():
            self._keep(record_id, row, release)
        return ChangeNotice(records=frozenset(refs), meta=meta)

    def _catch_up(self, source: Snapshot, saved: dict[int, tuple[Doc, Release]] | None = None) -> ChangeNotice:
        changes, generation = self.store.changes_since(self._generation)
        notice = self._absorb(changes, source, saved)
        self._generation = generation
        return notice

    def refresh(self) -> ChangeNotice:
        """Pick up other processes' changes (only those); what changed, by reference. Raises StoreError and
        keeps the last good view, and records the problem so saves are refused until it is fixed."""
        try:
            self.store.refresh()
            notice = self._catch_up(self.store.snapshot)
        except StoreError as error:
            self.problem = error
            raise
        self.problem = None
        self.last_changed |= notice
        return notice

    def signoffs_missing(self, release: Release) -> int:  # the sign-off rule every board row is derived by
        return lifecycle.signoffs_missing(release, self.settings.signoff)


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
        self.last_changed |= (self._catch_up(self.store.snapshot, tx.saved_releases)
                              | ChangeNotice(records=frozenset(tx.changed)))

    def drain_changed(self) -> ChangeNotice:
        """What the last command (or commands since the last call) changed."""
        changed, self.last_changed = self.last_changed, NOTHING_CHANGED
        return changed


    def ui_state(self) -> dict[str, Any]:
        """Where this author was (screen, release, incident, checklist row), to return there on restart."""
        return ui_state_of(self._view.meta, self.author)

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
