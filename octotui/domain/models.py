"""The records octotui keeps. Pydantic v2 models; every timestamp is timezone-aware UTC."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from octotui.domain.playbook import ChecklistSpec, ItemSpec
from octotui.domain.record import Record
from octotui.domain.roles import ChecklistRole
from octotui.domain.semver import ReleaseType
from octotui.domain.stages import Stage


class ItemState(StrEnum):
    TODO = "todo"
    DONE = "done"
    NA = "na"


class ItemSnapshot(Record):
    """What an item looked like before or after a change: what undo restores."""

    state: ItemState = ItemState.TODO
    by: str | None = None
    at: AwareDatetime | None = None
    note: str = ""
    na_reason: str = ""
    early: bool = False
    before_start: bool = False  # a window item checked before the item that starts it (confirmed, recorded)
    cause: str = ""  # when the app ticked it itself ("auto"): what it saw happen
    owner: str = ""  # who is to do it
    due: AwareDatetime | None = None


AUTO_AUTHOR = "auto"


class ChecklistEvent(Record):
    seq: int
    at: AwareDatetime
    author: str
    item: int
    action: Literal["done", "todo", "na", "note", "undo", "assign", "due"]
    before: ItemSnapshot
    after: ItemSnapshot
    undoes: int | None = None


class ChecklistItem(ItemSpec, ItemSnapshot):
    """The guide's item (text kept as the run started) plus its live state."""

    decision_id: int | None = None
    decision_skipped: bool = False

    @property
    def settled(self) -> bool:
        return self.state is not ItemState.TODO

    def snapshot(self) -> ItemSnapshot:
        return ItemSnapshot.model_validate(self.model_dump(include=set(ItemSnapshot.model_fields)))


