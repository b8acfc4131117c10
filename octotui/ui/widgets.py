"""Small widgets and helpers shared by the screens: the typed base screen, cells, the status line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.color import Color
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.filter import LineFilter
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import CellKey, RowKey

from octotui.domain.clock import format_countdown, format_duration
from octotui.domain.refs import KINDS, Shows
from octotui.domain.stages import Stage
from octotui.domain.text import has_controls, one_line, visible
from octotui.storage.errors import StoreDisconnected
from octotui.ui.actions import is_write
from octotui.ui.messages import DataChanged, SaveStateChanged, StoreProblemChanged, Tick

if TYPE_CHECKING:
    from datetime import datetime

    from octotui.domain.models import Incident
    from octotui.services.workspace import Workspace
    from octotui.ui.handle import Octo as OctoApp

STAGE_STYLE = {
    Stage.PLANNED: "white", Stage.GATE_PASSED: "cyan", Stage.STAGING: "yellow", Stage.PRODUCTION: "magenta",
    Stage.VERIFIED: "green", Stage.ROLLING_BACK: "bold red", Stage.ROLLED_BACK: "red", Stage.CANCELLED: "dim",
}


class VisibleControls(LineFilter):
    """The display boundary: every line any widget renders (screens, modals, toasts, the palette) passes
    here, and control characters in its text (ESC, BEL, C1...) become visible symbols. Whatever a stored
    record, the guide, a setting or the environment holds, no escape sequence of theirs reaches the terminal.
    Textual's own terminal control travels in control segments, which are left alone."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if not any(has_controls(segment.text) for segment in segments if not segment.control):
            return segments
        return [segment if segment.control or not has_controls(segment.text)
                else Segment(visible(segment.text), segment.style) for segment in segments]


def octo(node: Any) -> OctoApp:
    """The app, typed (like posting's `self.posting`)."""
    return cast("OctoApp", node.app)


def cell(value: object, style: str = "") -> Text:
    """A table cell from user text: literal (never markup), one line, ellipsis when too long."""
    return Text(one_line(str(value)), style=style, no_wrap=True, overflow="ellipsis")


def key_width(prefix: str, last_id: int, least: int) -> int:
    """A column that shows keys like REL-12345 in full (people type them elsewhere): at least `least` wide."""
    return max(least, len(f"{prefix}-{last_id}"))


def literal(value: str, style: str = "") -> Text:
    """A block of user text shown exactly as typed (control characters made visible)."""
    return Text(visible(value), style=style)


def clip(value: str, width: int) -> str:
    value = one_line(value)
    return value if len(value) <= width else value[: max(1, width - 1)] + "…"


