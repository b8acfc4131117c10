"""Screen 4: the decision log — newest first, searched in the core, shown a page of rows at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, Static

from octotui.comms.exports import MadrExport, decision_log, write_madr_dir
from octotui.domain.clock import local_time
from octotui.domain.inputs import InputError
from octotui.domain.models import Decision, DecisionStatus, parse_key
from octotui.domain.quoting import quoted
from octotui.domain.refs import Shows
from octotui.domain.search import DecisionIndex
from octotui.ui import actions
from octotui.ui.flows import decision_form
from octotui.ui.forms import Modal, prompt
from octotui.ui.widgets import FilterInput, KeyTable, LiveScreen, StatusLine, cell, clip, key_width, literal

PAGE_SIZE = 26  # rows added at a time: about one screenful (a 36-line terminal shows ~25)
STATUS_CYCLE: list[DecisionStatus | None] = [None, *DecisionStatus]


class DecisionDetailScreen(Modal[str | None]):
    """The full record; Enter on a link jumps to that release or incident."""

    BINDINGS = [Binding("escape,q", "dismiss(None)", "Close", id="detail.close", tooltip="Back to the log")]

    def __init__(self, decision: Decision) -> None:
        super().__init__()
        self.decision = decision

    def compose(self) -> ComposeResult:
        d = self.decision
        with Vertical(classes="form wide"):
            yield Static(Text(f"{d.key}  ", style="bold") + literal(d.title, "bold"), classes="form-title")
            with VerticalScroll(classes="form-body"):
                yield Static(decision_text(d))
            with Horizontal(classes="dialog-buttons"):
                for key in [f"REL-{n}" for n in d.release_ids] + [f"INC-{n}" for n in d.incident_ids]:
                    yield Button(f"Go to {key}", id=f"go-{key}")
                for related in filter(None, (d.supersedes, d.superseded_by)):
                    yield Button(f"Go to DEC-{related}", id=f"go-DEC-{related}")
                yield Button("Close (Esc)", id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "close" else (event.button.id or "")[3:])


def decision_text(d: Decision) -> Text:
    text = Text()
    rows = [("Date", d.date.isoformat()), ("Status", d.status_label()), ("Owner", d.owner),
            ("Links", d.links_label() or "—")]
    if d.supersedes:
        rows.append(("Supersedes", f"DEC-{d.supersedes}"))
    if d.item:
        rows.append(("Checklist item", d.item))
    if d.kind:
        rows.append(("Kind", d.kind))
    for label, value in rows:
        text.append(f"{label}: ", style="bold")
        text.append_text(literal(value))
        text.append("\n")
    for label, value in (("Context", d.context), ("Decision", d.decision), ("Alternatives considered", d.alternatives),
                         ("Consequences", d.consequences)):
        text.append(f"\n{label}\n", style="bold underline")
        text.append_text(literal(value or "—"))
        text.append("\n")
    if d.history:
        text.append("\nHistory\n", style="bold underline")
        for edit in d.history:
            text.append(f"{local_time(edit.at)} {edit.author} changed ", style="dim")
            text.append_text(literal(clip(edit.describe(), 400), "dim"))
            text.append("\n")
    return text


class DecisionLogScreen(LiveScreen):
    TITLE = "Decision log"
    MODE = "decisions"
    BINDINGS = actions.bindings(MODE)  # from the one registry (ui/actions.py)

    def __init__(self) -> None:
        super().__init__()
        self.status_filter: DecisionStatus | None = None
        self.link_filter: tuple[str, int] | None = None
        self._index: DecisionIndex | None = None
        self._hits: list[int] = []
        self._row_ids: list[int] = []  # the decision shown in each row, by position
        self._built: tuple[int, str, DecisionStatus | None, tuple[str, int] | None] | tuple[()] = ()  # what the rows were last built for
        self._built_revision = -1
        self._reading = False

    def _read(self, index: DecisionIndex) -> None:
        self._reading = False
        self._index, self._built = index, ()  # the rows are built again from it
        if self.is_current:  # else when shown again (a screen reloads on resume)
            self.reload()

    def _read_failed(self, _error: BaseException) -> bool:
        self._reading = False  # asked again on the next reload; the app reports what went wrong
        return False

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusLine()
        yield FilterInput(placeholder="search title, context, decision…", id="decision-search")
        yield Static(id="decision-filters")
        yield KeyTable(id="decisions")
        yield Static(id="decision-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#decision-search").display = False
        self.reload()
        self.query_one("#decisions").focus()

    SHOWS = Shows.of("decision")

    def index(self) -> DecisionIndex:
        """The decisions as last indexed (built off the loop: see `_index_off_the_loop`)."""
        assert self._index is not None, "reload returns until the first index arrives"
        return self._index

    def _index_off_the_loop(self) -> None:
        """Years of decisions are parsed (once) and indexed (after each change) in the worker, never on the
        loop: until the index arrives, the rows shown stay as they were."""
        if self._reading:
            return
        self._reading = True
        workspace = self.octo.workspace
        if not workspace.decisions_read:
            last = workspace.store.snapshot.last_id("decisions")
            self.query_one("#decision-filters", Static).update(Text(f"Reading up to {last:,} decisions…", style="dim"))

        def index_decisions() -> DecisionIndex:
            return DecisionIndex(workspace.decisions())

        self.octo.commands.submit(index_decisions, on_success=self._read, on_error=self._read_failed)

    def reload(self) -> None:
        workspace = self.octo.workspace
        if self._index is None or not workspace.decisions_read or self._index.decisions is not workspace.decisions():
            self._index_off_the_loop()
            if self._index is None:
                return
        query = self.query_one("#decision-search", Input).value
        key = (self.data_version, query, self.status_filter, self.link_filter)
        if key == self._built:
            return
        self._built = key
        release_id = self.link_filter[1] if self.link_filter and self.link_filter[0] == "REL" else None
        incident_id = self.link_filter[1] if self.link_filter and self.link_filter[0] == "INC" else None
        self._hits = self.index().search(query, self.status_filter, release_id, incident_id)
        table = self.query_one("#decisions", KeyTable)
        selected = self.selected()
        if not table.columns:
            width = self.size.width or 120
            id_width = key_width("DEC", max(self.index().decisions, default=0) * 10, 8)  # a digit to grow into
            # Narrow: owner and links stay in the detail below, so the title keeps room to be read.
            others = [("Status", 22), ("Owner", 10), ("Links", 14)] if width >= 100 else [("Status", 12)]
            fixed = id_width + 10 + sum(column_width for _label, column_width in others)
            title_width = max(16, width - fixed - 2 * (len(others) + 3) - 2)
            self._wide = width >= 100
            for label, column_width in (("ID", id_width), ("Date", 10), ("Title", title_width), *others):
                table.add_column(label, width=column_width, key=label)
        self._fill_rows(self._hits[:PAGE_SIZE])
        if selected is not None and selected.id in self._row_ids:
            table.move_cursor(row=self._row_ids.index(selected.id))
        total = len(self.index().decisions)
        summary = Text(f"{len(self._hits):,} of {total:,} decisions", style="bold")
        if query.strip():
            summary.append(f" · search: {clip(query, 40)}", style="cyan")
        summary.append(f" · status: {self.status_filter.value if self.status_filter else 'all'} (f)", style="dim")
        summary.append(f" · link: {'-'.join(map(str, self.link_filter)) if self.link_filter else 'any'} (l)", style="dim")
        if not total:
            summary = Text("No decisions yet — press n (or D anywhere) to record one", style="bold")
        self.query_one("#decision-filters", Static).update(summary)
        self._show_detail()

    def _cells(self, decision_id: int) -> tuple[Text, ...]:
        d = self.index().decisions[decision_id]
        status_style = {"proposed": "yellow", "accepted": "green", "rejected": "red", "deprecated": "dim",
                        "superseded": "dim"}[d.status.value]
        cells = (cell(d.key), cell(d.date.isoformat()), cell(d.title), cell(d.status_label(), status_style))
        return cells + (cell(d.owner), cell(d.links_label())) if getattr(self, "_wide", True) else cells

    def _fill_rows(self, ids: list[int]) -> None:
        """Show `ids` in rows keyed by position: a new search rewrites cells in place instead of
        rebuilding the table, and only rows whose decision changed are touched."""
        table = self.query_one("#decisions", KeyTable)
        columns = list(table.columns)
        for position, decision_id in enumerate(ids):
            cells = self._cells(decision_id)
            if position < len(self._row_ids):
                if self._row_ids[position] != decision_id or self._built_revision != self.data_version:
                    for column, value in zip(columns, cells, strict=True):
                        table.update_cell(f"r{position}", column, value)
                    self._row_ids[position] = decision_id
            else:
                table.add_row(*cells, key=f"r{position}")
                self._row_ids.append(decision_id)
        for position in range(len(ids), len(self._row_ids)):
            table.remove_row(f"r{position}")
        del self._row_ids[len(ids):]
        self._built_revision = self.data_version

    def _append_page(self) -> None:
        """Rows are added a page at a time, as the cursor reaches the end: 10k decisions open at once."""
        self._fill_rows(self._hits[: len(self._row_ids) + PAGE_SIZE])

    def on_data_table_row_highlighted(self, event: KeyTable.RowHighlighted) -> None:
        table = self.query_one("#decisions", KeyTable)
        if event.cursor_row >= table.row_count - 1 and len(self._row_ids) < len(self._hits):
            self._append_page()
        self._show_detail()

    def on_data_table_row_selected(self, _event: KeyTable.RowSelected) -> None:
        self.action_open()

    def _show_detail(self) -> None:
        decision = self.selected()
        detail = self.query_one("#decision-detail", Static)
        if decision is None:
            detail.update("")
            return
        text = Text(f"{decision.key} ", style="bold") + literal(clip(decision.title, 200), "bold")
        text.append("\n")
        text.append_text(literal(clip(decision.decision, 300)))
        detail.update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.reload()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.query_one("#decisions").focus()

    def selected(self) -> Decision | None:
        table = self.query_one("#decisions", KeyTable)
        if not self._row_ids or not 0 <= table.cursor_row < len(self._row_ids):
            return None
        return self.octo.workspace.decision(self._row_ids[table.cursor_row])

    def decision_context(self) -> dict[str, Any]:
        return {}

    def action_filter(self) -> None:
        box = self.query_one("#decision-search", Input)
        box.display = True
        box.focus()

    def action_cycle_status(self) -> None:
        self.status_filter = STATUS_CYCLE[(STATUS_CYCLE.index(self.status_filter) + 1) % len(STATUS_CYCLE)]
        self.reload()

    def action_filter_link(self) -> None:
        def submit(text: str) -> tuple[str, int]:
            text = text.strip().upper()
            if not text:
                return ("", 0)
            prefix = text.split("-")[0]
            number = parse_key(text, prefix) if prefix in ("REL", "INC") else None
            if number is None:
                raise InputError({"text": "Type REL-n or INC-n (empty shows all)"})
            return (prefix, number)

        def chosen(result: tuple[str, int] | None) -> None:
            if result is not None:
                self.link_filter = result if result[0] else None
                self.reload()

        current = "-".join(map(str, self.link_filter)) if self.link_filter else ""
        self.octo.push_screen(prompt("Filter decisions by link", "REL-n or INC-n (empty: all)", submit, value=current), chosen)

    def action_new(self) -> None:
        self.octo.action_record_decision()

    def action_open(self) -> None:
        decision = self.selected()
        if decision is not None:
            self.octo.push_screen(DecisionDetailScreen(decision), self._jump)

    def _jump(self, target: str | None) -> None:
        if not target:
            return
        prefix, number = target.split("-")
        app = self.octo
        if prefix == "REL" and app.workspace.release(int(number)):
            app.selected_release_id = int(number)
            app.checklist_owner = ("release", int(number))
            app.switch_mode("board")
        elif prefix == "INC" and app.workspace.incident(int(number)):
            app.active_incident_id = int(number)
            app.switch_mode("incident")
        elif prefix == "DEC":
            table = self.query_one("#decisions", KeyTable)
            self.status_filter, self.link_filter = None, None
            self.query_one("#decision-search", Input).value = ""
            self.reload()
            while int(number) not in self._row_ids and len(self._row_ids) < len(self._hits):
                self._append_page()
            if int(number) in self._row_ids:
                table.move_cursor(row=self._row_ids.index(int(number)))
        else:
            self.notify(f"{target} no longer exists", severity="warning")

    def action_edit(self) -> None:
        decision = self.selected()
        if decision is None:
            return
        workspace = self.octo.workspace
        prefill = {name: getattr(decision, name) for name in ("title", "context", "decision", "alternatives",
                                                               "consequences", "owner")}
        prefill["status"] = decision.status.value if decision.status is not DecisionStatus.SUPERSEDED else "accepted"
        prefill["links"] = decision.links_label()
        form = decision_form(f"Edit {decision.key}", prefill,
                             lambda values: workspace.edit_decision(decision.id, **values), workspace.author)
        self.octo.push_screen(form)

    def action_supersede(self) -> None:
        decision = self.selected()
        if decision is None:
            return
        if decision.superseded_by:
            self.notify(f"{decision.key} is already superseded by DEC-{decision.superseded_by}", severity="warning")
            return
        workspace = self.octo.workspace
        prefill = {"title": decision.title, "context": f"Supersedes {decision.key}: {decision.context}"[:5000],
                   "links": decision.links_label()}
        form = decision_form(f"Supersede {decision.key} with a new decision", prefill,
                             lambda values: workspace.supersede(decision.id, **values), workspace.author)
        self.octo.push_screen(form)

    def action_superseded_by(self) -> None:
        decision = self.selected()
        if decision is None:
            return
        workspace = self.octo.workspace

        def submit(text: str) -> int:
            newer = parse_key(text, "DEC")
            if newer is None or workspace.decision(newer) is None:
                raise InputError({"text": f"{quoted(text.strip())} is not a decision (DEC-n)"})
            workspace.supersede_existing(newer, decision.id)
            return newer

        self.octo.push_screen(prompt(f"{decision.key} is superseded by…", "DEC-m (an existing decision)", submit))

    def action_copy_log(self) -> None:
        self.octo.copy_text(decision_log(self.octo.workspace.decisions_newest_first()), "Decision log")

    def action_export_madr(self) -> None:
        default = str(self.octo.workspace.store.path.parent / "decisions")
        workspace = self.octo.workspace

        def submit(folder: str) -> tuple[MadrExport, Path]:
            target = Path(folder.strip() or default).expanduser()
            if target.exists() and not target.is_dir():
                raise InputError({"text": f"{target} is not a folder"})
            try:
                return write_madr_dir(workspace.decisions_newest_first(), target, protected=[workspace.store.path]), target
            except OSError as error:
                raise InputError({"text": f"cannot write to {target}: {error.strerror or error}"}) from None

        def written(result: tuple[MadrExport, Path] | None) -> None:
            if result is None:
                return
            export, target = result
            message = f"Wrote {len(export.written)} MADR file(s) to {target}"
            if export.clashes:
                names = ", ".join(path.name for path in export.clashes[:3])
                message += f"; left {len(export.clashes)} file(s) octotui did not write as they are ({names})"
            for theirs, ours in export.shared_numbers[:3]:
                message += f"; {theirs.name} (not octotui's, left as it is) has the same number as {ours.name}"
            self.notify(message, severity="warning" if export.clashes or export.shared_numbers else "information",
                        timeout=10)

        self.octo.push_screen(prompt("Export decisions as MADR files", "Folder", submit, value=default), written)
