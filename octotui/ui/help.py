"""`?` / F1: every key of the screen it was opened from, in the words of the palette (ui/actions.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from octotui.ui import actions


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    #help-notes-scroll { height: auto; max-height: 45%; border-top: solid $primary-darken-2; }
    .dialog.help #help-keys { min-height: 5; }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close", tooltip="Close the help")]

    def __init__(self, target: Screen[object]) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Static(Text(f"Keys — {self.target.title or self.app.title}", style="bold"), classes="dialog-question")
            yield DataTable(id="help-keys", cursor_type="row", show_header=True)
            notes = getattr(self.target, "HELP_NOTES", ())  # what a screen's words mean (the report's metrics)
            if notes:
                with VerticalScroll(id="help-notes-scroll"):  # below the keys, scrolling in a small terminal
                    yield Static(Text("\n").join(Text.assemble((f"{name}: ", "bold"), text) for name, text in notes),
                                 id="help-notes")
            yield Static(Text("ctrl+p: every action by name · Esc: close", style="dim"))

    def rows(self) -> list[tuple[str, str, str]]:
        """(keys, words, what it does): the screen's actions that have a key (its own first, then the app's),
        then what the focused widget adds (moving in a table, clearing a filter)."""
        mode = getattr(self.target, "MODE", None)
        read_only = bool(getattr(self.app, "read_only", False))
        shown = []
        for action in actions.for_screen(mode, read_only=read_only):
            keys = actions.keys_of(action.words, mode)
            if keys:
                shown.append((", ".join(self._display(key) for key in keys), action.words, action.description))
        focused = self.target.focused
        for binding in getattr(focused, "BINDINGS", []) if focused is not None else []:
            if isinstance(binding, Binding) and binding.description:
                shown.append((", ".join(self._display(key.strip()) for key in binding.key.split(",")),
                              binding.description, binding.tooltip))
        return shown

    def _display(self, key: str) -> str:
        return self.app.get_key_display(Binding(key, ""))

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "What it does")
        for keys, words, description in self.rows():
            table.add_row(Text(keys, style="bold"), Text(words), Text(description))
        table.add_row(Text("ctrl+p", style="bold"), Text("Command palette"), Text("Every action of the app, by name"))
        table.focus()
