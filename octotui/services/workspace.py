"""The workspace: every read the UI makes and every command a person runs, over the storage seam.

Commands: each user action is one method that runs in exactly one unit of work (`self._command()`):
it reads fresh data under the lock, checks every rule (uniqueness included) against that data,
and writes every record it touches at one commit, or nothing. Reads: the UI reads `self._view`,
parsed models held in memory and replaced (never edited) after a commit or a refresh, so a reader
on the event loop never sees a half-applied change and never touches the disk.

`Workspace` only composes the areas, each in the module named for it (each builds on the one before):

- services.view: the state, parsing, the view and its catch-up, `_command` (the unit of work)
- services.integrity: the check of every stored record, the board rows it finds stale
- services.reading: releases, incidents, decisions and runs as the screens read them
- services.clocks: next update due, the monitoring window, the retrospective deadline, time left
- services.incidents: incident commands and the release–incident links
- services.releases: release commands and which version next
- services.checklists: checklist item commands
- services.decisions: decision commands
"""

from __future__ import annotations

from octotui.domain.inputs import MAX_TEXT, InputError, NeedsConfirmation
from octotui.domain.refs import RunRef
from octotui.services.checklists import ChecklistsMixin
from octotui.services.clocks import ClocksMixin
from octotui.services.decisions import DecisionsMixin
from octotui.services.incidents import IncidentsMixin
from octotui.services.integrity import IntegrityMixin
from octotui.services.reading import ReadingMixin
from octotui.services.records import GateBlocked
from octotui.services.releases import ReleasesMixin
from octotui.services.view import MODELS_KEPT, WorkspaceView


class Workspace(DecisionsMixin, ChecklistsMixin, ReleasesMixin, IncidentsMixin, ClocksMixin, ReadingMixin,
                IntegrityMixin, WorkspaceView):
    """The one object the UI, the CLI and the tests hold: `Workspace(store, playbook, clock, author, settings)`."""


__all__ = ["Workspace", "RunRef", "InputError", "GateBlocked", "NeedsConfirmation", "MAX_TEXT", "MODELS_KEPT"]
