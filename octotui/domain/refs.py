"""References to records: plain values the layers pass each other (never the records themselves)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class RunRef:
    """Which checklist run: of a release or an incident, by role (a ChecklistRole's value: gate, deployment...)
    or, for one of the guide's own checklists, by its heading's slug (ChecklistSpec.key)."""

    owner: Literal["release", "incident"]
    owner_id: int
    role: str

    @property
    def owner_key(self) -> str:
        return f"{'REL' if self.owner == 'release' else 'INC'}-{self.owner_id}"
