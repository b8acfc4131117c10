"""Screen 1: the release board — releases by stage, with progress; create, edit, cancel, roll back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Footer, Header, Input, Static

from octotui.domain.board import BoardRow
from octotui.domain.refs import Shows
from octotui.domain.versioning import replaced_by
from octotui.ui import actions
from octotui.ui.widgets import (
    STAGE_STYLE,
    FilterInput,
    KeyTable,
    LiveScreen,
    StatusLine,
    cell,
    clip,
    key_width,
)

if TYPE_CHECKING:
    from octotui.domain.models import Release


_BuildKey = tuple[int, int, str]  # (data version, width, filter)


def _said(newer: BoardRow | None) -> tuple[str, str] | tuple[()]:
    """What a row's "replaced by" flag says of the release that replaced it."""
    return (newer.version, newer.key) if newer is not None else ()


FIRST_ROWS = 200  # more than any terminal shows at once
ROWS_PER_BATCH = 1000


class BoardScreen(LiveScreen):
    TITLE = "Release board"
    MODE = "board"
    BINDINGS = actions.bindings(MODE)  # from the one registry (ui/actions.py)
    # The table has the focus from the moment the board is shown: keys typed as it appears (a person who
    # types straight after starting) run the board's bindings, never into the hidden filter.
    AUTO_FOCUS = "#board"

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusLine()
        box = FilterInput(placeholder="filter: version, title, captain, stage…", id="board-filter")
        box.display = False  # shown by `/` (action_filter): hidden, it cannot take the focus nor a key
        yield box
        yield KeyTable(id="board")
        yield Static(id="board-summary")
        yield Footer()

    SHOWS = Shows.of("release")

    def __init__(self) -> None:
        super().__init__()
        self._built: _BuildKey | tuple[()] = ()  # (data version, width, filter) the table was last built for
        self._shown: dict[int, BoardRow] = {}  # the row each release was last drawn from, in board order
        self._to_add: list[BoardRow] = []  # rows of the last build not in the table yet (see reload)
        self._replaced: dict[int, BoardRow] = {}  # went to Production before what runs there now

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#board").focus()

    def on_resize(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Rows are rebuilt only when the order, the width or the filter changed. Otherwise only the rows that
        changed are redrawn: a changed release is a new row object (rows are immutable), so this holds for
        changes told as they came and for whatever changed while another screen was shown; and the rows whose
        flags depend on the time (due items, a target date) are redrawn too. One change never rebuilds the board."""
        table = self.query_one("#board", KeyTable)
        width = self.size.width or 120
        query = self.query_one("#board-filter", Input).value.casefold().strip()
        key = (self.data_version, width, query)
        if key == self._built:
            self._follow_selection(table)
            return
        releases = self.octo.board_rows()
        replaced, before = replaced_by(releases), self._replaced
        self._replaced = replaced
        visible = [row for row in releases if not query or query in row.haystack()]
        order = [row.id for row in visible]
        if self._built[1:] == (width, query) and order == list(self._shown) and not self._to_add:
            for row in visible:
                if self._shown[row.id] is not row or row.changes_with_time() \
                        or _said(before.get(row.id)) != _said(replaced.get(row.id)):
                    table.update_row(str(row.id), self._row(row))
            self._built, self._shown = key, {row.id: row for row in visible}
            self._follow_selection(table)
            return
        self._built, self._shown = key, {row.id: row for row in visible}
        table.clear(columns=True)
        fixed = self._fixed_columns(width)
        title_width = self._title_width(width)
        for label, column_width in fixed[:3]:
            table.add_column(label, width=column_width, key=label)
        table.add_column("Title", width=title_width, key="Title")
        for label, column_width in fixed[3:]:
            table.add_column(label, width=column_width, key=label)
        # The first screenfuls now; the rest right after this paint, a batch per turn of the loop (keys typed
        # meanwhile are handled between batches): a board of thousands shows as fast as one of a hundred.
        for row in visible[:FIRST_ROWS]:
            table.add_row(*self._row(row), key=str(row.id))
        self._to_add = visible[FIRST_ROWS:]
        if self._to_add:
            self.call_after_refresh(self._add_rows, key)
        self._follow_selection(table)
        summary = Text(f"{len(visible)} of {len(releases)} releases", style="dim")
        if not releases:
            summary = Text("No releases yet — press n to create one, or ctrl+p → app: load demo data", style="bold")
        elif query:
            summary.append(f" · filter: {query}", style="dim")
        self.query_one("#board-summary", Static).update(summary)

    def _add_rows(self, built: _BuildKey) -> None:
        if built != self._built or not self._to_add:
            return  # rebuilt meanwhile: that build adds its own rows
        table = self.query_one("#board", KeyTable)
        batch, self._to_add = self._to_add[:ROWS_PER_BATCH], self._to_add[ROWS_PER_BATCH:]
        for row in batch:
            table.add_row(*self._row(row), key=str(row.id))
        self._follow_selection(table)
        if self._to_add:
            self.call_later(self._add_rows, built)

    def _fixed_columns(self, width: int) -> list[tuple[str, int]]:
        wide = width >= 100
        return [("ID", key_width("REL", max(self._shown, default=0), 6)), ("Version", 12), ("Type", 5)] \
            + ([("Captain", 10), ("Target", 10)] if wide else []) + [("Stage", 12), ("Done", 5)]

    def _title_width(self, width: int) -> int:
        fixed = self._fixed_columns(width)
        return max(12, width - sum(w for _, w in fixed) - 2 * (len(fixed) + 1) - 2)

    def _row(self, release: BoardRow) -> list[Text]:
        width = self.size.width or 120
        flags = release.flags(self.octo.now())
        newer = self._replaced.get(release.id)
        if newer is not None:
            flags = " · ".join(filter(None, (flags, f"replaced by {newer.version} ({newer.key})")))
        room = self._title_width(width)
        # The flags are what a person must not miss: the title gives way to them, down to a few characters.
        title = cell(clip(release.title, max(6, room - len(flags) - 2)) if flags else release.title)
        if flags:
            loud = (release.gate_override or release.override_withdrawn or "overdue" in flags or "passed" in flags
                    or "downgrade" in flags)
            title.append(f"  {flags}", style="italic yellow" if loud else "dim")
        title.truncate(room, overflow="ellipsis")
        row = [cell(release.key), cell(release.version), cell(release.type), title]
        if width >= 100:
            row += [cell(release.captain), cell(release.target_date.isoformat() if release.target_date else "—")]
        return row + [cell(release.stage.value, STAGE_STYLE[release.stage]), cell(f"{release.done}/{release.total}")]

    def _follow_selection(self, table: KeyTable) -> None:
        selected = self.octo.selected_release_id
        if selected is not None and str(selected) in table.rows and table.selected_key() != str(selected):
            table.move_cursor(row=table.get_row_index(str(selected)))

    def on_data_table_row_highlighted(self, event: KeyTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value is not None:
            self.octo.selected_release_id = int(event.row_key.value)

    def on_data_table_row_selected(self, event: KeyTable.RowSelected) -> None:
        self.action_open()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#board").focus()

    def selected(self) -> Release | None:
        key = self.query_one("#board", KeyTable).selected_key()
        return self.octo.workspace.release(int(key)) if key else None

    def shown_release(self) -> Release | None:
        return self.selected()

    def decision_context(self) -> dict[str, Any]:
        release = self.selected()
        return {"links": release.key if release is not None else ""}

    def action_new(self) -> None:
        from octotui.domain.roles import ChecklistRole
        from octotui.ui.flows import (  # forms load when first opened, not before the first paint
            guide_lacks,
            release_form,
        )

        if not guide_lacks(self.octo, ChecklistRole.DEPLOYMENT):
            self.octo.push_screen(release_form(self.octo), self._saved)

    def action_new_hotfix(self) -> None:
        from octotui.domain.roles import ChecklistRole
        from octotui.ui.flows import guide_lacks, release_form

        if not guide_lacks(self.octo, ChecklistRole.HOTFIX):
            self.octo.push_screen(release_form(self.octo, hotfix=True), self._saved)

    def _saved(self, release: Release | None) -> None:
        if release is not None:
            self.octo.selected_release_id = release.id
            self.notify(f"{release.key} {release.version} saved")

    def action_edit(self) -> None:
        release = self.selected()
        if release is None:
            self.notify("Select a release first", severity="warning")
            return
        from octotui.ui.flows import release_form

        self.octo.push_screen(release_form(self.octo, release), self._saved)

    def action_open(self) -> None:
        release = self.selected()
        if release is None:
            return
        self.octo.selected_release_id = release.id
        self.octo.checklist_owner = ("release", release.id)
        self.octo.switch_mode("checklist")

    def action_cancel_release(self) -> None:
        release = self.selected()
        if release is not None:
            from octotui.ui.flows import lifecycle_move

            lifecycle_move(self.octo, release, "cancel")

    def action_reopen(self) -> None:
        release = self.selected()
        if release is not None:
            from octotui.ui.flows import lifecycle_move

            lifecycle_move(self.octo, release, "reopen")

    def action_rollback(self) -> None:
        release = self.selected()
        if release is not None:
            from octotui.ui.flows import start_rollback_flow

            start_rollback_flow(self.octo, release)

    def action_filter(self) -> None:
        box = self.query_one("#board-filter", Input)
        box.display = True
        box.focus()
