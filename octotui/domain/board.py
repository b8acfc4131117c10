"""The release board's row: what the board shows of a release, as plain data.

Every saved release carries what its row derives (stage, progress, due times, sign-offs missing) as `board`
in its document, written from the model at each save; the rest of the row is the document's own fields.
So the first screen of a start can be built from the stored rows alone: no pydantic, no model parsing,
no history. Once the workspace has parsed the releases, the same rows are made from the models, and the
board repaints only if something differs (rules in the settings changed, time made an item overdue).
This module imports nothing heavier than the standard library and the SemVer parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from octotui.domain.semver import precedence_of
from octotui.domain.stages import Stage

if TYPE_CHECKING:
    from octotui.domain.models import Release


BOARD_ORDER = list(Stage)
_TARGETED = (Stage.PLANNED, Stage.GATE_PASSED, Stage.STAGING)  # a target date passed still matters
_RANK = {stage: index for index, stage in enumerate(BOARD_ORDER)}
PROJECTION_VERSION = 1  # bumped when BoardRow's stored shape changes: older rows are then recomputed


def version_key(text: str) -> Any:
    """SemVer precedence where the text parses; after every valid version otherwise (by text). A plain tuple:
    sorting thousands of releases compares in C, not through Version's methods."""
    precedence = precedence_of(text)
    return (1, text) if precedence is None else (0, precedence)


def board_sorted(items: list[Any], stage_of: Any, version_of: Any, id_of: Any) -> list[Any]:
    """Board order: by stage, then newest version first, then newest record first within a version."""
    newest_first = sorted(items, key=lambda item: (version_key(version_of(item)), id_of(item)), reverse=True)
    return [item for _rank, _position, item in sorted(
        ((_RANK[stage_of(item)], position, item) for position, item in enumerate(newest_first)),
        key=lambda entry: (entry[0], entry[1]))]