class ChecklistRun(Record):
    role: str  # its key in the owner's runs: a ChecklistRole's value, or an extra checklist's slug
    name: str
    started_at: AwareDatetime
    items: list[ChecklistItem]
    history: list[ChecklistEvent] = Field(default_factory=list)

    @classmethod
    def from_spec(cls, spec: ChecklistSpec, now: datetime) -> ChecklistRun:
        # The run copies the guide's text now, so a later edit of the guide never rewrites it.
        items = [ChecklistItem(**item.model_dump()) for item in spec.items]
        return cls(role=spec.key, name=spec.name, started_at=now, items=items)

    # -- reading ------------------------------------------------------------------------
    @property
    def settled_count(self) -> int:
        return sum(item.settled for item in self.items)

    @property
    def complete(self) -> bool:
        return all(item.settled for item in self.items)

    def remaining(self) -> list[ChecklistItem]:
        return [item for item in self.items if not item.settled]

    def progress_label(self) -> str:
        return f"{self.settled_count}/{len(self.items)}"

    def stage_reached(self, stage: str) -> bool:
        return any(item.stage == stage and item.settled for item in self.items)

    def window_start(self, index: int) -> datetime | None:
        """A monitoring window starts when the item before it was checked."""
        if index == 0:
            return self.started_at
        previous = self.items[index - 1]
        return previous.at if previous.state is ItemState.DONE else None

    def time_left(self, index: int, now: datetime, deadline_anchor: datetime | None = None) -> timedelta | None:
        """Remaining time on a timed item: its window, or its deadline; None if not running."""
        item = self.items[index]
        if item.timing is None or item.settled:
            return None
        if item.timing.kind == "window":
            start = self.window_start(index)
        else:
            start = deadline_anchor or self.window_start(index) or self.started_at
        if start is None:
            return None
        return start + timedelta(seconds=item.timing.seconds) - now

    # -- changing -----------------------------------------------------------------------
    def _record(self, index: int, action: str, after: ItemSnapshot, author: str, now: datetime,
                undoes: int | None = None) -> ChecklistEvent:
        item = self.items[index]
        event = ChecklistEvent(seq=len(self.history) + 1, at=now, author=author, item=index, action=action,
                               before=item.snapshot(), after=after, undoes=undoes)
        for name, value in after.model_dump().items():
            setattr(item, name, value)
        self.history.append(event)
        return event

    def timing_question(self, index: int, now: datetime) -> tuple[str, str] | None:
        """Checking a window item needs a yes first: ("early", question) while its window runs, ("before_start",
        question) while the item that starts it is not checked; None otherwise."""
        item = self.items[index]
        if item.timing is None or item.timing.kind != "window" or item.settled:
            return None
        left = self.time_left(index, now)
        if left is not None and left > timedelta(0):
            minutes = math.ceil(left.total_seconds() / 60)
            return "early", (f"The {item.timing.phrase[4:]} window has about {minutes} min left. "
                             "Check it anyway (recorded as early)?")
        if index > 0 and self.window_start(index) is None:
            anchor = self.items[index - 1].text
            return "before_start", (f"Its {item.timing.phrase[4:]} window starts when “{anchor[:60]}” is checked, "
                                    "and it is not. Check it anyway (recorded as before its start)?")
        return None

    def set_state(self, index: int, state: ItemState, author: str, now: datetime, *, reason: str = "",
                  early: bool = False, cause: str = "", before_start: bool = False) -> ChecklistEvent:
        item = self.items[index]
        if state is ItemState.NA and not reason.strip():
            raise ValueError("an N/A item needs a reason")
        if state is ItemState.TODO:
            after = ItemSnapshot(note=item.note, owner=item.owner, due=item.due)
        else:
            after = ItemSnapshot(state=state, by=author, at=now, note=item.note, owner=item.owner, due=item.due,
                                 na_reason=reason.strip() if state is ItemState.NA else "", early=early, cause=cause,
                                 before_start=before_start)
        return self._record(index, state.value, after, author, now)

    def set_note(self, index: int, note: str, author: str, now: datetime) -> ChecklistEvent:
        after = self.items[index].snapshot().model_copy(update={"note": note})
        return self._record(index, "note", after, author, now)

    def assign(self, index: int, owner: str, author: str, now: datetime) -> ChecklistEvent:
        after = self.items[index].snapshot().model_copy(update={"owner": owner})
        return self._record(index, "assign", after, author, now)

    def set_due(self, index: int, due: datetime | None, author: str, now: datetime) -> ChecklistEvent:
        after = self.items[index].snapshot().model_copy(update={"due": due})
        return self._record(index, "due", after, author, now)

    def overdue(self, now: datetime) -> list[ChecklistItem]:
        return [item for item in self.items if item.due is not None and not item.settled and item.due < now]

    def auto_tick(self, fact: str, cause: str, now: datetime) -> ChecklistEvent | None:
        """Tick the open item the app can see done (`auto: FACT`), unless a person has touched it."""
        for index, item in enumerate(self.items):
            touched = any(event.item == index and event.author != AUTO_AUTHOR for event in self.history)
            if item.auto == fact and not item.settled and not touched:
                return self.set_state(index, ItemState.DONE, AUTO_AUTHOR, now, cause=cause)
        return None

    def undo(self, author: str, now: datetime) -> ChecklistEvent | None:
        """Undo the latest change not yet undone, as a new event: history is never erased."""
        undone = {event.undoes for event in self.history if event.undoes is not None}
        for event in reversed(self.history):
            if event.action != "undo" and event.seq not in undone:
                return self._record(event.item, "undo", event.before, author, now, undoes=event.seq)
        return None


ROLLBACK_FROM = (Stage.STAGING, Stage.PRODUCTION, Stage.VERIFIED)


class LifecycleEvent(Record):
    """A move of the release itself (not of a checklist item): cancel, reopen, sign-off, a downgrade deployed."""

    at: AwareDatetime
    by: str
    action: Literal["cancel", "reopen", "signoff", "downgrade"]
    reason: str = ""
    from_stage: str = ""


class ReleaseEdit(Record):
    """One changed field of a release (title, captain, target, a release-notes field...): who, when, old -> new.
    Kept with the release, never rewritten: the release report reads its history from these."""

    at: AwareDatetime
    by: str
    field: str
    old: str = ""
    new: str = ""


