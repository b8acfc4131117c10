"""The screen shown when the database cannot be read at start: move the bad file aside and start fresh, or quit."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from octotui.domain.config import styles_path
from octotui.domain.text import visible
from octotui.storage.errors import StoreCorrupt
from octotui.storage.fs import move_aside


class RecoveryApp(App[bool]):
    """Shown instead of the app when the database is unreadable: the file is never overwritten."""

    CSS_PATH = str(styles_path("app.tcss"))
    BINDINGS = [
        Binding("m", "move_aside", "Move aside & start fresh", id="recovery.move", tooltip="Rename the bad file and start an empty database"),
        Binding("q,escape", "quit_app", "Quit", id="recovery.quit", tooltip="Quit and leave the file as it is"),
    ]

    def __init__(self, error: StoreCorrupt) -> None:
        super().__init__()
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog recovery"):
            yield Static(Text("The database cannot be read", style="bold red"))
            yield Static(Text(visible(str(self.error))))  # the path may hold anything
            yield Static(Text("It has not been changed. You can move it aside (renamed with a timestamp, "
                              "kept for inspection) and start with an empty database, or quit and fix it by hand "
                              "(`octotui db check` says what is wrong, `octotui db repair --to NEW` copies what still reads)."))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Move aside & start fresh (m)", id="move", variant="warning")
                yield Button("Quit (q)", id="quit")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "move":
            self.action_move_aside()
        else:
            self.action_quit_app()

    def action_move_aside(self) -> None:
        target = move_aside(self.error.path)
        self.exit(True, message=Text(visible(f"Moved the unreadable database to {target}")))

    def action_quit_app(self) -> None:
        self.exit(False)