class LiveScreen(Screen[None]):
    """A screen of workspace data. It reloads when a change concerns what it shows (only while it is
    shown: a screen in the background reloads when shown again), and redraws time on the app's tick.

    Textual runs `on_mount` of each class in the MRO, so subclasses keep their own `on_mount`.
    """

    SHOWS = Shows.of(*KINDS)  # what this screen shows: only changes to it reach `reload`
    MODE: str | None = None  # which mode of the app this screen is (its actions in ui/actions.py)
    data_version = 0  # counts the changes this screen has been told of: its caches key on it

    def __init__(self) -> None:
        super().__init__()
        # Made after the first screen is shown, with the app's stylesheet as it is now: Textual would otherwise
        # parse every rule of the app afresh, twice (30-50 ms on the loop), on the first switch to this mode, as
        # for a screen that missed a theme change. The first screen needs that pass: the theme is applied by it.
        if self.app.screen_stack:
            self._css_update_count = self.app._css_update_count

    @property
    def octo(self) -> OctoApp:
        return cast("OctoApp", self.app)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only: the actions that write are not offered (hidden from the footer, not run)."""
        return not (self.octo.read_only and is_write(self.MODE, action))

    def on_data_changed(self, message: DataChanged) -> None:
        if message.changes.concerns(self.shows()):
            self.data_version += 1
            self.reload()
        self.query(StatusLine).first().refresh_status()

    def shows(self) -> Shows:
        """What this screen shows now (a screen of one record names it and what it links to)."""
        return self.SHOWS

    def on_tick(self, _message: Tick) -> None:
        for line in self.query(StatusLine):
            line.refresh_status()
        self.tick()

    def on_save_state_changed(self, _message: SaveStateChanged) -> None:
        self.query(StatusLine).first().refresh_status()

    def on_store_problem_changed(self, _message: StoreProblemChanged) -> None:
        self.query(StatusLine).first().refresh_status()

    _shown_before = False

    def on_screen_resume(self) -> None:
        if self._css_update_count < 0:  # the first screen: styled by the pass before it was mounted, which
            self._css_update_count = self.app._css_update_count  # Textual does not record for an unmounted one
        if self._shown_before:  # it may have changed while another screen was shown (not on the first show,
            self.data_version += 1  # right after on_mount built it: a second build costs seconds at 50k)
        self._shown_before = True
        self.reload()
        for line in self.query(StatusLine):
            line.refresh_status()

    def tick(self) -> None:
        """Redraw what shows time (override where a screen has clocks)."""

    def reload(self) -> None:
        raise NotImplementedError


class KeyTable(DataTable[Text]):
    """A row-cursor table with vi keys, where some rows can be section headers that are skipped."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down", tooltip="Move down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up", tooltip="Move up"),
    ]

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, name=name, id=id, classes=classes)
        self.header_rows: set[str] = set()

    # Every column octotui adds has a fixed width, so measuring each new cell (what DataTable does to size
    # auto-width columns) buys nothing and was most of the board's build time with thousands of releases.
    def _fixed_width_only(self) -> bool:
        return all(not column.auto_width for column in self.columns.values())

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        if not self._fixed_width_only() or any(row.auto_height or row.label for row in self.rows.values()
                                               if row.key in new_rows):
            super()._update_dimensions(new_rows)
            return
        header_height = self.header_height if self.show_header else 0
        self.virtual_size = Size(sum(column.get_render_width(self) for column in self.columns.values())
                                 + self._row_label_column_width, self._total_row_height + header_height)

    def _update_column_widths(self, updated_cells: set[CellKey]) -> None:
        if not self._fixed_width_only():
            super()._update_column_widths(updated_cells)

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
            return self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
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

    def update_row(self, row_key: str, cells: Sequence[Any]) -> None:
        """Rewrite one row's cells and repaint that row alone.

        DataTable.update_cell bumps a counter that is part of every cached row's key, so one changed cell
        re-renders every visible row (about 55 ms for a 120x36 board here). Columns here have fixed widths,
        so the other rows' cached renderings stay right: only this row's are dropped. If DataTable's
        internals ever differ, the public update_cell does the same job, only slower."""
        try:
            row = self._data[RowKey(row_key)]
            columns = list(self.columns)
            for column, value in zip(columns, cells, strict=False):
                row[column] = value
            caches: list[LRUCache[Any, Any]] = [self._cell_render_cache, self._row_render_cache]
            for cache in caches:
                for key in [key for key in cache.keys() if key[0] == row_key]:  # noqa: SIM118 - an LRUCache, not a dict
                    cache.discard(key)
            index = self.get_row_index(row_key)
            renderables: LRUCache[Any, Any] = self._row_renderable_cache  # keyed (update count, row index)
            for key in [key for key in renderables.keys() if key[1] == index]:  # noqa: SIM118 - an LRUCache
                renderables.discard(key)
            self._line_cache.clear()  # strips composed from rows: rebuilt from the row caches, cheaply
            self.refresh_row(index)
        except (AttributeError, KeyError, TypeError):
            for column, value in zip(list(self.columns), cells, strict=False):
                self.update_cell(row_key, column, value)


class StatusLine(Horizontal):
    """On every screen: a store problem or a pending save, then the open incidents' clocks.
    Repainted by the app's one tick and by data changes, and only when its text changes."""

    def compose(self) -> ComposeResult:
        yield Static(id="status-text")

    def on_mount(self) -> None:
        self._shown: Text | None = None
        self.refresh_status()

    def refresh_status(self) -> None:
        text = status_text(octo(self), self.size.width or 120)
        if text != self._shown:
            self._shown = text
            self.query_one("#status-text", Static).update(text)


