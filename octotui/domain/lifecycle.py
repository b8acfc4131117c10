"""A release's lifecycle as one table: which moves are allowed from which stage, what they ask for.

The stage itself is derived from the checklists (`Release.stage`); this module says what a person may
do to a release in each stage. Screens ask it; the workspace enforces it inside each command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from octotui.domain.inputs import InputError, NeedsConfirmation
from octotui.domain.models import ROLLBACK_FROM, ChecklistRun, Release
from octotui.domain.settings import SignOffRules
from octotui.domain.stages import Stage
from octotui.domain.text import plain

MoveName = Literal["cancel", "reopen", "rollback", "change"]
LOCKED = (Stage.VERIFIED, Stage.ROLLED_BACK, Stage.CANCELLED)
SHIPPED = (Stage.PRODUCTION, Stage.VERIFIED, Stage.ROLLING_BACK, Stage.ROLLED_BACK)


@dataclass(frozen=True)
class Move:
    name: MoveName
    allowed_from: tuple[Stage, ...]
    needs_reason: bool
    destructive: bool  # confirmed by typing a reason, never by a bare Enter
    refusal: str  # why not, from any other stage ({key} {stage} filled in)


MOVES: dict[MoveName, Move] = {
    "cancel": Move("cancel", (Stage.PLANNED, Stage.GATE_PASSED, Stage.STAGING), True, True,
                   "{key} is {stage}: only a release before Production can be cancelled; one that shipped is "
                   "never cancelled — roll it back, or supersede it with a new release"),
    "reopen": Move("reopen", LOCKED, True, False, "{key} is {stage}: only a Verified, Rolled back or Cancelled "
                                                  "release is locked and can be reopened"),
    "rollback": Move("rollback", ROLLBACK_FROM, True, True,
                     "{key} is {stage}: only a release in Staging or later can be rolled back"),
    "change": Move("change", tuple(stage for stage in Stage), False, False, ""),
}


def is_locked(release: Release, stage: Stage | None = None) -> bool:
    """Verified, Rolled back and Cancelled are end states: read-only unless reopened after reaching them."""
    stage = stage or release.stage
    if stage not in LOCKED:
        return False
    reopened, reached = release.reopened_at, release.reached_at(stage)
    return reopened is None or reached is None or reached > reopened


def allowed(release: Release, name: MoveName, stage: Stage | None = None) -> str | None:
    """None if the move is allowed now, else why not (a sentence for a person)."""
    stage = stage or release.stage
    move = MOVES[name]
    if name == "change":
        if is_locked(release, stage):
            return (f"{release.key} is {stage.value}: its checklists are locked. Reopen it with a reason (O) "
                    "to change them")
        return None
    if name == "cancel" and stage is Stage.CANCELLED:
        return f"{release.key} is already cancelled"
    if name == "reopen" and stage in LOCKED and not is_locked(release, stage):
        return f"{release.key} is already reopened"
    if stage not in move.allowed_from:
        return move.refusal.format(key=release.key, stage=stage.value)
    return None


def require(release: Release, name: MoveName, stage: Stage | None = None, reason: str = "") -> None:
    """Raise InputError (by field) unless the move is allowed and has what it needs."""
    why_not = allowed(release, name, stage)
    if why_not is not None:
        raise InputError({"stage": why_not})
    if MOVES[name].needs_reason and not reason.strip():
        raise InputError({"reason": f"a reason is required to {name} {release.key}"})


def signoffs_missing(release: Release, rules: SignOffRules) -> int:
    """How many more sign-offs the release needs before Staging (by people allowed to sign, not its captain)."""
    valid = {event.by for event in release.signoffs if event.by != release.captain and rules.may_sign(event.by)}
    return max(0, rules.required(release.type.value) - len(valid))


def skipped_stage(run: ChecklistRun, index: int) -> int | None:
    """Stages in the guide's order: checking a stage item (Deploy to production) while an earlier stage item
    of the run (Deploy to staging) is still open skips that stage. Returns the open one's index."""
    item = run.items[index]
    if not item.stage:
        return None
    return next((i for i, earlier in enumerate(run.items[:index])
                 if earlier.stage and earlier.stage != item.stage and not earlier.settled), None)


class StageSkipped(NeedsConfirmation):
    """Asked, naming the skipped step: it goes on only with that step marked N/A with a reason (recorded)."""

    def __init__(self, run: ChecklistRun, index: int, skipped: int) -> None:
        self.index, self.skipped = index, skipped
        self.skipped_text = plain(run.items[skipped].text)
        stage = run.items[index].stage or ""
        super().__init__(f"“{plain(run.items[index].text)}” skips “{self.skipped_text}”, which is still open. "
                         f"{stage.capitalize()} needs {run.items[skipped].stage or 'the stage before'} done first, or "
                         f"marked N/A with a reason (recorded).")
