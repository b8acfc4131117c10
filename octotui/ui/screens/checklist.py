"""Screen 2: the live checklists of a release (gate, deployment or hotfix, the guide's own, rollback) or an
incident."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from octotui.domain import lifecycle
from octotui.domain.board import release_flags
from octotui.domain.clock import format_countdown, local_time
from octotui.domain.models import ChecklistItem, ChecklistRun, Incident, ItemState, Release
from octotui.domain.refs import KINDS, RecordRef, RunRef, Shows
from octotui.domain.text import plain
from octotui.services.workspace import GateBlocked, NeedsConfirmation
from octotui.ui import actions
from octotui.ui.flows import (
    decision_form,
    lifecycle_move,
    release_form,
    release_notes_form,
    start_rollback_flow,
)
from octotui.ui.forms import ConfirmScreen, prompt
from octotui.ui.item_flows import due_form, nearest_shown, reference_text, stage_skipped
from octotui.ui.widgets import (
    STAGE_STYLE,
    KeyTable,
    LiveScreen,
    StatusLine,
    cell,
    clip,
    literal,
)

STATE_MARK = {ItemState.TODO: ("[ ]", ""), ItemState.DONE: ("[x]", "bold green"), ItemState.NA: ("N/A", "yellow")}


class ChecklistScreen(LiveScreen):
    TITLE = "Checklist"
    MODE = "checklist"
    BINDINGS = actions.bindings(MODE)  # from the one registry (ui/actions.py)

    def __init__(self) -> None:
        super().__init__()
        self._rows: dict[str, tuple[Text, ...]] = {}  # row key -> rendered cells, to repaint only what changed
        self._headers: dict[str, tuple[Text, ...]] = {}  # the same for each run's header row
        self._show_owner = False
        self._layout: tuple[tuple[tuple[RunRef, int], ...], int] | tuple[()] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusLine()
        yield Static(id="checklist-heading")
        yield KeyTable(id="checklist")
        yield Static(id="item-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#checklist").focus()

    def on_resize(self) -> None:
        self._layout = ()
        self.reload()

    # -- what is shown ---------------------------------------------------------------------
    def owner_ref(self) -> RecordRef | None:
        """Whose checklists are shown: the chosen owner, else the selected release, else the active incident."""
        app = self.octo
        if app.checklist_owner is not None:
            kind, owner_id = app.checklist_owner
            return RecordRef("release" if kind == "release" else "incident", owner_id)
        if app.selected_release_id is not None:
            return RecordRef("release", app.selected_release_id)
        if app.active_incident_id is not None:
            return RecordRef("incident", app.active_incident_id)
        return None

    def owner(self) -> Release | Incident | None:
        ref, workspace = self.owner_ref(), self.octo.workspace
        if ref is None:
            return None
        return workspace.release(ref.id) if ref.kind == "release" else workspace.incident(ref.id)

    def refs(self, owner: Release | Incident | None) -> list[RunRef]:
        if self.octo.checklist_mine:  # items assigned to me, on every release that has one
            return self.octo.workspace.runs_assigned_to(self.octo.workspace.author)
        if owner is None:
            return []
        if isinstance(owner, Release):
            return [RunRef("release", owner.id, role) for role in owner.run_order()]
        return self.octo.workspace.incident_runs(owner)

    def reload(self) -> None:
        workspace = self.octo.workspace
        owner = self.owner()
        table = self.query_one("#checklist", KeyTable)
        refs = self.refs(owner)
        found = [(ref, workspace.run(ref)) for ref in refs]
        runs = [(ref, run) for ref, run in found if run is not None]
        self.query_one("#checklist-heading", Static).update(self._heading(owner, runs))
        width = self.size.width or 120
        layout = (tuple((ref, len(run.items)) for ref, run in runs), width)
        if layout != self._layout:
            self._build(table, runs, width, show_owner=self.octo.checklist_mine or not isinstance(owner, Release))
            self._layout = layout
        else:
            self._repaint(table, runs)
        self._show_detail()

    def _build(self, table: KeyTable, runs: list[tuple[RunRef, ChecklistRun]], width: int, show_owner: bool) -> None:
        selected = table.selected_key()
        table.clear(columns=True)
        table.header_rows = set()
        self._rows = {}
        info_width = 22 if width >= 100 else 14
        who_width = 18 if width >= 100 else 0
        text_width = max(16, width - 5 - info_width - who_width - 2 * (3 + (1 if who_width else 0)) - 2)
        table.add_column("", width=3, key="state")
        table.add_column("Item", width=text_width, key="text")
        if who_width:
            table.add_column("By / when", width=who_width, key="who")
        table.add_column("", width=info_width, key="info")
        self._text_width, self._wide = text_width, bool(who_width)
        self._show_owner, self._headers = show_owner, {}
        for ref, run in runs:
            key = f"h:{ref.owner_key}:{ref.role}"
            table.header_rows.add(key)
            self._headers[key] = self._header_cells(ref, run, len(table.columns))
            table.add_row(*self._headers[key], key=key)
            for index, item in self._shown_items(run):
                cells = self._cells(ref, run, index, item)
                row_key = f"{ref.owner_key}:{ref.role}:{index}"
                self._rows[row_key] = cells
                table.add_row(*cells, key=row_key)
        order = [f"{ref.owner_key}:{ref.role}:{index}" for ref, run in runs for index in range(len(run.items))]
        # Only a shown row can take the cursor: a row a filter hides hands it to the nearest shown one.
        wanted = selected or self.octo.restored_row or self._next_row(runs)
        target = nearest_shown(wanted, order, self._rows)
        if target is None and self._rows:  # where the work is: the first open item of the active run
            target = nearest_shown(self._next_row(runs), order, self._rows) or next(iter(self._rows))
        if target is not None:
            table.move_cursor(row=table.get_row_index(target))

    def _active(self, runs: list[tuple[RunRef, ChecklistRun]]) -> list[tuple[RunRef, ChecklistRun]]:
        """The runs in the order work happens now: the active run first."""
        owner = self.owner()
        active = self.octo.workspace.active_run(owner) if owner is not None else None
        return sorted(runs, key=lambda pair: pair[0].role != active)

    def _next_row(self, runs: list[tuple[RunRef, ChecklistRun]]) -> str | None:
        for ref, run in self._active(runs):
            for index, item in enumerate(run.items):
                if not item.settled:
                    return f"{ref.owner_key}:{ref.role}:{index}"
        return None

    def _shown_items(self, run: ChecklistRun) -> list[tuple[int, ChecklistItem]]:
        if not self.octo.checklist_mine:
            return list(enumerate(run.items))
        author = self.octo.workspace.author
        return [(index, item) for index, item in enumerate(run.items) if item.owner == author]

    def _header_cells(self, ref: RunRef, run: ChecklistRun, columns: int) -> tuple[Text, ...]:
        heading = Text(f"{run.name}", style="bold underline")
        heading.append(f"  {run.progress_label()}", style="bold")
        if self._show_owner and ref.owner == "release":
            heading.append(f"  ({ref.owner_key})", style="dim")
        return (Text("▸"), heading, *[Text("")] * (columns - 2))

    def _repaint(self, table: KeyTable, runs: list[tuple[RunRef, ChecklistRun]]) -> None:
        """Only rows whose cells changed are rewritten: a check repaints its row and its run's header."""
        for ref, run in runs:
            header_key = f"h:{ref.owner_key}:{ref.role}"
            header = self._header_cells(ref, run, len(table.columns))
            if self._headers.get(header_key) != header:
                table.update_row(header_key, header)
                self._headers[header_key] = header
            for index, item in self._shown_items(run):
                row_key = f"{ref.owner_key}:{ref.role}:{index}"
                cells = self._cells(ref, run, index, item)
                if self._rows.get(row_key) != cells:
                    table.update_row(row_key, cells)
                    self._rows[row_key] = cells

    def _cells(self, ref: RunRef, run: ChecklistRun, index: int, item: ChecklistItem) -> tuple[Text, ...]:
        mark, style = STATE_MARK[item.state]
        text = Text(clip(plain(item.text), self._text_width), style="dim" if item.state is ItemState.NA else "")
        cells = [Text(mark, style=style), text]
        if self._wide:
            cells.append(cell(f"{item.by} {local_time(item.at)[5:]}" if item.by and item.at else "", "dim"))
        cells.append(self._info(ref, run, index, item))
        return tuple(cells)

    def _info(self, ref: RunRef, run: ChecklistRun, index: int, item: ChecklistItem) -> Text:
        info = Text(no_wrap=True, overflow="ellipsis")
        workspace = self.octo.workspace
        if item.timing is not None and not item.settled:
            left = workspace.time_left(ref, index)
            if left is None:
                info.append("⏱ waits for the step before " if item.timing.kind == "window"
                            else f"⏱ {item.timing.phrase} of resolution ", style="dim")
            elif item.timing.kind == "window":
                info.append(f"⏱ {format_countdown(left)} left " if left > timedelta(0) else "⏱ window done ",
                            style="bold cyan" if left > timedelta(0) else "green")
            else:
                info.append(f"due {local_time(workspace.now() + left)[5:]} ", style="red" if left < timedelta(0) else "cyan")
        if item.due is not None and not item.settled:
            overdue = item.due < workspace.now()
            info.append(f"{'OVERDUE ' if overdue else 'due '}{local_time(item.due)[5:]} ",
                        style="bold white on red" if overdue else "cyan")
        if item.owner and not item.settled:
            info.append(f"@{item.owner} ", style="bold" if item.owner == workspace.author else "")
        if item.early:
            info.append("early ", style="bold yellow")
        if item.before_start:
            info.append("before its start ", style="bold yellow")
        if item.optional:
            info.append("optional ", style="dim italic")
        if item.note:
            info.append("✎note ", style="cyan")
        if item.decision_id:
            info.append(f"DEC-{item.decision_id} ", style="magenta")
        elif item.mentions_decision_log and item.decision_skipped:
            info.append("no decision ", style="dim")
        elif item.mentions_decision_log:
            info.append("→ decision log ", style="dim magenta")
        return info

    def _heading(self, owner: Release | Incident | None, runs: list[tuple[RunRef, ChecklistRun]]) -> Text:
        if self.octo.checklist_mine and not runs:
            return Text("Only mine: nothing assigned to you — o assigns an item, m shows all items.", style="bold")
        if owner is None:
            return Text("Nothing selected: pick a release on the board (1) or start an incident (i).", style="bold")
        if isinstance(owner, Release):
            heading = Text(f"{owner.key} {owner.version} ", style="bold")
            heading.append_text(Text(clip(owner.title, 60)))
            heading.append(f"  {owner.stage.value}", style=STAGE_STYLE[owner.stage])
            done, total = owner.progress()
            heading.append(f"  {done}/{total} done")
            flags = release_flags(owner, now=self.octo.workspace.now())
            if flags:
                heading.append(f"  {clip(flags, 60)}", style="yellow")
            blockers = owner.gate_blockers()
            if blockers and owner.gate_override is None:
                heading.append(f"\nGate: {len(blockers)} open — staging is blocked until they are done or N/A", style="yellow")
            workspace = self.octo.workspace
            missing = workspace.signoffs_missing(owner) if owner.gate_override is None else 0
            if owner.signoffs:
                heading.append("\nSigned off: " + ", ".join(f"{e.by} {local_time(e.at)[5:]}" for e in owner.signoffs),
                               style="green")
            if missing:
                heading.append(f"\nAwaiting {missing} sign-off(s) — s signs off; staging is blocked until then", style="yellow")
            if owner.override_withdrawn:
                heading.append(f"\nOverride withdrawn — gate not met (DEC-{owner.gate_override_withdrawn} no longer "
                               "counts): staging waits until the gate is met or a new override is accepted",
                               style="bold red")
            if owner.gate_override_pending is not None and owner.gate_override is None:
                heading.append(f"\nOverride pending DEC-{owner.gate_override_pending}: it counts once someone other "
                               "than the captain accepts it",
                               style="yellow")
            if lifecycle.is_locked(owner):
                heading.append(f"\nLocked ({owner.stage.value}): read-only — O reopens it with a reason", style="bold")
            left = [(run, item) for _ref, run in self._active(runs) for item in run.remaining()]
            if left and not lifecycle.is_locked(owner):
                run, item = left[0]
                heading.append(f"\nNext in {run.name}: ", style="dim")
                heading.append_text(Text(clip(plain(item.text), 70)))
                if len(left) > 1:
                    heading.append(f"  (+{len(left) - 1} more left)", style="dim")
            if owner.decision_ids:
                heading.append(f"\nDecisions: {', '.join(f'DEC-{n}' for n in owner.decision_ids)}", style="magenta")
            return heading
        heading = Text(f"{owner.key} {owner.severity} ", style="bold red")
        heading.append_text(Text(clip(owner.title, 60)))
        heading.append(f"  {owner.status}", style="yellow")
        return heading

    def selected(self) -> tuple[RunRef, int] | None:
        key = self.query_one("#checklist", KeyTable).selected_key()
        if key is None:
            return None
        owner_key, role, index = key.rsplit(":", 2)
        prefix, number = owner_key.split("-")
        return RunRef("release" if prefix == "REL" else "incident", int(number), role), int(index)

    def selected_item(self) -> tuple[RunRef, int, ChecklistItem] | None:
        selection = self.selected()
        if selection is None:
            return None
        ref, index = selection
        run = self.octo.workspace.run(ref)
        return (ref, index, run.items[index]) if run and index < len(run.items) else None

    def on_data_table_row_highlighted(self, _event: KeyTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        detail = self.query_one("#item-detail", Static)
        chosen = self.selected_item()
        if chosen is None:
            detail.update(Text("space: check · x: N/A · a: note · u: undo · D: decision · ?: all keys", style="dim"))
            return
        ref, index, item = chosen
        text = literal(plain(item.text), style="bold")
        mark, style = STATE_MARK[item.state]
        text.append(f"\n{mark} ", style=style)
        if item.settled:
            text.append(f"by {item.by} at {local_time(item.at)}")
        if item.na_reason:
            text.append("\nN/A because: ", style="yellow")
            text.append_text(literal(clip(item.na_reason, 400)))
        if item.note:
            text.append("\nNote: ", style="cyan")
            text.append_text(literal(clip(item.note, 400)))
        run = self.octo.workspace.run(ref)
        events = [event for event in run.history if event.item == index][-3:] if run else []
        for event in reversed(events):
            text.append(f"\n  {local_time(event.at)} {event.author}: {event.action}", style="dim")
        detail.update(text + reference_text(self.octo, ref.role))

    def shows(self) -> Shows:
        """Exactly the owner and the owners of the runs it shows (an incident's include its release's
        rollback or hotfix run), read without parsing the release: a change told for anything else is not ours."""
        if self.octo.checklist_mine:
            return Shows.of("release", "incident")  # an item on any of them may become mine
        ref = self.owner_ref()
        if ref is None:
            return Shows.of(*KINDS)  # nothing to show yet: whatever is created may be
        if ref.kind == "release":
            return Shows.of(records={ref})
        incident = self.octo.workspace.incident(ref.id)
        return Shows.of(records={ref, *(run.owner_ref for run in self.refs(incident))})

    def tick(self) -> None:
        """Countdowns move with the app's tick; only the rows with a timed item are repainted."""
        owner = self.owner()
        refs = self.refs(owner)
        runs = [(ref, self.octo.workspace.run(ref)) for ref in refs]
        table = self.query_one("#checklist", KeyTable)
        for ref, run in runs:
            if run is None:
                continue
            for index, item in enumerate(run.items):
                if item.timing is None or item.settled:
                    continue
                row_key = f"{ref.owner_key}:{ref.role}:{index}"
                info = self._info(ref, run, index, item)
                if row_key in self._rows and self._rows[row_key][-1] != info:
                    self._rows[row_key] = (*self._rows[row_key][:-1], info)
                    table.update_row(row_key, self._rows[row_key])

    # -- actions ---------------------------------------------------------------------------
    def _change(self, action: str, text: str = "", confirm: bool = False) -> None:
        """Queue the change in the command worker; its prompts follow once it is saved."""
        chosen = self.selected_item()
        if chosen is None:
            self.notify("Select a checklist item first", severity="warning")
            return
        ref, index, _item = chosen

        def refused(error: BaseException) -> bool:
            if isinstance(error, GateBlocked):
                self._gate_blocked(ref, error)
                return True
            if isinstance(error, lifecycle.StageSkipped):
                stage_skipped(self.octo, ref, index, action, text, error, lambda run: self._after(run, ref, index))
                return True
            if isinstance(error, NeedsConfirmation):
                def decide(yes: bool | None) -> None:
                    if yes:
                        self.octo.run_command_async(workspace.change_item, ref, index, action, text=text, confirm=True,
                                                    on_success=lambda run: self._after(run, ref, index), on_error=refused)
                early = "window" in str(error)
                self.octo.push_screen(ConfirmScreen(str(error), yes="Check early" if early else "Yes",
                                                    no="Keep waiting" if early else "No"), decide)
                return True
            return False

        workspace = self.octo.workspace
        self.octo.run_command_async(workspace.change_item, ref, index, action, text=text, confirm=confirm,
                                    on_success=lambda run: self._after(run, ref, index), on_error=refused)

    def action_toggle_item(self) -> None:
        chosen = self.selected_item()
        question = self.octo.workspace.notes_question(chosen[0], chosen[1]) if chosen else None
        if question is None:
            self._change("toggle")
            return

        def decide(yes: bool | None) -> None:
            if yes:
                self._change("toggle", confirm=True)

        def decide_or_write(yes: bool | None) -> None:
            release = self.owner()
            if yes:
                decide(True)
            elif yes is False and isinstance(release, Release):  # the button says it: the notes form opens
                self.octo.push_screen(release_notes_form(self.octo, release))

        self.octo.push_screen(ConfirmScreen(question, yes="Check it anyway", no="Write the notes first"),
                              decide_or_write)

    def action_sign_off(self) -> None:
        owner = self.owner()
        if not isinstance(owner, Release):
            self.notify("Sign-off is for releases: open one from the board", severity="warning")
            return
        workspace = self.octo.workspace
        needed = workspace.signoffs_missing(owner)
        self.octo.push_screen(prompt(f"Sign off {owner.key} {owner.version} as {workspace.author}"
                                     + (f" ({needed} more needed)" if needed else ""), "Note (optional)",
                                     lambda note: workspace.sign_off(owner.id, note)))

    def action_assign(self) -> None:
        chosen = self.selected_item()
        if chosen is None:
            return
        ref, index, item = chosen
        self.octo.push_screen(prompt(f"Owner of “{plain(item.text)[:50]}”", "Person (empty: nobody)",
                                     lambda text: self.octo.workspace.change_item(ref, index, "assign", text=text),
                                     value=item.owner or self.octo.workspace.author))

    def action_due(self) -> None:
        chosen = self.selected_item()
        if chosen is not None:
            due_form(self.octo, *chosen)

    def action_mine(self) -> None:
        self.octo.checklist_mine = not self.octo.checklist_mine
        self._layout = ()
        self.reload()
        self.notify("Showing items assigned to you, across releases" if self.octo.checklist_mine else "Showing all items")

    def shown_release(self) -> Release | None:
        owner = self.owner()
        return owner if isinstance(owner, Release) else None

    def action_reopen(self) -> None:
        owner = self.owner()
        if isinstance(owner, Release):
            lifecycle_move(self.octo, owner, "reopen")

    def action_section(self, step: int) -> None:
        table = self.query_one("#checklist", KeyTable)
        headers = sorted(table.get_row_index(key) for key in table.header_rows)
        here = table.cursor_row
        ahead = [row for row in headers if (row > here if step > 0 else row < here - 1)]
        if ahead:
            target = ahead[0] if step > 0 else ahead[-1]
            table.move_cursor(row=min(target + 1, table.row_count - 1))

    def _after(self, run: ChecklistRun | None, ref: RunRef, index: int) -> None:
        """Prompts that follow a check: record a decision; create a follow-up release."""
        if run is None:
            return
        item = run.items[index]
        if item.state is not ItemState.DONE:
            return
        if item.mentions_decision_log and item.decision_id is None:
            def decide(yes: bool | None) -> None:
                if yes:
                    self._record_for_item(ref, index, item)
                else:
                    self.octo.run_command_async(self.octo.workspace.skip_decision, ref, index)
            self.octo.push_screen(ConfirmScreen(Text("This item mentions the Decision Log. Record a decision now?\n\n")
                                               + literal(plain(item.text), "italic"), yes="Record decision", no="Skip"), decide)
        elif item.followup == "release" and ref.owner == "release":
            release = self.octo.workspace.release(ref.owner_id)

            def create(yes: bool | None) -> None:
                if yes and release is not None:
                    self.octo.push_screen(release_form(self.octo, followup_of=release.id,
                                                      title_prefill=f"Backport of {release.version}: {release.title}"[:200]))
            self.octo.push_screen(ConfirmScreen("Create a follow-up release on the board for the backport?",
                                               yes="Create release", no="Not needed"), create)

    def _record_for_item(self, ref: RunRef, index: int, item: ChecklistItem) -> None:
        self.octo.open_decision_form({"title": plain(item.text)[:200], "links": ref.owner_key, "item_ref": ref,
                                     "item_index": index})

    def decision_context(self) -> dict[str, Any]:
        chosen = self.selected_item()
        if chosen is None:
            return {}
        ref, index, item = chosen
        release = self.octo.workspace.release(ref.owner_id) if ref.owner == "release" else None
        served = release.run_incidents.get(ref.role) if release is not None else None  # a rollback/hotfix run's own
        links = [ref.owner_key] + ([f"INC-{served}"] if served else [])
        return {"title": plain(item.text)[:200], "links": ", ".join(dict.fromkeys(links)), "item_ref": ref, "item_index": index}

    def _gate_blocked(self, ref: RunRef, blocked: GateBlocked) -> None:
        lines = Text(f"{ref.owner_key} cannot enter Staging. These pre-release requirements are open:\n\n", style="bold")
        for item in blocked.blockers:
            lines.append("  • ")
            lines.append_text(literal(plain(item.text)))
            lines.append("\n")
        lines.append("\nOverride the gate by recording a decision that says why?")

        def decide(yes: bool | None) -> None:
            if yes:
                self.action_override_gate(ref.owner_id)
        self.octo.push_screen(ConfirmScreen(lines, yes="Record override decision", no="Back to the checklist"), decide)

    def action_override_gate(self, release_id: int | None = None) -> None:
        owner = self.owner()
        if release_id is None:
            if not isinstance(owner, Release):
                self.notify("The gate belongs to a release: open one from the board", severity="warning")
                return
            release_id = owner.id
        release = self.octo.workspace.release(release_id)
        if release is None or release.gate_passed:
            self.notify("The gate is already passed", severity="information")
            return
        blockers = "; ".join(plain(item.text) for item in release.gate_blockers())
        prefill = {"title": f"Override pre-release gate for {release.key} {release.version}"[:200],
                   "context": f"Open requirements: {blockers}"[:2000], "links": release.key,
                   "status": "proposed"}  # it counts once someone other than the captain accepts it
        workspace = self.octo.workspace
        form = decision_form("Override the gate — record why", prefill,
                             lambda values: workspace.override_gate(release.id, **values), workspace.author)
        self.octo.push_screen(form)

    def action_na(self) -> None:
        chosen = self.selected_item()
        if chosen is None:
            return
        ref, index, item = chosen

        def submit(reason: str) -> ChecklistRun:
            return self.octo.workspace.change_item(ref, index, "na", text=reason)

        form = prompt("Mark N/A — " + clip(plain(item.text), 60), "Reason (required)", submit, value=item.na_reason)
        self.octo.push_screen(form)

    def action_note(self) -> None:
        chosen = self.selected_item()
        if chosen is None:
            return
        ref, index, item = chosen
        form = prompt("Note — " + clip(plain(item.text), 60), "Note (empty clears it)",
                      lambda note: self.octo.workspace.change_item(ref, index, "note", text=note), value=item.note)
        self.octo.push_screen(form)

    def action_undo(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        ref, _index = chosen
        run = self.octo.workspace.run(ref)
        name = run.name if run is not None else "this checklist"
        self.octo.run_command_async(self.octo.workspace.change_item, ref, 0, "undo", on_success=lambda _run: self.notify(
            f"Undid the last change in {name} (recorded in its history)"))

    def action_history(self) -> None:
        chosen = self.selected_item()
        if chosen is None:
            return
        ref, index, item = chosen
        run = self.octo.workspace.run(ref)
        text = literal(plain(item.text), "bold") + Text("\n")
        for event in run.history if run else []:
            if event.item != index:
                continue
            text.append(f"\n{local_time(event.at)}  {event.author}  {event.action}")
            if event.action == "na":
                text.append(" — ")
                text.append_text(literal(clip(event.after.na_reason, 200)))
            if event.action == "note":
                text.append(" — ")
                text.append_text(literal(clip(event.after.note, 200)))
            if event.undoes:
                text.append(f" (undoes change #{event.undoes})", style="dim")
        if len(text.plain.splitlines()) <= 2:
            text.append("\nNo changes yet.", style="dim")
        self.octo.push_screen(ConfirmScreen(text, yes="Close", no="Close"))

    def action_rollback(self) -> None:
        owner = self.owner()
        if isinstance(owner, Release):
            start_rollback_flow(self.octo, owner)

    def action_edit(self) -> None:
        owner = self.owner()
        if isinstance(owner, Release):
            self.octo.push_screen(release_form(self.octo, owner))
