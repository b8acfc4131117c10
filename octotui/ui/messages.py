"""Events flowing up: what commands and the store report to the app and its screens."""

from __future__ import annotations

from textual.message import Message

from octotui.domain.refs import ChangeNotice


class DataChanged(Message):
    """Records changed (by this app's command or another process), named by typed reference: a screen
    refreshes only when the notice concerns what it shows (compared exactly, see domain.refs)."""

    def __init__(self, changes: ChangeNotice) -> None:
        super().__init__()
        self.changes = changes


class CommandFailed(Message):
    """A command was refused or failed and nobody closer (a form, a screen) handled it: nothing changed."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class Tick(Message):
    """The app's one clock tick: whatever shows time recomputes it from stored times."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Tick)  # a late tick is replaced by the next, never queued twice


class SaveStateChanged(Message):
    """Commands pending, and whether one waits for another process's lock: the status line shows it."""


class StoreProblemChanged(Message):
    """The database became unreadable or invalid (banner), or good again."""
