"""The workspace: every read and change the app (or a script) makes, as one API over the store.

Each change is a function applied to a freshly read record inside one store transaction, so two
processes on one file never lose each other's writes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from tinydb.table import Document

from octotui.domain.clock import Clock, SystemClock, current_author, local_time
from octotui.domain.models import (
    BOARD_ORDER,
    MILESTONES,
    ROLES,
    ROLLBACK_FROM,
    ChecklistRun,
    Decision,
    DecisionEdit,
    DecisionStatus,
    Incident,
    IncidentStatus,
    ItemState,
    Release,
    Severity,
    TimelineEvent,
)
from octotui.domain.playbook import Playbook
from octotui.domain.semver import InvalidVersion, ReleaseType, Version, implied_type, latest, suggest_next
from octotui.domain.settings import Settings
from octotui.storage.tinydb_store import META_TABLE, Store, StoreCorrupt

Model = TypeVar("Model", Release, Incident, Decision)
TABLES: dict[type[BaseModel], str] = {Release: "releases", Incident: "incidents", Decision: "decisions"}
MAX_TEXT = 20_000  # a pasted log is fine; a runaway paste is refused with a message


class InputError(ValueError):
    """Bad input, by field: the UI shows each message next to its field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class GateBlocked(Exception):
    def __init__(self, release: Release) -> None:
        self.blockers = release.gate_blockers()
        names = "; ".join(item.text for item in self.blockers)
        super().__init__(f"{release.key} cannot enter Staging: {len(self.blockers)} pre-release requirement(s) open: {names}")


class NeedsConfirmation(Exception):
    """The change is allowed only after the person confirms (e.g. ending a monitoring window early)."""


@dataclass(frozen=True)
class RunRef:
    """Which checklist run: of a release or an incident, by role (gate, deployment, hotfix...)."""

    owner: Literal["release", "incident"]
    owner_id: int
    role: str

    @property
    def owner_key(self) -> str:
        return f"{'REL' if self.owner == 'release' else 'INC'}-{self.owner_id}"


def _check_text(errors: dict[str, str], field: str, value: str, *, required: bool = False, label: str = "") -> str:
    value = value.strip()
    if required and not value:
        errors[field] = f"{label or field.capitalize()} is required"
    elif len(value) > MAX_TEXT:
        errors[field] = f"{label or field.capitalize()} is {len(value):,} characters; the limit is {MAX_TEXT:,}"
    return value