@dataclass(frozen=True)
class BoardRow:
    id: int
    version: str
    type: str
    title: str
    captain: str
    target_date: date | None
    stage: Stage
    done: int
    total: int
    hotfix: bool = False
    gate_override: int | None = None
    gate_override_pending: int | None = None
    signoffs_missing: int = 0
    dues: tuple[datetime, ...] = ()  # due times of the items not yet settled: "overdue" depends on now
    incident_ids: tuple[int, ...] = ()
    rollback_reason: str = ""
    cancel_reason: str = ""
    followup_of: int | None = None
    override_withdrawn: int | None = None  # the override that stopped counting while the gate is not met
    deployed_at: datetime | None = None  # when it went to Production: "in production" is the latest of these
    downgrade_from: str = ""  # deployed below what production ran: "2.4.0 (REL-2)"
    reopened: bool = False  # reopened after reaching an end stage, and not locked again since

    @property
    def key(self) -> str:
        return f"REL-{self.id}"

    @classmethod
    def of(cls, release: Release, stage: Stage | None = None, signoffs_missing: int = 0) -> BoardRow:
        done, total = release.progress()
        return cls(
            id=release.id, version=release.version, type=release.type.value, title=release.title,
            captain=release.captain, target_date=release.target_date, stage=stage or release.stage,
            done=done, total=total, hotfix=release.hotfix, gate_override=release.gate_override,
            gate_override_pending=release.gate_override_pending, signoffs_missing=signoffs_missing,
            dues=tuple(item.due for run in release.runs.values() for item in run.items
                       if item.due is not None and not item.settled),
            incident_ids=tuple(release.incident_ids), rollback_reason=release.rollback_reason,
            cancel_reason=release.cancel_reason, followup_of=release.followup_of,
            override_withdrawn=release.gate_override_withdrawn if release.override_withdrawn else None,
            deployed_at=release.deployed_at, downgrade_from=release.downgrade_from, reopened=_reopened(release))

    def derived(self) -> dict[str, Any]:
        """What the document does not hold itself, stored beside it as `board` (the rest is its own fields)."""
        return {"v": PROJECTION_VERSION, "stage": self.stage.value, "done": self.done, "total": self.total,
                "signoffs_missing": self.signoffs_missing, "dues": [due.isoformat() for due in self.dues],
                "override_withdrawn": self.override_withdrawn,
                "deployed_at": self.deployed_at.isoformat() if self.deployed_at else None,
                "downgrade_from": self.downgrade_from, "reopened": self.reopened}

    @classmethod
    def from_doc(cls, record_id: int, doc: Any) -> BoardRow | None:
        """The row of a stored release document, or None when its `board` part is missing, of another shape
        or damaged, or the document itself is (then the models decide, and report what is wrong)."""
        derived = doc.get("board") if isinstance(doc, dict) else None
        if not isinstance(derived, dict) or derived.get("v") != PROJECTION_VERSION:
            return None
        try:
            target = doc.get("target_date")
            return cls(
                id=record_id, version=_text(doc["version"]), type=_text(doc["type"]), title=_text(doc["title"]),
                captain=_text(doc.get("captain", "")), target_date=date.fromisoformat(target) if target else None,
                stage=Stage(derived["stage"]), done=_count(derived["done"]), total=_count(derived["total"]),
                hotfix=doc.get("hotfix", False) is True, gate_override=_optional_id(doc.get("gate_override")),
                gate_override_pending=_optional_id(doc.get("gate_override_pending")),
                signoffs_missing=_count(derived["signoffs_missing"]),
                dues=tuple(_aware(due) for due in derived["dues"]),
                incident_ids=tuple(_count(n) for n in doc.get("incident_ids", ())),
                rollback_reason=_text(doc.get("rollback_reason", "")),
                cancel_reason=_text(doc.get("cancel_reason", "")), followup_of=_optional_id(doc.get("followup_of")),
                override_withdrawn=_optional_id(derived.get("override_withdrawn")),
                deployed_at=_aware(derived["deployed_at"]) if derived.get("deployed_at") else None,
                downgrade_from=_text(derived.get("downgrade_from", "")), reopened=derived.get("reopened") is True)
        except (KeyError, TypeError, ValueError):
            return None

    def flags(self, now: datetime | None = None) -> str:
        """What the board says beside the title: hotfix, gate override, sign-off, overdue, links, reasons."""
        stage = self.stage
        flags = []
        if self.hotfix:
            flags.append("hotfix")
        if self.reopened:
            flags.append("reopened")
        if self.gate_override is not None:
            flags.append(f"gate overridden (DEC-{self.gate_override})")
        elif self.override_withdrawn is not None:
            flags.append(f"override withdrawn — gate not met (DEC-{self.override_withdrawn})")
        if self.gate_override is None and self.gate_override_pending is not None:
            flags.append(f"override pending DEC-{self.gate_override_pending}")
        if self.signoffs_missing and self.gate_override is None and stage in (Stage.PLANNED, Stage.GATE_PASSED):
            flags.append("awaiting sign-off")
        if now is not None:
            overdue = sum(due < now for due in self.dues)
            if overdue:
                flags.append(f"{overdue} item(s) overdue")
            if self.target_date and self.target_date < now.astimezone().date() and stage in _TARGETED:
                flags.append(f"target {self.target_date.isoformat()} passed")
        if self.downgrade_from and stage in (Stage.PRODUCTION, Stage.VERIFIED):
            flags.append(f"downgrade from {self.downgrade_from}")
        if self.incident_ids:
            flags.append(", ".join(f"INC-{n}" for n in self.incident_ids))
        if stage in (Stage.ROLLING_BACK, Stage.ROLLED_BACK) and self.rollback_reason:
            flags.append(f"rollback: {self.rollback_reason}")
        if stage is Stage.CANCELLED and self.cancel_reason:
            flags.append(f"cancelled: {self.cancel_reason}")
        if self.followup_of:
            flags.append(f"follow-up of REL-{self.followup_of}")
        return " · ".join(flags)

    def changes_with_time(self) -> bool:
        """Whether `flags(now)` can change with the time alone (an item falling overdue, a target passing)."""
        return bool(self.dues) or (self.target_date is not None and self.stage in _TARGETED)

    def haystack(self) -> str:
        """What the board's filter matches against."""
        return " ".join([self.key, self.version, self.title, self.captain, self.stage.value, self.type,
                         self.flags()]).casefold()


def _reopened(release: Release) -> bool:
    reopened = release.reopened_at
    if reopened is None:
        return False
    reached = release.reached_at(release.stage) if release.stage in (Stage.VERIFIED, Stage.ROLLED_BACK) else None
    return reached is None or reached <= reopened


def release_flags(release: Release, stage: Stage | None = None, *, signoffs_missing: int = 0,
                  now: datetime | None = None) -> str:
    return BoardRow.of(release, stage, signoffs_missing).flags(now)


def rows_from_docs(docs: dict[int, Any]) -> list[BoardRow] | None:
    """The board from stored release documents, in board order; None if any lacks a usable row."""
    rows = []
    for record_id, doc in docs.items():
        row = BoardRow.from_doc(record_id, doc)
        if row is None:
            return None
        rows.append(row)
    return board_sorted(rows, lambda row: row.stage, lambda row: row.version, lambda row: row.id)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("not a count")
    return value


def _optional_id(value: Any) -> int | None:
    return None if value is None else _count(value)


def _aware(text: Any) -> datetime:
    moment = datetime.fromisoformat(_text(text))
    if moment.tzinfo is None:
        raise ValueError("a due time without its zone")
    return moment