def status_text(app: OctoApp, width: int = 120) -> Text:
    text = Text()
    store = app.store
    problem = app.workspace.problem if app.started else None
    if isinstance(problem, StoreDisconnected):
        text.append(" DISCONNECTED — retrying ", style="bold white on dark_red")
        text.append(" ")
        text.append_text(Text(one_line(problem.message)[:120], style="bold red"))
        text.append(" — showing what was last read; changes are refused until it is back\n", style="red")
    elif problem is not None:
        text.append(" DATABASE PROBLEM ", style="bold white on dark_red")
        text.append(" ")
        said = problem.message if problem.location in problem.message else str(problem)  # which file, once
        text.append_text(Text(one_line(said)[:200], style="bold red"))
        text.append(" — showing what was last read; saves are refused until the file is good again\n", style="red")
    elif app.started and app.workspace.damaged is not None:
        text.append(" DAMAGED RECORD ", style="bold white on dark_red")
        text.append(" ")
        text.append_text(Text(one_line(app.workspace.damaged.message)[:200], style="bold red"))
        text.append(" — left as it is in the file; everything else can be used and saved\n", style="red")
    if store.read_only:
        text.append(" READ-ONLY ", style="bold white on dark_red")
        text.append_text(Text(" " + one_line(store.read_only_reason)[:100], style="red"))
        text.append("\n")
    claimed = getattr(store, "claimed", None)
    if claimed:  # $OCTOTUI_USER names someone else than the login: shown, never recorded as the author
        text.append_text(Text(f"you: {one_line(claimed)[:20]} (as {one_line(str(store.user))[:20]})", style="dim"))
        text.append("   ")
    others = store.presence()
    if others:
        # Others' login roles (with the display names the owner gave): one short line each, never markup.
        shown = ", ".join(one_line(name)[:20] for name in others[:4]) + (f" +{len(others) - 4}" if len(others) > 4 else "")
        text.append_text(Text(f"also here: {shown}", style="dim"))
        text.append("   ")
    if app.started and app.commands.pending and app.show_saving:
        if app.commands.waiting_for_lock:
            text.append(" saving… (waiting for the file lock held by another octotui) ", style="bold black on yellow")
        else:
            text.append(" saving… ", style="black on yellow")
        text.append(" ")
    incidents = app.workspace.open_incidents() if app.started else []  # a quick start has none open
    if not incidents:
        text.append("No open incident", style="dim")
        text.append("   i: start one", style="dim")
        return text
    room = width - text.cell_len % max(1, width)
    text.append_text(_incident_clocks(app, incidents, room))
    return text


def _incident_clocks(app: OctoApp, incidents: list[Incident], width: int) -> Text:
    """Every open incident with its update state, compressed (never cut) to fit one line: an overdue
    update must stay visible at 80 columns."""
    workspace = app.workspace
    now = workspace.now()
    overdue_first = sorted(incidents, key=lambda i: not _overdue(workspace, i, now))
    for detail in (3, 2, 1, 0):
        line = Text()
        for index, incident in enumerate(incidents):
            if index:
                line.append("  │  " if detail == 3 else " │ ", style="dim")
            line.append_text(_incident_clock(app, incident, now, detail))
        if line.cell_len <= width:
            return line
    # Still too wide: the overdue ones first, then a count of the rest.
    line = Text()
    for shown, incident in enumerate(overdue_first):
        part = _incident_clock(app, incident, now, 0)
        rest = len(overdue_first) - shown
        if line.cell_len + part.cell_len + 3 + len(f" +{rest} more") > width and shown:
            line.append(f" +{rest} more", style="dim")
            break
        if shown:
            line.append(" │ ", style="dim")
        line.append_text(part)
    return line


def _overdue(workspace: Workspace, incident: Incident, now: datetime) -> bool:
    due = workspace.next_update_due(incident)
    return due is not None and due < now


def _incident_clock(app: OctoApp, incident: Incident, now: datetime, detail: int) -> Text:
    """detail 3: key, severity, elapsed, status, update countdown; 0: key, severity, update state."""
    workspace = app.workspace
    active = incident.id == app.active_incident_id
    text = Text()
    text.append(f"{incident.key} {incident.severity}", style="bold red" if active else "red")
    if detail >= 2:
        text.append(f" {format_duration(incident.elapsed(now))}", style="bold")
    if detail >= 1:
        text.append(f" {incident.status}", style="yellow")
    due = workspace.next_update_due(incident)
    if due is not None:
        left = due - now
        if left.total_seconds() < 0:
            label = {3: "  UPDATE OVERDUE ", 2: " UPDATE OVERDUE ", 1: " OVERDUE ", 0: " OVERDUE"}[detail]
            text.append(f"{label}{format_countdown(left)}", style="bold white on red")
        else:
            label = {3: "  next update in ", 2: " update in ", 1: " upd ", 0: " "}[detail]
            text.append(f"{label}{format_countdown(left)}", style="cyan")
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
