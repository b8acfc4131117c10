"""Small widgets and helpers shared by the screens."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from octotui.domain.clock import format_countdown, format_duration
from octotui.domain.text import one_line, visible


def cell(value: object, style: str = "") -> Text:
    """A table cell from user text: literal (never markup), one line, ellipsis when too long."""
    return Text(one_line(str(value)), style=style, no_wrap=True, overflow="ellipsis")


def literal(value: str, style: str = "") -> Text:
    """A block of user text shown exactly as typed (control characters made visible)."""
    return Text(visible(value), style=style)


def clip(value: str, width: int) -> str:
    value = one_line(value)
    return value if len(value) <= width else value[: max(1, width - 1)] + "…"


class LiveScreen(Screen):
    """A screen of workspace data: rebuilt when the data changes (only while it is shown) and when shown again.

    Textual runs `on_mount` of each class in the MRO, so subclasses keep their own `on_mount`.
    """

    def on_mount(self) -> None:
        self.watch(self.app, "revision", self._data_changed, init=False)

    def _data_changed(self, *_args) -> None:
        if self.is_current:
            self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        raise NotImplementedError


class KeyTable(DataTable):
    """A row-cursor table with vi keys, where some rows can be section headers that are skipped."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down", tooltip="Move down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up", tooltip="Move up"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.header_rows: set[str] = set()

    def _skip_headers(self, step: int) -> None:
        row = self.cursor_row
        while 0 <= row < self.row_count and self._row_key_at(row) in self.header_rows:
            row += step
        if 0 <= row < self.row_count:
            self.move_cursor(row=row)
        elif step < 0:
            self._skip_headers(1)

    def _row_key_at(self, row: int) -> str | None:
        try:
            return self.coordinate_to_cell_key((row, 0)).row_key.value
        except Exception:
            return None

    def action_cursor_down(self) -> None:
        super().action_cursor_down()
        self._skip_headers(1)

    def action_cursor_up(self) -> None:
        before = self.cursor_row
        super().action_cursor_up()
        self._skip_headers(-1)
        if self._row_key_at(self.cursor_row) in self.header_rows:
            self.move_cursor(row=before)

    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        key = self._row_key_at(self.cursor_row)
        return None if key in self.header_rows else key


class StatusLine(Horizontal):
    """The active incident on every screen: elapsed time and when the next update is due."""

    def compose(self) -> ComposeResult:
        yield Static(id="status-text")

    def on_mount(self) -> None:
        self.refresh_status()
        self.set_interval(1.0, self.refresh_status)

    def refresh_status(self) -> None:
        if not self.screen.is_current:
            return  # screens in the background do not repaint
        self.query_one("#status-text", Static).update(status_text(self.app))


def status_text(app) -> Text:
    workspace = app.workspace
    text = Text()
    if workspace.store.read_only:
        text.append(" READ-ONLY: changes cannot be saved ", style="bold white on dark_red")
        text.append(" ")
    incidents = workspace.open_incidents()
    if not incidents:
        text.append("No open incident", style="dim")
        text.append("   i: start one", style="dim")
        return text
    now = workspace.now()
    for index, incident in enumerate(incidents[:3]):
        if index:
            text.append("  │  ", style="dim")
        active = incident.id == app.active_incident_id
        text.append(f"{incident.key} {incident.severity} ", style="bold red" if active else "red")
        text.append(f"{format_duration(incident.elapsed(now))} ", style="bold")
        text.append(f"{incident.status}", style="yellow")
        due = workspace.next_update_due(incident)
        if due is not None:
            left = due - now
            if left.total_seconds() < 0:
                text.append(f"  UPDATE OVERDUE {format_countdown(left)}", style="bold white on red")
            else:
                text.append(f"  next update in {format_countdown(left)}", style="cyan")
    if len(incidents) > 3:
        text.append(f"  (+{len(incidents) - 3} more)", style="dim")
    return text


class FieldError(Static):
    """A message shown right under the field it is about."""

    def show(self, message: str) -> None:
        self.update(Text(message, style="bold red"))
        self.display = bool(message)


class FilterInput(Input):
    """The `/` filter: typing filters, Escape clears and leaves."""

    BINDINGS = [Binding("escape", "clear", "Clear filter", id="filter.clear", tooltip="Clear the filter and go back to the list")]

    def on_mount(self) -> None:
        self.cursor_blink = getattr(self.app, "cursor_blink", True)

    def action_clear(self) -> None:
        self.value = ""
        self.display = False
        self.screen.focus_next()
