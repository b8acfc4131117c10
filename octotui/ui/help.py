"""`?` / F1: every key of the screen it was opened from, with what it does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    #help-notes-scroll { height: auto; max-height: 45%; border-top: solid $primary-darken-2; }
    .dialog.help #help-keys { min-height: 5; }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close", tooltip="Close the help")]

    def __init__(self, target: Screen) -> None:
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

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "What it does")
        # The screen's own keys first (they win over a widget's, e.g. Enter on a table), then global ones.
        groups: dict[tuple[str, str], list[str]] = {}
        tooltips: dict[tuple[str, str], str] = {}
        for node in (self.target, self.app, self.target.focused):
            for binding in getattr(node, "BINDINGS", []) if node is not None else []:
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                ident = (binding.action, binding.description)
                for key in binding.key.split(","):
                    display = self.app.get_key_display(Binding(key.strip(), binding.action))
                    if display not in groups.setdefault(ident, []):
                        groups[ident].append(display)
                tooltips.setdefault(ident, binding.tooltip)
        for (_action, description), keys in groups.items():
            table.add_row(Text(", ".join(keys), style="bold"), Text(description), Text(tooltips[(_action, description)]))
        table.add_row(Text("ctrl+p", style="bold"), Text("Command palette"), Text("Every action of the app, by name"))
        table.focus()
