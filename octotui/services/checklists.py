"""Checklist commands: check, N/A, note, undo, assign, due, and a skipped decision prompt."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from octotui.domain import lifecycle
from octotui.domain.clock import local_time
from octotui.domain.inputs import (
    InputError,
    NeedsConfirmation,
    NoteInput,
    ReasonInput,
    TextInput,
    parse_input,
)
from octotui.domain.models import AUTO_AUTHOR, ChecklistRun, Incident, ItemState, Release
from octotui.domain.refs import RunRef
from octotui.domain.text import plain
from octotui.services.records import GateBlocked, describe_event, run_incidents
from octotui.services.releases import ReleasesMixin, note_downgrade


class ChecklistsMixin(ReleasesMixin):
    """The checklist item commands, each one unit of work."""

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