class Release(Record):
    id: int
    version: str
    type: ReleaseType
    title: str
    captain: str = ""
    target_date: date | None = None
    hotfix: bool = False
    created_at: AwareDatetime
    created_by: str = ""
    runs: dict[str, ChecklistRun] = Field(default_factory=dict)
    notes: dict[str, str] = Field(default_factory=dict)
    comms: dict[str, str] = Field(default_factory=dict)
    gate_override: int | None = None
    rollback_reason: str = ""
    cancelled_at: AwareDatetime | None = None
    cancel_reason: str = ""
    incident_ids: list[int] = Field(default_factory=list)
    decision_ids: list[int] = Field(default_factory=list)
    followup_of: int | None = None
    run_incidents: dict[str, int] = Field(default_factory=dict)  # rollback / hotfix run -> the incident it serves
    gate_override_pending: int | None = None  # a proposed decision: it overrides the gate once accepted
    gate_override_withdrawn: int | None = None  # the override that counted until it was superseded/rejected/deprecated
    lifecycle: list[LifecycleEvent] = Field(default_factory=list)
    edits: list[ReleaseEdit] = Field(default_factory=list)

    def last_edit(self, field: str) -> ReleaseEdit | None:
        return next((edit for edit in reversed(self.edits) if edit.field == field), None)

    @property
    def signoffs(self) -> list[LifecycleEvent]:
        return [event for event in self.lifecycle if event.action == "signoff"]

    @property
    def deployed_at(self) -> datetime | None:
        """When it went to Production (its work run's production step settled): the deployment history."""
        work = self.runs.get(self.work_role)
        return next((item.at for item in work.items if item.stage == "production" and item.settled), None) \
            if work is not None else None

    @property
    def downgrade_from(self) -> str:
        return next((event.reason for event in reversed(self.lifecycle) if event.action == "downgrade"), "")

    @property
    def reopened_at(self) -> datetime | None:
        return max((event.at for event in self.lifecycle if event.action == "reopen"), default=None)

    def reached_at(self, stage: Stage) -> datetime | None:
        """When the release entered a stage it is in now (for the locked end stages)."""
        if stage is Stage.CANCELLED:
            return self.cancelled_at
        if stage is Stage.ROLLED_BACK:
            runs = [self.runs[ChecklistRole.ROLLBACK]] if ChecklistRole.ROLLBACK in self.runs else []
        else:
            runs = [run for key in (self.work_role, *self.extra_keys()) if (run := self.runs.get(key)) is not None]
        return max((item.at for run in runs for item in run.items if item.at is not None), default=None)

    @property
    def key(self) -> str:
        return f"REL-{self.id}"

    @property
    def work_role(self) -> ChecklistRole:
        return ChecklistRole.HOTFIX if self.hotfix else ChecklistRole.DEPLOYMENT

    @property
    def gate_passed(self) -> bool:
        gate = self.runs.get(ChecklistRole.GATE)
        return self.gate_override is not None or (gate is not None and gate.complete)

    @property
    def override_withdrawn(self) -> bool:
        """An override stopped counting and the gate is not met by its checklist: the release waits."""
        gate = self.runs.get(ChecklistRole.GATE)
        return (self.gate_override_withdrawn is not None and self.gate_override is None
                and not (gate is not None and gate.complete))

    def gate_blockers(self) -> list[ChecklistItem]:
        gate = self.runs.get(ChecklistRole.GATE)
        return [] if gate is None else gate.remaining()

    @property
    def stage(self) -> Stage:
        """Derived from the runs, never stored: the stage follows the work."""
        if self.cancelled_at is not None:
            return Stage.CANCELLED
        rollback = self.runs.get(ChecklistRole.ROLLBACK)
        if rollback is not None:
            return Stage.ROLLED_BACK if rollback.complete else Stage.ROLLING_BACK
        work = self.runs.get(self.work_role)
        if work is not None and work.complete and all(self.runs[key].complete for key in self.extra_keys()):
            return Stage.VERIFIED  # everything done: the work and the guide's own checklists
        if work is not None and work.stage_reached("production"):
            return Stage.PRODUCTION
        if work is not None and work.stage_reached("staging"):
            return Stage.STAGING
        return Stage.GATE_PASSED if self.gate_passed else Stage.PLANNED

    def extra_keys(self) -> list[str]:
        """The runs of the guide's own checklists (no role), as the guide orders them."""
        return [key for key in self.runs if key not in set(ChecklistRole)]

    def run_order(self) -> list[str]:
        """The gate, the work, the guide's own checklists, then a rollback."""
        order = [ChecklistRole.GATE, self.work_role, *self.extra_keys(), ChecklistRole.ROLLBACK]
        return [str(key) for key in order if key in self.runs]

    def progress(self) -> tuple[int, int]:
        runs = [self.runs[role] for role in self.run_order()]
        return sum(run.settled_count for run in runs), sum(len(run.items) for run in runs)


