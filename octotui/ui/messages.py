"""Events flowing up: what commands and the store report to the app and its screens."""

from __future__ import annotations

from textual.message import Message


class DataChanged(Message):
    """Records changed (by this app's command or another process): `REL-3`, `INC-1`, `DEC-2`, `meta`,
    or `*` for everything. Screens reload only when a key they show is among them."""

    def __init__(self, keys: frozenset[str]) -> None:
        super().__init__()
        self.keys = keys

    def concerns(self, *prefixes: str) -> bool:
        """True if everything changed, or any key starts with one of `prefixes` (`REL-`, `INC-3`...)."""
        return "*" in self.keys or any(key == prefix or key.startswith(prefix) for key in self.keys for prefix in prefixes)


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
