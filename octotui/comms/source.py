"""What a text for people needs of the live state: the one interface comms reads through.

The services' workspace provides it; comms never imports the services (they are siblings in the layers).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from octotui.domain.board import BoardRow
    from octotui.domain.models import ChecklistRun, Decision, Incident, Release
    from octotui.domain.playbook import Playbook
    from octotui.domain.refs import RunRef
    from octotui.domain.settings import Settings
    from octotui.domain.stages import Stage


class RecordSource(Protocol):
    settings: Settings
    playbook: Playbook

    def now(self) -> datetime: ...

    def people_time(self, moment: datetime | None, with_date: bool = True) -> str: ...

    def stage(self, release: Release | BoardRow) -> Stage: ...

    def release(self, release_id: int) -> Release | None: ...

    def incident(self, incident_id: int) -> Incident | None: ...

    def decision(self, decision_id: int) -> Decision | None: ...

    def run(self, ref: RunRef) -> ChecklistRun | None: ...

    def incident_runs(self, incident: Incident) -> list[RunRef]: ...

    def last_known_good(self, release: Release) -> Release | None: ...

    def next_update_due(self, incident: Incident) -> datetime | None: ...

    def retro_deadline(self, incident: Incident) -> datetime | None: ...

    def signoffs_missing(self, release: Release) -> int: ...
