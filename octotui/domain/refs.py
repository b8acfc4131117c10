"""References to records: plain values the layers pass each other (never the records themselves), and the
notice of a change, which names the records it touched by reference and is compared exactly."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

RecordKind = Literal["release", "incident", "decision"]
KINDS: tuple[RecordKind, ...] = ("release", "incident", "decision")
_PREFIX: dict[RecordKind, str] = {"release": "REL", "incident": "INC", "decision": "DEC"}
_KIND_OF_PREFIX: dict[str, RecordKind] = {prefix: kind for kind, prefix in _PREFIX.items()}


@dataclass(frozen=True, order=True)
class RecordRef:
    """One release, incident or decision: `RecordRef("release", 12)` is REL-12 and nothing else."""

    kind: RecordKind
    id: int

    @property
    def key(self) -> str:
        """How people (and the stored history's owner field) name it: `REL-12`."""
        return f"{_PREFIX[self.kind]}-{self.id}"

    def __str__(self) -> str:
        return self.key

    @classmethod
    def parse(cls, key: str) -> RecordRef | None:
        """`REL-12` → RecordRef("release", 12); None for anything else (never a partial match)."""
        prefix, dash, number = key.partition("-")
        kind = _KIND_OF_PREFIX.get(prefix)
        if kind is None or not dash or not number.isdigit() or not number.isascii():
            return None
        return cls(kind, int(number))


@dataclass(frozen=True)
class RunRef:
    """Which checklist run: of a release or an incident, by role (a ChecklistRole's value: gate, deployment...)
    or, for one of the guide's own checklists, by its heading's slug (ChecklistSpec.key)."""

    owner: Literal["release", "incident"]
    owner_id: int
    role: str

    @property
    def owner_ref(self) -> RecordRef:
        return RecordRef(self.owner, self.owner_id)

    @property
    def owner_key(self) -> str:
        return self.owner_ref.key


@dataclass(frozen=True)
class Shows:
    """What a screen shows, so that it hears only of changes to it: whole kinds (a list of every release)
    and exact records (a checklist of REL-1 and what it links to), the outbox, the shared settings (meta)."""

    kinds: frozenset[RecordKind] = frozenset()
    records: frozenset[RecordRef] = frozenset()
    outbox: bool = False
    meta: bool = False

    @classmethod
    def of(cls, *kinds: RecordKind, records: Iterable[RecordRef] = (), outbox: bool = False,
           meta: bool = False) -> Shows:
        return cls(frozenset(kinds), frozenset(records), outbox, meta)


@dataclass(frozen=True)
class ChangeNotice:
    """What changed: the records touched (exact references), every record of some kinds (a table read
    anew), the outbox, the shared settings (meta), or `everything` (the whole database read again)."""

    records: frozenset[RecordRef] = frozenset()
    kinds: frozenset[RecordKind] = frozenset()
    outbox: bool = False
    meta: bool = False
    everything: bool = False

    @classmethod
    def of(cls, *refs: RecordRef) -> ChangeNotice:
        return cls(records=frozenset(refs))

    def __bool__(self) -> bool:
        return bool(self.records or self.kinds or self.outbox or self.meta or self.everything)

    def __or__(self, other: ChangeNotice) -> ChangeNotice:
        return ChangeNotice(self.records | other.records, self.kinds | other.kinds, self.outbox or other.outbox,
                            self.meta or other.meta, self.everything or other.everything)

    def concerns(self, shows: Shows) -> bool:
        """Whether a screen showing `shows` must refresh: compared by kind and exact reference only."""
        if self.everything or (self.outbox and shows.outbox) or (self.meta and shows.meta):
            return True
        if self.kinds & shows.kinds or any(ref.kind in self.kinds for ref in shows.records):
            return True
        return not self.records.isdisjoint(shows.records) or any(ref.kind in shows.kinds for ref in self.records)

    def __str__(self) -> str:
        """For the log: `REL-3, INC-1, outbox` (ids only, never text)."""
        words = ["everything"] if self.everything else []
        words += [f"every {kind}" for kind in sorted(self.kinds)]
        words += [ref.key for ref in sorted(self.records)]
        words += ["outbox"] * self.outbox + ["meta"] * self.meta
        return ", ".join(words)


NOTHING_CHANGED = ChangeNotice()
EVERYTHING_CHANGED = ChangeNotice(everything=True)
OUTBOX_CHANGED = ChangeNotice(outbox=True)
