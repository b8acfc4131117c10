"""`?` / F1: every key of the screen it was opened from, with what it does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close", tooltip="Close the help")]

    def __init__(self, target: Screen) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Static(Text(f"Keys — {self.target.title or self.app.title}", style="bold"), classes="dialog-question")
            yield DataTable(id="help-keys", cursor_type="row", show_header=True)
            yield Static(Text("ctrl+p: every action by name · Esc: close", style="dim"))

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "What it does")
        seen = set()
        rows = []
        for key, active in self.target.active_bindings.items():
            binding = active.binding
            if (binding.action, binding.description) in seen or not binding.description:
                continue
            seen.add((binding.action, binding.description))
            keys = ", ".join(self.app.get_key_display(Binding(k, binding.action)) for k in _keys_for(self.target, binding))
            rows.append((keys or self.app.get_key_display(binding), binding.description, binding.tooltip or active.tooltip))
        rows.append(("ctrl+p", "Command palette", "Every action of the app, by name"))
        for keys, description, tooltip in rows:
            table.add_row(Text(keys, style="bold"), Text(description), Text(tooltip or ""))
        table.focus()


def _keys_for(screen: Screen, binding: Binding) -> list[str]:
    return [key for key, active in screen.active_bindings.items()
            if active.binding.action == binding.action and active.binding.description == binding.description]
