"""One record-after-success path for texts sent to people: "sent" means the text reached somewhere.

A copy (clipboard, file, terminal) and, later, a post to a channel or an email both end here, and only after
the text reached at least one place. The order is always:

1. `promise_for()` — the next update time an update sent now would promise (chosen minutes, else cadence);
2. `draft_after_update()` — the incident as it will be once the update is recorded, to render the text from
   (so the text names the promise it makes, never one already past);
3. deliver the text (the caller: clipboard chain, file, outbox…) and collect the `DeliveredPlace`s it reached;
4. `record_delivered()` — the timeline line naming where it went, the promise, the auto-tick.

A delivery that reached nothing records nothing (`NotDelivered`), and the countdown keeps running.
Textual-free: the UI and the headless commands call it alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

from octotui.domain.models import Incident

if TYPE_CHECKING:
    from octotui.comms.clipboard import CopyOutcome
    from octotui.services.workspace import Workspace

PlaceKind = Literal["clipboard", "file", "terminal", "channel"]


@dataclass(frozen=True)
class DeliveredPlace:
    """One place a text reached. `target`: the file path or the channel's name; `confirmed`: False where the
    app cannot know the text arrived (OSC 52 is written to the terminal and never answered)."""

    kind: PlaceKind
    target: str = ""
    confirmed: bool = True

    def describe(self) -> str:
        if self.kind == "clipboard":
            return "copied to system clipboard"
        if self.kind == "file":
            return f"written to {self.target}"
        if self.kind == "terminal":
            return "emitted to the terminal (OSC 52, not confirmable)"
        return f"posted to {self.target}"


def describe_places(places: Sequence[DeliveredPlace]) -> str:
    return "; ".join(place.describe() for place in places)


def places_from_copy(outcome: CopyOutcome) -> list[DeliveredPlace]:
    """What the copy chain reached, in the order a person would look: clipboard, file, terminal."""
    places = []
    if outcome.native:
        places.append(DeliveredPlace("clipboard"))
    if outcome.file is not None:
        places.append(DeliveredPlace("file", str(outcome.file)))
    if outcome.osc52:
        places.append(DeliveredPlace("terminal", confirmed=False))
    return places


class NotDelivered(ValueError):
    """The text reached no place: nothing is recorded."""


class SentTemplate(Protocol):
    """What the record needs to know about the text (a CommsTemplate fits)."""

    @property
    def title(self) -> str: ...
    @property
    def sends_update(self) -> bool: ...
    @property
    def fact(self) -> str: ...


def promise_for(workspace: Workspace, incident: Incident, minutes: int | None = None) -> datetime | None:
    """The next update time an update sent now promises: `minutes` from now when chosen, else the severity's
    cadence from now; None when the incident is resolved or its severity has no cadence."""
    if not incident.open:
        return None
    now = workspace.now()
    if minutes:
        return now + timedelta(minutes=minutes)
    interval = workspace.settings.update_interval(incident.severity)
    return now + interval if interval is not None else None


def draft_after_update(workspace: Workspace, incident: Incident, promised: datetime | None) -> Incident:
    """The incident as it will read once an update promising `promised` is recorded (nothing is saved)."""
    return incident.model_copy(update={"last_update_at": workspace.now(), "next_update_at": promised,
                                       "snoozed_until": None})


def record_delivered(workspace: Workspace, incident_id: int, template: SentTemplate,
                     places: Sequence[DeliveredPlace], *, promised: datetime | None = None,
                     missing: Sequence[str] = ()) -> Incident:
    """Record a text for stakeholders that reached `places` (at least one; else `NotDelivered`, nothing
    written). The timeline line names each place and what the text lacked; an update (`template.sends_update`)
    records its promise `promised` (the time its text named: pass what `promise_for()` gave the render) and
    notes a promise it kept late; `template.fact` auto-ticks the escalation item that asks for it.

    The delivery issue's outbox calls this once per destination after the destination accepted the text,
    with `DeliveredPlace("channel", "<channel name>")`."""
    if not places:
        raise NotDelivered(f"{template.title}: reached no place; nothing recorded")

    def change(incident: Incident) -> None:
        now = workspace.now()
        was_due = workspace.next_update_due(incident)
        line = f"{template.title} sent — {describe_places(places)}"
        if missing:
            line += f"; with missing: {', '.join(missing)}"
        if template.sends_update:
            promised_before = incident.last_update_at is not None or incident.next_update_at is not None
            if was_due is not None and was_due < now and promised_before:
                late = int((now - was_due).total_seconds() // 60)
                workspace._timeline(incident, "promise", f"Update promised by {workspace.people_time(was_due, with_date=False)} "
                                                        f"missed: sent {late} min late", at=now)
            incident.last_update_at, incident.snoozed_until = now, None
            incident.next_update_at = promised if incident.open else None
            due = workspace.next_update_due(incident)
            if due is not None:
                line += f"; next update by {workspace.people_time(due, with_date=False)}"
        workspace._timeline(incident, "update", line, at=now)
        if template.fact:
            workspace._auto(incident, template.fact, f"{template.title} sent")

    # The workspace's one unit of work for an incident (read fresh, change, save at one commit).
    return workspace._change_incident(incident_id, change)
