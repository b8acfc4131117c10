"""The stages a release moves through, in board order: a value type the records, the board and the rules share."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    PLANNED = "Planned"
    GATE_PASSED = "Gate passed"
    STAGING = "Staging"
    PRODUCTION = "Production"
    VERIFIED = "Verified"
    ROLLING_BACK = "Rolling back"
    ROLLED_BACK = "Rolled back"
    CANCELLED = "Cancelled"
