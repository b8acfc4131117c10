"""The typed handle on the app that screens, flows, forms and widgets hold: what they may ask of it.

They import this, never `ui.app`, so the app imports them without a circle. `OctoApp` is the one
implementation; the state screens share (selected release, active incident, checklist owner) is declared
here as reactives, so every screen watches the same attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.reactive import reactive

if TYPE_CHECKING:
    from octotui.comms.clipboard import CopyOutcome
    from octotui.comms.templates import CommsTemplate
    from octotui.domain.board import BoardRow
    from octotui.services.workspace import Workspace
    from octotui.storage.base import Repository
    from octotui.ui.commands import CommandRunner, OnError, OnSuccess
    from octotui.ui.messages import DataChanged, SaveStateChanged, StoreProblemChanged, Tick


class Octo(App[int]):
    """What the parts of the UI use of the app; `ui.app.OctoApp` fills it in."""

    cursor_blink: bool = True  # tests and screenshots freeze it
    selected_release_id: reactive[int | None] = reactive(None)
    active_incident_id: reactive[int | None] = reactive(None)
    checklist_owner: reactive[tuple[str, int] | None] = reactive(None)

    workspace: Workspace
    templates: dict[str, CommsTemplate]
    commands: CommandRunner
    show_saving: bool
    restored_row: str | None
    checklist_mine: bool

    fatal_line: str | None = None  # why the app ended on a bug: the CLI says it on stderr once the screen is gone

    def _fatal_error(self) -> None:
        """A bug in a handler ends the app, as in Textual, but as one line naming the log file (where its
        traceback goes), never a traceback on screen: it may carry record text and means nothing to a person."""
        import sys

        from octotui.logs import unexpected_line

        error = sys.exc_info()[1] or self._exception
        self.bell()
        self.fatal_line = unexpected_line(error) if error else "something went wrong"
        self._close_messages_no_wait()

    @property
    def started(self) -> bool:
        raise NotImplementedError

    @property
    def store(self) -> Repository:
        raise NotImplementedError

    @property
    def read_only(self) -> bool:
        raise NotImplementedError

    def now(self) -> datetime:
        raise NotImplementedError

    def broadcast(self, message: DataChanged | SaveStateChanged | StoreProblemChanged | Tick) -> None:
        raise NotImplementedError

    def report_failure(self, error: BaseException) -> None:
        raise NotImplementedError

    def board_rows(self) -> list[BoardRow]:
        raise NotImplementedError

    def replay_keys(self, keys: list[tuple[str, str | None]]) -> None:
        raise NotImplementedError

    def run_command_async(self, command: Callable[..., Any], *args: Any, on_success: OnSuccess | None = None,
                          on_error: OnError | None = None, **kwargs: Any) -> None:
        raise NotImplementedError

    def copy_text(self, text: str, label: str, on_done: Callable[[CopyOutcome], None] | None = None) -> None:
        raise NotImplementedError

    def open_decision_form(self, prefill: dict[str, Any]) -> None:
        raise NotImplementedError

    def action_start_incident(self, release_id: int | None = None, for_run: str | None = None) -> None:
        raise NotImplementedError

    def action_record_decision(self) -> None:
        raise NotImplementedError