class Severity(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class IncidentStatus(StrEnum):
    INVESTIGATING = "Investigating"
    IDENTIFIED = "Identified"
    MITIGATED = "Mitigated"
    MONITORING = "Monitoring"
    RESOLVED = "Resolved"


ROLES = {"commander": "Incident commander", "comms": "Comms lead", "tech": "Tech lead"}
MILESTONES = {"started_at": "Started", "acknowledged_at": "Acknowledged", "mitigated_at": "Mitigated",
              "resolved_at": "Resolved"}


class TimelineEvent(Record):
    at: AwareDatetime
    author: str
    kind: Literal["status", "checklist", "note", "update", "decision", "role", "severity", "milestone",
                  "snooze", "link", "impact", "clock", "title", "actions", "channel", "followup",
                  "promise"]  # a promised update time missed or moved (kept: the retro sees it)
    text: str


class Incident(Record):
    id: int
    title: str
    severity: Severity = Severity.P1
    status: IncidentStatus = IncidentStatus.INVESTIGATING
    impact: str = ""
    roles: dict[str, str] = Field(default_factory=dict)
    started_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    mitigated_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    monitoring_since: AwareDatetime | None = None
    timeline: list[TimelineEvent] = Field(default_factory=list)
    release_ids: list[int] = Field(default_factory=list)
    decision_ids: list[int] = Field(default_factory=list)
    runs: dict[str, ChecklistRun] = Field(default_factory=dict)
    last_update_at: AwareDatetime | None = None
    next_update_at: AwareDatetime | None = None  # the due time the last update named, when it chose one
    channel: str = ""
    snoozed_until: AwareDatetime | None = None
    comms: dict[str, str] = Field(default_factory=dict)
    current_actions: str = ""
    created_by: str = ""

    @property
    def key(self) -> str:
        return f"INC-{self.id}"

    @property
    def open(self) -> bool:
        return self.status is not IncidentStatus.RESOLVED

    def elapsed(self, now: datetime) -> timedelta:
        """Derived from stored times on every call; stops at resolution; never negative."""
        end = self.resolved_at or now
        return max(timedelta(0), end - self.started_at)


class DecisionStatus(StrEnum):
    """MADR's statuses."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DEPRECATED = "deprecated"
    SUPERSEDED = "superseded"


class DecisionEdit(Record):
    at: AwareDatetime
    author: str
    previous: dict[str, str]
    new: dict[str, str] = Field(default_factory=dict)  # what each field became (older records: unknown)

    def describe(self) -> str:
        """`status: proposed → accepted, title: “a” → “b”` (old → new, as far as it was recorded)."""
        parts = []
        for name, old in self.previous.items():
            after = self.new.get(name)
            parts.append(f"{name}: {old or '—'} → {after or '—'}" if name in self.new else f"{name} (was {old or '—'})")
        return ", ".join(parts)


class Decision(Record):
    id: int
    created_at: AwareDatetime
    date: date
    title: str
    context: str = ""
    decision: str = ""
    alternatives: str = ""
    consequences: str = ""
    owner: str = ""
    status: DecisionStatus = DecisionStatus.ACCEPTED
    superseded_by: int | None = None
    supersedes: int | None = None
    release_ids: list[int] = Field(default_factory=list)
    incident_ids: list[int] = Field(default_factory=list)
    item: str = ""
    kind: str = ""
    history: list[DecisionEdit] = Field(default_factory=list)

    @property
    def key(self) -> str:
        return f"DEC-{self.id}"

    def links_label(self) -> str:
        return ", ".join([f"REL-{n}" for n in self.release_ids] + [f"INC-{n}" for n in self.incident_ids])

    def status_label(self) -> str:
        if self.status is DecisionStatus.SUPERSEDED and self.superseded_by:
            return f"superseded by DEC-{self.superseded_by}"
        return self.status.value


def parse_key(text: str, prefix: str) -> int | None:
    """`REL-12` (any case, or just `12`) -> 12; anything else -> None."""
    text = text.strip().upper()
    if text.startswith(prefix + "-"):
        text = text[len(prefix) + 1 :]
    return int(text) if text.isdigit() and len(text) < 10 else None


def build_validators() -> None:
    """Build every record's validator now rather than on first use. Once before any bulk read: built in the
    middle of one, their long-lived schemas land among short-lived records and keep that memory pinned."""
    for model in (ItemSnapshot, ChecklistEvent, ChecklistItem, ChecklistRun, LifecycleEvent, ReleaseEdit, Release, TimelineEvent,
                  Incident, DecisionEdit, Decision):
        model.model_rebuild()