class Workspace:
    def __init__(self, store: Store, playbook: Playbook, clock: Clock | None = None, author: str | None = None,
                 settings: Settings | None = None) -> None:
        self.store = store
        self.playbook = playbook
        self.clock = clock or SystemClock()
        self.author = author or current_author()
        self.settings = settings or Settings()
        self._parsed: dict[str, tuple[dict, dict[int, Any], dict[int, dict]]] = {}

    def now(self) -> datetime:
        return self.clock.now()

    # -- reading ------------------------------------------------------------------------
    def _all(self, model: type[Model]) -> dict[int, Model]:
        """Parsed records of a table. Only documents that changed since the last call are parsed again:
        writes replace a document's dict (never edit it in place), so an unchanged dict means an
        unchanged record."""
        name = TABLES[model]
        raw = self.store.table(name)
        cached = self._parsed.get(name)
        if cached is not None and cached[0] is raw:
            return cached[1]
        try:
            if cached is None:
                parsed = _adapter(model).validate_python(raw)
                sources = {int(key): doc for key, doc in raw.items()}
            else:
                previous, sources = cached[1], {}
                parsed = {}
                for key, doc in raw.items():
                    doc_id = int(key)
                    sources[doc_id] = doc
                    same = cached[2].get(doc_id) is doc
                    parsed[doc_id] = previous[doc_id] if same else model.model_validate(doc)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            if cached is not None:
                where = f"{key}.{where}"
            raise StoreCorrupt(self.store.path, f"table {name!r} document {where}: {first['msg']}") from None
        self._parsed[name] = (raw, parsed, sources)
        return parsed

    def validate(self, *models: type[BaseModel]) -> None:
        """Check every record of these tables (all by default): a bad document is reported, never rewritten."""
        for model in models or tuple(TABLES):
            self._all(model)

    def validate_all(self) -> None:
        self.validate()

    def releases(self) -> list[Release]:
        """By stage (board order), newest version first within a stage."""
        order = {stage: index for index, stage in enumerate(BOARD_ORDER)}
        newest_first = sorted(self._all(Release).values(), key=lambda r: (_version_key(r.version), r.id), reverse=True)
        ranked = [(order[release.stage], position, release) for position, release in enumerate(newest_first)]
        return [release for _rank, _position, release in sorted(ranked)]

    def release(self, release_id: int) -> Release | None:
        return self._all(Release).get(release_id)

    def incidents(self) -> list[Incident]:
        return sorted(self._all(Incident).values(), key=lambda i: (not i.open, -i.started_at.timestamp(), -i.id))

    def incident(self, incident_id: int) -> Incident | None:
        return self._all(Incident).get(incident_id)

    def open_incidents(self) -> list[Incident]:
        return [incident for incident in self.incidents() if incident.open]

    def decision(self, decision_id: int) -> Decision | None:
        return self._all(Decision).get(decision_id)

    def decisions(self) -> dict[int, Decision]:
        return self._all(Decision)

    def decisions_newest_first(self) -> list[Decision]:
        return sorted(self._all(Decision).values(), key=lambda d: d.id, reverse=True)

    def run(self, ref: RunRef) -> ChecklistRun | None:
        owner = self.release(ref.owner_id) if ref.owner == "release" else self.incident(ref.owner_id)
        return None if owner is None else owner.runs.get(ref.role)

    def is_empty(self) -> bool:
        return not any(self.store.table(name) for name in TABLES.values())

    # -- writing ------------------------------------------------------------------------
    def _insert(self, model: type[Model], build: Callable[[int], Model]) -> Model:
        with self.store.transaction() as db:
            table = db.table(TABLES[model])
            new_id = max((int(key) for key in self.store.storage.read().get(TABLES[model], {})), default=0) + 1
            record = build(new_id)
            table.insert(Document(record.model_dump(mode="json"), doc_id=new_id))
        return record

    def _change(self, model: type[Model], record_id: int, change: Callable[[Model], Any],
                also: Callable[[Any, Model], None] | None = None) -> Model:
        """Read fresh under the lock, apply `change`, write back; `also` may touch other records."""
        with self.store.transaction() as db:
            table = db.table(TABLES[model])
            raw = table.get(doc_id=record_id)
            if raw is None:
                raise KeyError(f"{model.__name__} {record_id} not found")
            record = model.model_validate(dict(raw))
            change(record)
            _replace(table, record_id, record)
            if also is not None:
                also(db, record)
        return record

    def _change_other(self, db: Any, model: type[Model], record_id: int, change: Callable[[Model], Any]) -> None:
        table = db.table(TABLES[model])
        raw = table.get(doc_id=record_id)
        if raw is not None:
            record = model.model_validate(dict(raw))
            change(record)
            _replace(table, record_id, record)

    # -- releases -------------------------------------------------------------------------
    def suggest_type(self, version_text: str, excluding: int | None = None) -> ReleaseType | None:
        """The type implied by the step from the closest earlier version on the board."""
        try:
            version = Version.parse(version_text)
        except InvalidVersion:
            return None
        earlier = latest([r.version for r in self._all(Release).values()
                          if r.id != excluding and _version_key(r.version) < (0, version)])
        return implied_type(version, earlier)

    def suggest_version(self, kind: ReleaseType = ReleaseType.MINOR) -> str:
        return suggest_next([r.version for r in self._all(Release).values()], kind)

    def _validate_release(self, fields: dict[str, Any], existing: Release | None) -> dict[str, Any]:
        errors: dict[str, str] = {}
        version_text = str(fields.get("version", "")).strip()
        try:
            version = Version.parse(version_text)
            clash = next((r for r in self._all(Release).values()
                          if (existing is None or r.id != existing.id) and _same_version(r.version, version)), None)
            if clash:
                errors["version"] = f"{version} already exists ({clash.key}: {clash.title[:40]})"
        except InvalidVersion as error:
            errors["version"] = str(error) if version_text else "Version is required (e.g. 1.4.0)"
        title = _check_text(errors, "title", str(fields.get("title", "")), required=True)
        captain = _check_text(errors, "captain", str(fields.get("captain", "")))
        kind = fields.get("type") or self.suggest_type(version_text) or ReleaseType.MINOR
        try:
            kind = ReleaseType(kind)
        except ValueError:
            errors["type"] = "Type must be patch, minor or major"
        target = fields.get("target_date")
        if isinstance(target, str):
            target = target.strip()
            if target:
                try:
                    target = date.fromisoformat(target)
                except ValueError:
                    errors["target_date"] = f"{target[:20]!r} is not a date (YYYY-MM-DD)"
            else:
                target = None
        today = self.now().astimezone().date()
        if isinstance(target, date) and target < today and (existing is None or existing.target_date != target):
            errors["target_date"] = f"{target} is in the past (today is {today})"
        if errors:
            raise InputError(errors)
        return {"version": version_text, "title": title, "captain": captain, "type": kind, "target_date": target}

    def create_release(self, *, hotfix: bool = False, followup_of: int | None = None,
                       incident_id: int | None = None, **fields: Any) -> Release:
        clean = self._validate_release(fields, None)
        now = self.now()
        runs = {"gate": ChecklistRun.from_spec(self.playbook.by_role("gate"), now)}
        work_role = "hotfix" if hotfix else "deployment"
        runs[work_role] = ChecklistRun.from_spec(self.playbook.by_role(work_role), now)

        def build(new_id: int) -> Release:
            return Release(id=new_id, created_at=now, created_by=self.author, hotfix=hotfix, runs=runs,
                           followup_of=followup_of, incident_ids=[incident_id] if incident_id else [], **clean)

        release = self._insert(Release, build)
        if incident_id is not None:
            self._change(Incident, incident_id, lambda inc: (
                setattr(inc, "release_id", release.id),
                self._timeline(inc, "link", f"Linked to {release.key} {release.version} (hotfix)" if hotfix
                               else f"Linked to {release.key} {release.version}")))
        return release

    def update_release(self, release_id: int, **fields: Any) -> Release:
        existing = self.release(release_id)
        if existing is None:
            raise KeyError(release_id)
        clean = self._validate_release(fields, existing)
        return self._change(Release, release_id, lambda r: [setattr(r, k, v) for k, v in clean.items()])

    def cancel_release(self, release_id: int, reason: str = "") -> Release:
        def cancel(release: Release) -> None:
            release.cancelled_at = self.now()
            release.cancel_reason = reason.strip()
        return self._change(Release, release_id, cancel)

    def set_release_notes(self, release_id: int, notes: dict[str, str]) -> Release:
        errors: dict[str, str] = {}
        clean = {key: _check_text(errors, key, value) for key, value in notes.items()}
        if errors:
            raise InputError(errors)
        return self._change(Release, release_id, lambda r: r.notes.update(clean))

    def start_rollback(self, release_id: int, reason: str) -> Release:
        errors: dict[str, str] = {}
        reason = _check_text(errors, "reason", reason, required=True, label="A reason")
        if errors:
            raise InputError(errors)

        def roll_back(release: Release) -> None:
            if release.stage not in ROLLBACK_FROM:
                raise InputError({"stage": f"{release.key} is {release.stage}; only a release in Staging or later can be rolled back"})
            release.rollback_reason = reason
            release.runs["rollback"] = ChecklistRun.from_spec(self.playbook.by_role("rollback"), self.now())

        release = self._change(Release, release_id, roll_back)
        for incident_id in release.incident_ids:
            self._change(Incident, incident_id, lambda inc: self._timeline(
                inc, "status", f"Rollback of {release.key} {release.version} started: {reason}"))
        return release

    # -- checklists -----------------------------------------------------------------------
    def change_item(self, ref: RunRef, index: int, action: Literal["toggle", "na", "note", "undo"], *,
                    text: str = "", confirm_early: bool = False) -> ChecklistRun:
        """Check/uncheck, N/A with a reason, note, or undo, recorded with who and when.

        Raises GateBlocked if the change would move a release past the gate, NeedsConfirmation for
        an early end to a timed window, InputError for bad text.
        """
        now = self.now()
        errors: dict[str, str] = {}
        if action == "na":
            text = _check_text(errors, "reason", text, required=True, label="A reason")
        elif action == "note":
            text = _check_text(errors, "note", text, label="The note")
        if errors:
            raise InputError(errors)

        def apply(owner: Release | Incident) -> None:
            run = owner.runs[ref.role]
            if action == "undo":
                if run.undo(self.author, now) is None:
                    raise InputError({"undo": "nothing to undo in this checklist"})
                return
            item = run.items[index]
            if action == "note":
                run.set_note(index, text, self.author, now)
                return
            target = ItemState.NA if action == "na" else (ItemState.TODO if item.settled else ItemState.DONE)
            if isinstance(owner, Release) and target is not ItemState.TODO and item.stage and not owner.gate_passed:
                raise GateBlocked(owner)
            early = False
            left = run.time_left(index, now)
            if target is ItemState.DONE and item.timing and item.timing.kind == "window" and left and left > timedelta(0):
                if not confirm_early:
                    minutes = math.ceil(left.total_seconds() / 60)
                    raise NeedsConfirmation(f"The {item.timing.phrase[4:]} window has about {minutes} min left. Check it anyway (recorded as early)?")
                early = True
            run.set_state(index, target, self.author, now, reason=text, early=early)

        def log_on_incidents(db: Any, owner: Release | Incident) -> None:
            run = owner.runs[ref.role]
            event = run.history[-1]
            line = _describe_event(run, event)
            if isinstance(owner, Incident):
                self._timeline(owner, "checklist", line)
                _replace(db.table("incidents"), owner.id, owner)
                return
            for incident_id in owner.incident_ids:
                self._change_other(db, Incident, incident_id,
                                   lambda inc: self._timeline(inc, "checklist", f"{owner.key} {line}"))

        model = Release if ref.owner == "release" else Incident
        owner = self._change(model, ref.owner_id, apply, also=log_on_incidents)
        return owner.runs[ref.role]

    def ui_state(self) -> dict[str, Any]:
        """Where this author was (screen, release, incident, checklist row), to return there on restart."""
        for doc in self.store.table(META_TABLE).values():
            if "ui" in doc:
                return dict(doc["ui"].get(self.author, {}))
        return {}

    def save_ui_state(self, state: dict[str, Any]) -> None:
        if self.store.read_only or state == self.ui_state():
            return
        with self.store.transaction() as db:
            meta = db.table(META_TABLE)
            docs = meta.all()
            holder = next((doc for doc in docs if "ui" in doc), None)
            if holder is None:
                meta.insert({"ui": {self.author: state}})
            else:
                ui = dict(holder["ui"])
                ui[self.author] = state
                meta.update({"ui": ui}, doc_ids=[holder.doc_id])

    def skip_decision(self, ref: RunRef, index: int) -> None:
        model = Release if ref.owner == "release" else Incident
        self._change(model, ref.owner_id, lambda o: setattr(o.runs[ref.role].items[index], "decision_skipped", True))

    # -- decisions ------------------------------------------------------------------------
    def _validate_decision(self, fields: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        clean["title"] = _check_text(errors, "title", str(fields.get("title", "")), required=True)
        clean["decision"] = _check_text(errors, "decision", str(fields.get("decision", "")), required=True,
                                        label="The decision")
        for name in ("context", "alternatives", "consequences"):
            clean[name] = _check_text(errors, name, str(fields.get(name, "")))
        clean["owner"] = _check_text(errors, "owner", str(fields.get("owner", ""))) or self.author
        status = fields.get("status", DecisionStatus.ACCEPTED)
        if status not in (DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED, "proposed", "accepted"):
            errors["status"] = "Status must be proposed or accepted"
        clean["status"] = DecisionStatus(status) if status in ("proposed", "accepted") else DecisionStatus.ACCEPTED
        if "links" in fields:
            release_ids, incident_ids, bad = self.parse_links(str(fields["links"]))
            if bad:
                errors["links"] = f"unknown link(s): {', '.join(bad)} (use REL-n or INC-n, comma separated)"
            clean["release_ids"], clean["incident_ids"] = release_ids, incident_ids
        if errors:
            raise InputError(errors)
        return clean

    def parse_links(self, text: str) -> tuple[list[int], list[int], list[str]]:
        releases, incidents, bad = [], [], []
        for part in text.replace(";", ",").replace(" ", ",").split(","):
            part = part.strip().upper()
            if not part:
                continue
            prefix, _, number = part.partition("-")
            target = {"REL": (releases, self.release), "INC": (incidents, self.incident)}.get(prefix)
            if target and number.isdigit() and len(number) < 10 and target[1](int(number)) is not None:
                if int(number) not in target[0]:
                    target[0].append(int(number))
            else:
                bad.append(part[:20])
        return releases, incidents, bad

    def record_decision(self, *, item_ref: RunRef | None = None, item_index: int | None = None, kind: str = "",
                        supersedes: int | None = None, gate_override_for: int | None = None,
                        **fields: Any) -> Decision:
        clean = self._validate_decision(fields)
        now = self.now()
        item_text = ""
        if item_ref is not None and item_index is not None:
            run = self.run(item_ref)
            if run is not None:
                item_text = run.items[item_index].text
        if supersedes is not None and self.decision(supersedes) is None:
            raise InputError({"supersedes": f"DEC-{supersedes} does not exist"})

        decision = self._insert(Decision, lambda new_id: Decision(
            id=new_id, created_at=now, date=now.astimezone().date(), item=item_text, kind=kind,
            supersedes=supersedes, **clean))

        with self.store.transaction() as db:
            for release_id in decision.release_ids:
                def link_release(release: Release) -> None:
                    release.decision_ids.append(decision.id)
                    if gate_override_for == release.id:
                        release.gate_override = decision.id
                    if item_ref is not None and item_ref.owner == "release" and item_ref.owner_id == release.id:
                        release.runs[item_ref.role].items[item_index].decision_id = decision.id
                self._change_other(db, Release, release_id, link_release)
            for incident_id in decision.incident_ids:
                def link_incident(incident: Incident) -> None:
                    incident.decision_ids.append(decision.id)
                    if item_ref is not None and item_ref.owner == "incident" and item_ref.owner_id == incident.id:
                        incident.runs[item_ref.role].items[item_index].decision_id = decision.id
                    self._timeline(incident, "decision", f"{decision.key} recorded: {decision.title}")
                self._change_other(db, Incident, incident_id, link_incident)
            if supersedes is not None:
                def mark_superseded(old: Decision) -> None:
                    old.status = DecisionStatus.SUPERSEDED
                    old.superseded_by = decision.id
                    old.history.append(DecisionEdit(at=now, author=self.author,
                                                    previous={"status": "accepted", "superseded_by": ""}))
                self._change_other(db, Decision, supersedes, mark_superseded)
        return decision

    def override_gate(self, release_id: int, **fields: Any) -> Decision:
        release = self.release(release_id)
        if release is None:
            raise KeyError(release_id)
        fields.setdefault("links", release.key)
        return self.record_decision(kind="gate-override", gate_override_for=release_id, **fields)

    def edit_decision(self, decision_id: int, **fields: Any) -> Decision:
        existing = self.decision(decision_id)
        if existing is None:
            raise KeyError(decision_id)
        merged = {name: getattr(existing, name) for name in ("title", "context", "decision", "alternatives",
                                                              "consequences", "owner")}
        merged["status"] = existing.status if existing.status is not DecisionStatus.SUPERSEDED else "accepted"
        merged["links"] = existing.links_label()
        merged.update(fields)
        clean = self._validate_decision(merged)
        if existing.status is DecisionStatus.SUPERSEDED:
            clean["status"] = DecisionStatus.SUPERSEDED  # superseding is undone only by the other record

        def edit(decision: Decision) -> None:
            previous = {}
            for name, value in clean.items():
                old = getattr(decision, name)
                if old != value:
                    previous[name] = old if isinstance(old, str) else str(old)
                    setattr(decision, name, value)
            if previous:
                decision.history.append(DecisionEdit(at=self.now(), author=self.author, previous=previous))

        return self._change(Decision, decision_id, edit)

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
        seen, current = set(), self.decision(old_id)
        while current is not None and current.supersedes is not None and current.id not in seen:
            seen.add(current.id)
            if current.supersedes == new_id:
                raise InputError({"supersedes": f"DEC-{new_id} is already superseded through DEC-{old_id}: that would make a cycle"})
            current = self.decision(current.supersedes)

    def supersede_existing(self, new_id: int, old_id: int) -> None:
        """Link two existing decisions: new supersedes old (both ways)."""
        self.check_supersede(new_id, old_id)
        now = self.now()
        with self.store.transaction() as db:
            def new_side(decision: Decision) -> None:
                decision.history.append(DecisionEdit(at=now, author=self.author,
                                                     previous={"supersedes": str(decision.supersedes or "")}))
                decision.supersedes = old_id
            def old_side(decision: Decision) -> None:
                decision.history.append(DecisionEdit(at=now, author=self.author, previous={"status": decision.status.value}))
                decision.status, decision.superseded_by = DecisionStatus.SUPERSEDED, new_id
            self._change_other(db, Decision, new_id, new_side)
            self._change_other(db, Decision, old_id, old_side)

    # -- incidents ------------------------------------------------------------------------
    def _timeline(self, incident: Incident, kind: str, text: str, at: datetime | None = None) -> None:
        incident.timeline.append(TimelineEvent(at=at or self.now(), author=self.author, kind=kind, text=text))

    def start_incident(self, title: str, severity: Severity | str = Severity.P1, started_at: datetime | None = None,
                       release_id: int | None = None, impact: str = "") -> Incident:
        errors: dict[str, str] = {}
        title = _check_text(errors, "title", title, required=True)
        impact = _check_text(errors, "impact", impact)
        try:
            severity = Severity(severity)
        except ValueError:
            errors["severity"] = "Severity must be P0, P1, P2 or P3"
        now = self.now()
        started = started_at or now
        if started > now:
            errors["started"] = f"{local_time(started)} is in the future"
        if release_id is not None and self.release(release_id) is None:
            errors["release"] = f"REL-{release_id} does not exist"
        if errors:
            raise InputError(errors)

        def build(new_id: int) -> Incident:
            incident = Incident(id=new_id, title=title, severity=severity, started_at=started, release_id=release_id,
                                impact=impact, created_by=self.author, roles={"commander": self.author},
                                runs={"escalation": ChecklistRun.from_spec(self.playbook.by_role("escalation"), now)})
            self._timeline(incident, "status", f"Incident started: {severity} {IncidentStatus.INVESTIGATING}", at=started)
            return incident

        incident = self._insert(Incident, build)
        if release_id is not None:
            self._change(Release, release_id, lambda r: r.incident_ids.append(incident.id))
        return incident

    def set_status(self, incident_id: int, status: IncidentStatus | str) -> Incident:
        status = IncidentStatus(status)

        def change(incident: Incident) -> None:
            if incident.status == status:
                return
            now = self._ordered_now(incident)
            order = list(IncidentStatus)
            reached = order.index(status)
            if reached >= order.index(IncidentStatus.IDENTIFIED) and incident.acknowledged_at is None:
                incident.acknowledged_at = now
            if reached >= order.index(IncidentStatus.MITIGATED) and incident.mitigated_at is None:
                incident.mitigated_at = now
            if status is IncidentStatus.MONITORING:
                incident.monitoring_since = now
            if status is IncidentStatus.RESOLVED:
                incident.resolved_at = now
            elif incident.resolved_at is not None:
                incident.resolved_at = None  # reopened: the clock runs again
            self._timeline(incident, "status", f"Status: {incident.status} → {status}", at=now)
            incident.status = status

        return self._change(Incident, incident_id, change)

    def _ordered_now(self, incident: Incident) -> datetime:
        """Now, but never before a milestone already recorded (the system clock can jump back)."""
        stamps = [getattr(incident, name) for name in MILESTONES if getattr(incident, name) is not None]
        return max([self.now(), *stamps])

    def set_severity(self, incident_id: int, severity: Severity | str) -> Incident:
        severity = Severity(severity)

        def change(incident: Incident) -> None:
            if incident.severity != severity:
                self._timeline(incident, "severity", f"Severity: {incident.severity} → {severity}")
                incident.severity = severity

        return self._change(Incident, incident_id, change)

    def assign_role(self, incident_id: int, role: str, person: str) -> Incident:
        errors: dict[str, str] = {}
        if role not in ROLES:
            errors["role"] = f"unknown role {role!r}"
        person = _check_text(errors, "person", person, required=True, label="A name")
        if len(person) > 200:
            errors["person"] = "A name is at most 200 characters"
        if errors:
            raise InputError(errors)

        def change(incident: Incident) -> None:
            before = incident.roles.get(role)
            if before == person:
                return
            incident.roles[role] = person
            verb = f"handed from {before} to {person}" if before else f"assigned to {person}"
            self._timeline(incident, "role", f"{ROLES[role]} {verb}")

        return self._change(Incident, incident_id, change)

    def set_impact(self, incident_id: int, impact: str) -> Incident:
        errors: dict[str, str] = {}
        impact = _check_text(errors, "impact", impact)
        if errors:
            raise InputError(errors)
        return self._change(Incident, incident_id, lambda inc: (
            setattr(inc, "impact", impact), self._timeline(inc, "impact", f"Impact: {impact or '(cleared)'}")))

    def set_current_actions(self, incident_id: int, text: str) -> Incident:
        errors: dict[str, str] = {}
        text = _check_text(errors, "actions", text)
        if errors:
            raise InputError(errors)
        return self._change(Incident, incident_id, lambda inc: setattr(inc, "current_actions", text))

    def set_milestone(self, incident_id: int, name: str, moment: datetime | None) -> Incident:
        if name not in MILESTONES:
            raise InputError({name: f"unknown milestone {name!r}"})
        incident = self.incident(incident_id)
        if incident is None:
            raise KeyError(incident_id)
        if moment is not None and moment > self.now():
            raise InputError({name: f"{local_time(moment)} is in the future"})
        if name == "started_at" and moment is None:
            raise InputError({name: "an incident always has a start time"})
        proposed = {key: getattr(incident, key) for key in MILESTONES}
        proposed[name] = moment
        names = list(MILESTONES)
        for earlier_index, earlier in enumerate(names):
            for later in names[earlier_index + 1 :]:
                a, b = proposed[earlier], proposed[later]
                if a is not None and b is not None and b < a:
                    raise InputError({name: f"{MILESTONES[later]} ({local_time(b)}) cannot be before "
                                            f"{MILESTONES[earlier]} ({local_time(a)})"})

        def change(record: Incident) -> None:
            setattr(record, name, moment)
            self._timeline(record, "milestone", f"{MILESTONES[name]} set to {local_time(moment)}")

        return self._change(Incident, incident_id, change)

    def add_note(self, incident_id: int, text: str, at: datetime | None = None) -> Incident:
        errors: dict[str, str] = {}
        text = _check_text(errors, "note", text, required=True, label="A note")
        if at is not None and at > self.now():
            errors["at"] = f"{local_time(at)} is in the future"
        if errors:
            raise InputError(errors)
        return self._change(Incident, incident_id, lambda inc: self._timeline(inc, "note", text, at=at))

    def record_update_sent(self, incident_id: int, template_title: str) -> Incident:
        def change(incident: Incident) -> None:
            incident.last_update_at = self.now()
            incident.snoozed_until = None
            self._timeline(incident, "update", f"{template_title} sent (copied)")
        return self._change(Incident, incident_id, change)

    def snooze_update(self, incident_id: int, minutes: int = 5) -> Incident:
        def change(incident: Incident) -> None:
            incident.snoozed_until = self.now() + timedelta(minutes=minutes)
            self._timeline(incident, "snooze", f"Status update reminder snoozed for {minutes} min")
        return self._change(Incident, incident_id, change)

    def set_comms_text(self, owner: Literal["release", "incident"], owner_id: int, template: str, text: str | None) -> None:
        model = Release if owner == "release" else Incident

        def change(record: Release | Incident) -> None:
            if text is None:
                record.comms.pop(template, None)
            else:
                record.comms[template] = text
        self._change(model, owner_id, change)

    # -- incident clocks (pure reads) -----------------------------------------------------------
    def next_update_due(self, incident: Incident) -> datetime | None:
        interval = self.settings.update_interval(incident.severity)
        if interval is None or not incident.open:
            return None
        due = (incident.last_update_at or incident.started_at) + interval
        if incident.snoozed_until is not None and incident.snoozed_until > due:
            due = incident.snoozed_until
        return due

    def _timing_seconds(self, role: str, kind: str) -> int | None:
        for item in self.playbook.by_role(role).items:
            if item.timing is not None and item.timing.kind == kind:
                return item.timing.seconds
        return None

    def monitoring_ends(self, incident: Incident) -> datetime | None:
        """The guide's monitoring window (hotfix checklist's `monitor for N+ minutes`)."""
        seconds = self._timing_seconds("hotfix", "window")
        if incident.status is not IncidentStatus.MONITORING or incident.monitoring_since is None or seconds is None:
            return None
        return incident.monitoring_since + timedelta(seconds=seconds)

    def retro_deadline(self, incident: Incident) -> datetime | None:
        """The guide's `retrospective within N hours`, counted from resolution."""
        seconds = self._timing_seconds("escalation", "deadline")
        if incident.resolved_at is None or seconds is None:
            return None
        return incident.resolved_at + timedelta(seconds=seconds)

    def incident_runs(self, incident: Incident) -> list[RunRef]:
        """The incident's own escalation run, plus the hotfix / rollback run of a linked release."""
        refs = [RunRef("incident", incident.id, role) for role in incident.runs]
        release = self.release(incident.release_id) if incident.release_id else None
        if release is not None:
            refs += [RunRef("release", release.id, role) for role in ("hotfix", "rollback") if role in release.runs]
        return refs

    def deadline_anchor(self, ref: RunRef) -> datetime | None:
        """A deadline such as `within 48 hours` counts from the incident's resolution when there is one."""
        if ref.owner == "incident":
            incident = self.incident(ref.owner_id)
            return incident.resolved_at if incident else None
        release = self.release(ref.owner_id)
        for incident_id in release.incident_ids if release else []:
            incident = self.incident(incident_id)
            if incident is not None and incident.resolved_at is not None:
                return incident.resolved_at
        return None


@cache
def _adapter(model: type[BaseModel]) -> TypeAdapter:
    return TypeAdapter(dict[int, model])


def _replace(table: Any, doc_id: int, record: BaseModel) -> None:
    """A new dict for the document, never an edit in place: Workspace._all relies on it."""
    table.remove(doc_ids=[doc_id])
    table.insert(Document(record.model_dump(mode="json"), doc_id=doc_id))


def _describe_event(run: ChecklistRun, event: Any) -> str:
    item = run.items[event.item]
    words = {"done": "checked", "todo": "unchecked", "na": "marked N/A", "note": "noted", "undo": "undid a change on"}
    line = f"{run.name}: {words[event.action]} “{item.text}”"
    if event.action == "na":
        line += f" (reason: {event.after.na_reason})"
    if event.after.early and event.action == "done":
        line += " (early)"
    return line


def _version_key(text: str) -> Any:
    try:
        return (0, Version.parse(text))
    except InvalidVersion:
        return (1, text)


def _same_version(text: str, version: Version) -> bool:
    try:
        return Version.parse(text) == version  # build metadata does not make a new version
    except InvalidVersion:
        return False


__all__ = ["Workspace", "RunRef", "InputError", "GateBlocked", "NeedsConfirmation"]
