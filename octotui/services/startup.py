"""A quick start: the first screen painted from what the store holds, before any model is parsed.

The board needs only its rows (stored beside each release, see domain.board) and where this person was.
When that is all the first screen needs, the app paints it from here and builds the workspace (pydantic,
the guide, the templates, every release parsed) in a worker right after. Anything the board rows cannot
show makes the start a full one: an open incident (its clock is on every screen), another first screen,
an empty database (the demo offer), a settings file, guide or templates folder of the person's own (a
mistake in those is one line on stderr before any screen, as always).

Nothing here imports pydantic or a model: that is the point of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from octotui.domain.board import BoardRow, rows_from_docs
from octotui.domain.clock import Clock, SystemClock, current_author
from octotui.storage.base import META, Repository, ui_state_of


@dataclass
class QuickStart:
    store: Repository
    author: str
    rows: list[BoardRow]
    ui_state: dict[str, Any]
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def read(cls, store: Repository) -> QuickStart | None:
        """What the board shows, from the documents as stored; None when the first screen needs more."""
        snapshot = store.snapshot
        if snapshot.open_incidents():
            return None
        author = current_author(store.user)
        state = ui_state_of(snapshot.all(META), author)
        if state.get("mode", "board") != "board" or not state:
            return None  # another screen first, or a first start (the demo offer, the welcome)
        rows = rows_from_docs(snapshot.board_docs())  # none at all is a board too (someone who started empty)
        if rows is None:
            return None  # written by an octotui before the stored rows, or a row that does not read back
        return cls(store, author, rows, state)
