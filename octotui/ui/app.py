"""The App: modes for the five screens, global keys, the command palette, and shared state."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, Static

from octotui.comms.clipboard import CopyOutcome, copy_text
from octotui.domain.clock import parse_when
from octotui.comms.templates import CommsTemplate
from octotui.services.demo import load_demo
from octotui.domain.models import Severity
from octotui.domain.playbook import styles_path
from octotui.services.workspace import InputError, RunRef, Workspace
from octotui.storage.tinydb_store import StoreCorrupt, StoreError, move_aside
from octotui.domain.text import visible
from octotui.ui.screens.board import BoardScreen
from octotui.ui.screens.checklist import ChecklistScreen
from octotui.ui.screens.comms import CommsScreen
from octotui.ui.screens.decisions import DecisionLogScreen, decision_form
from octotui.ui.forms import ConfirmScreen, FormField, FormScreen, IncidentStartForm
from octotui.ui.help import HelpScreen
from octotui.ui.screens.incident import IncidentScreen

# Every action by name for the command palette: (title, help, mode to show first, action on that screen).
COMMANDS: list[tuple[str, str, str | None, str]] = [
    ("release: new", "Create a release (version, title, type, captain, target date)", "board", "new"),
    ("release: edit", "Edit the selected release", "board", "edit"),
    ("release: open checklists", "Open the selected release's checklists", "board", "open"),
    ("release: cancel", "Cancel the selected release (asks first)", "board", "cancel_release"),
    ("release: roll back", "Roll back the selected release and open its rollback checklist", "board", "rollback"),
    ("release: new hotfix", "Create a hotfix release (patch, hotfix checklist)", "board", "new_hotfix"),
    ("release: filter", "Filter the board by text", "board", "filter"),
    ("checklist: check / uncheck", "Toggle the selected item", "checklist", "toggle"),
    ("checklist: mark N/A", "Mark the selected item N/A with a reason", "checklist", "na"),
    ("checklist: note", "Add or edit a note on the selected item", "checklist", "note"),
    ("checklist: undo", "Undo the last change of this checklist (recorded)", "checklist", "undo"),
    ("checklist: override gate", "Record a decision that lets the release past the gate", "checklist", "override_gate"),
    ("incident: start", "Start an incident: title, severity; the clock runs", None, "app.start_incident"),
    ("incident: add timeline note", "Add a note to the active incident's timeline", None, "app.timeline_note"),
    ("incident: change status", "Advance or pick the incident status", "incident", "status"),
    ("incident: change severity", "Change the incident severity", "incident", "severity"),
    ("incident: assign role", "Assign or hand off commander, comms lead, tech lead", "incident", "assign"),
    ("incident: set impact", "Describe the customer impact", "incident", "impact"),
    ("incident: set current actions", "What is being done now (goes into updates)", "incident", "actions"),
    ("incident: edit milestone", "Backdate or correct a milestone time", "incident", "milestone"),
    ("incident: snooze update reminder", "Snooze the next-update reminder 5 minutes (recorded)", "incident", "snooze"),
    ("incident: copy status update", "Copy the status update and record it as sent", "incident", "copy_update"),
    ("incident: new hotfix release", "Create a hotfix release linked to the active incident", "incident", "hotfix"),
    ("incident: open checklists", "Escalation checklist and linked hotfix/rollback runs", "incident", "checklists"),
    ("incident: switch", "Switch to the next open incident", "incident", "next_incident"),
    ("decision: record", "Record a decision, prefilled with the current context", None, "app.record_decision"),
    ("decision: edit", "Edit the selected decision (history kept)", "decisions", "edit"),
    ("decision: supersede", "Supersede the selected decision with a new one", "decisions", "supersede"),
    ("decision: mark superseded by an existing one", "The selected decision is superseded by DEC-m", "decisions", "superseded_by"),
    ("decision: search", "Search decisions as you type", "decisions", "filter"),
    ("decision: filter by status", "Cycle all / proposed / accepted / superseded", "decisions", "cycle_status"),
    ("decision: filter by link", "Only decisions linked to a release or incident", "decisions", "filter_link"),
    ("decisions: copy log", "Copy the whole decision log (Markdown)", "decisions", "copy_log"),
    ("decisions: export MADR", "Write one MADR file per decision to a folder", "decisions", "export_madr"),
    ("comms: copy", "Copy the selected template", "comms", "copy"),
    ("comms: edit", "Edit the filled template before copying", "comms", "edit"),
    ("comms: revert edit", "Go back to the live fill of the template", "comms", "revert"),
    ("comms: edit release notes", "Edit the release notes fields of the release", "comms", "release_notes"),
    ("view: release board", "Show the release board", None, "app.switch_mode('board')"),
    ("view: checklist", "Show the checklist screen", None, "app.switch_mode('checklist')"),
    ("view: incident", "Show the incident screen", None, "app.switch_mode('incident')"),
    ("view: decision log", "Show the decision log", None, "app.switch_mode('decisions')"),
    ("view: comms", "Show the comms screen", None, "app.switch_mode('comms')"),
    ("app: help", "Every key of the current screen", None, "app.help"),
    ("app: load demo data", "Add the demo releases, incident and decisions", None, "app.load_demo"),
    ("app: quit", "Quit (everything is already saved)", None, "app.quit"),
]


class OctoApp(App[int]):
    TITLE = "octotui"
    SUB_TITLE = "1 board · 2 checklist · 3 incident · 4 decisions · 5 comms · ? help"
    CSS_PATH = str(styles_path("app.tcss"))
    MODES = {
        "board": BoardScreen,
        "checklist": ChecklistScreen,
        "incident": IncidentScreen,
        "decisions": DecisionLogScreen,
        "comms": CommsScreen,
    }
    DEFAULT_MODE = "board"
    BINDINGS = [
        Binding("1", "switch_mode('board')", "Board", show=False, id="view.board", tooltip="Release board"),
        Binding("2", "switch_mode('checklist')", "Checklist", show=False, id="view.checklist", tooltip="Checklists of the selected release or incident"),
        Binding("3", "switch_mode('incident')", "Incident", show=False, id="view.incident", tooltip="The active incident"),
        Binding("4", "switch_mode('decisions')", "Decisions", show=False, id="view.decisions", tooltip="Decision log"),
        Binding("5", "switch_mode('comms')", "Comms", show=False, id="view.comms", tooltip="Communication templates"),
        Binding("i", "start_incident", "Incident!", id="incident.start", tooltip="Start an incident: the clock runs at once"),
        Binding("t", "timeline_note", "Note", show=False, id="incident.note", tooltip="Add a timeline note to the active incident"),
        Binding("D", "record_decision", "Decision", show=False, id="decision.record", tooltip="Record a decision with the current context"),
        Binding("question_mark,f1", "help", "Help", id="app.help", tooltip="Every key of this screen"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit: every change is already saved"),
        # ctrl+q works from anywhere, modals and text fields included (q there is just a letter).
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit_anywhere",
                tooltip="Quit from anywhere, even while typing"),
    ]

    cursor_blink = True  # tests and screenshots freeze it
    revision: reactive[int] = reactive(0)
    selected_release_id: reactive[int | None] = reactive(None)
    active_incident_id: reactive[int | None] = reactive(None)
    checklist_owner: reactive[tuple[str, int] | None] = reactive(None)

    def __init__(self, workspace: Workspace, templates: dict[str, CommsTemplate], *, offer_demo: bool = True,
                 clipboard_command: list[str] | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.templates = templates
        self.offer_demo = offer_demo
        self.clipboard_command = clipboard_command
        self._seen_signature = workspace.store.signature()
        self.last_copy: CopyOutcome | None = None
        # Back where this person left off: screen, release, incident, checklist row.
        state = workspace.ui_state()
        self._had_state = bool(state)
        self.restored_row: str | None = state.get("row")
        self._restored_mode: str | None = state.get("mode") if state.get("mode") in self.MODES else None
        open_ids = [incident.id for incident in workspace.open_incidents()]
        self.active_incident_id = state.get("incident") if state.get("incident") in open_ids else (open_ids or [None])[0]
        release_ids = [release.id for release in workspace.releases()]
        self.selected_release_id = state.get("release") if state.get("release") in release_ids else (release_ids or [None])[0]
        owner = state.get("owner")
        if isinstance(owner, list) and len(owner) == 2:
            self.checklist_owner = (owner[0], owner[1])

    def on_mount(self) -> None:
        self.set_interval(1.0, self.poll_store)
        self.set_timer(0.5, self._check_everything)  # after the first paint, not before it
        if self._restored_mode and self._restored_mode != self.DEFAULT_MODE:
            self.switch_mode(self._restored_mode)
        # Offered on a first start only: someone who chose to start empty and quit is not asked again.
        if self.offer_demo and self.workspace.is_empty() and not self._had_state and not self.workspace.store.read_only:
            self.push_screen(ConfirmScreen(
                "Welcome to octotui. The database is empty.\n\nLoad demo data (a few releases in different stages, "
                "an incident, decisions) to look around, or start empty?", yes="Load demo data", no="Start empty"),
                self._demo_answer)

    def _demo_answer(self, load: bool | None) -> None:
        if load:
            self.action_load_demo()

    async def action_quit(self) -> None:
        """Every change is already saved; only where the person was is remembered here.

        The one thing not yet saved is text typed into an open form: quitting then asks first."""
        if getattr(self.screen, "has_unsaved_text", lambda: False)():
            def decide(quit_anyway: bool | None) -> None:
                if quit_anyway:
                    self.call_later(self._quit_now)
            self.push_screen(ConfirmScreen("Quit and throw away what you typed in this form?", yes="Quit",
                                           no="Keep editing"), decide)
            return
        await self._quit_now()

    async def _quit_now(self) -> None:
        row = None
        if self.current_mode == "checklist":
            row = self.screen_stack[0].query_one("#checklist").selected_key()
        state = {"mode": self.current_mode, "release": self.selected_release_id, "incident": self.active_incident_id,
                 "owner": list(self.checklist_owner) if self.checklist_owner else None, "row": row}
        with contextlib.suppress(StoreError):  # never block quitting on a convenience
            self.workspace.save_ui_state(state)
        self.exit()

    def notify(self, message, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Toasts carry user text (titles, paths): never parsed as markup, whoever asks."""
        super().notify(getattr(message, "plain", message), title=title, severity=severity, timeout=timeout,
                       markup=False)

    # -- data plumbing ----------------------------------------------------------------------
    @work(thread=True, group="validate", exit_on_error=False)
    def _check_everything(self) -> None:
        """Start-up checked only what the first screen needs; check the rest (decisions) now."""
        try:
            self.workspace.validate_all()
        except StoreError as error:
            self.call_from_thread(self.notify, f"{error} — the file is kept as it is; fix it or move it aside",
                                  title="Database problem", severity="error", timeout=30)
        # Everything loaded so far lives as long as the app: keep the cyclic GC from rescanning it,
        # which otherwise shows up as 50-100 ms pauses on keystrokes with a large database.
        self.call_from_thread(gc.freeze)

    def poll_store(self) -> None:
        """Another octotui on the same file: pick up its changes within a second."""
        signature = self.workspace.store.signature()
        if signature != self._seen_signature:
            self._seen_signature = signature
            if signature is None:
                self.notify(f"{self.workspace.store.path} has disappeared: showing what was last read; "
                            "changes cannot be saved until it is back", title="Database missing", severity="error",
                            timeout=30)
                return
            try:
                self.workspace.validate_all()
            except StoreError as error:
                self.notify(str(error), severity="error", timeout=10)
                return
            self.revision += 1

    def data_changed(self) -> None:
        self._seen_signature = self.workspace.store.signature()
        self.revision += 1

    def attempt(self, change: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a workspace change; show a refusal as a toast instead of a traceback."""
        try:
            result = change(*args, **kwargs)
        except InputError as error:
            self.notify("; ".join(error.errors.values()), severity="warning", timeout=6)
            return None
        except StoreError as error:
            self.notify(error.message, title="Not saved", severity="error", timeout=10)
            return None
        self.data_changed()
        return result

    def after_save(self, result: Any) -> None:
        """Callback for forms whose submit already saved."""
        if result is not None:
            self.data_changed()

    # -- command palette ----------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for title, help_text, mode, action in COMMANDS:
            yield SystemCommand(title, help_text, partial(self.run_command, mode, action))

    def run_command(self, mode: str | None, action: str) -> None:
        if mode is None:
            self.call_later(self.run_action, action)
            return

        async def on_screen() -> None:
            await self.switch_mode(mode)
            await self.screen.run_action(action)

        self.call_later(on_screen)

    # -- global actions -----------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_load_demo(self) -> None:
        self.attempt(load_demo, self.workspace)
        releases = self.workspace.releases()
        if releases and self.selected_release_id is None:
            self.selected_release_id = releases[0].id
        incidents = self.workspace.open_incidents()
        if incidents and self.active_incident_id is None:
            self.active_incident_id = incidents[0].id

    def action_start_incident(self, release_id: int | None = None) -> None:
        workspace = self.workspace

        def submit(values: dict[str, str]):
            started = None
            if values["started"].strip():
                try:
                    started = parse_when(values["started"], workspace.now())
                except ValueError as error:
                    raise InputError({"started": str(error)}) from None
            return workspace.start_incident(values["title"], values["severity"], started_at=started,
                                            release_id=release_id)

        def started(incident) -> None:
            if incident is None:
                return
            self.data_changed()
            self.active_incident_id = incident.id
            self.switch_mode("incident")

        title = "Start an incident" + (f" linked to REL-{release_id}" if release_id else "")
        fields = [
            FormField("title", "What is happening? (one line)", placeholder="e.g. Checkout returns 500 for some users"),
            FormField("severity", "Severity", value="P1", kind="select",
                      options=[(f"{s.value}", s.value) for s in Severity]),
            FormField("started", "Started (optional: '12 minutes ago', '14:05')", placeholder="now"),
        ]
        self.push_screen(IncidentStartForm(title, fields, submit,
                                           hint="Enter: start the clock · ↑/↓: severity · Esc: cancel"), started)

    def action_timeline_note(self) -> None:
        incident_id = self.active_incident_id
        if incident_id is None or self.workspace.incident(incident_id) is None:
            self.notify("No active incident: press i to start one", severity="warning")
            return
        workspace = self.workspace

        def submit(values: dict[str, str]):
            at = None
            if values["at"].strip():
                try:
                    at = parse_when(values["at"], workspace.now())
                except ValueError as error:
                    raise InputError({"at": str(error)}) from None
            return workspace.add_note(incident_id, values["note"], at=at)

        fields = [FormField("note", f"Timeline note for INC-{incident_id}", placeholder="what happened"),
                  FormField("at", "When (optional: '5 minutes ago', '14:05')", placeholder="now")]
        self.push_screen(FormScreen(f"Timeline note — INC-{incident_id}", fields, submit), self.after_save)

    def action_record_decision(self) -> None:
        """`D` from anywhere: prefilled with the selected release, active incident, checklist item."""
        context = getattr(self.screen, "decision_context", None)
        prefill = context() if callable(context) else {}
        if "links" not in prefill:
            links = [f"REL-{self.selected_release_id}"] if self.selected_release_id else []
            links += [f"INC-{self.active_incident_id}"] if self.active_incident_id else []
            prefill["links"] = ", ".join(links)
        self.open_decision_form(prefill)

    def open_decision_form(self, prefill: dict[str, Any]) -> None:
        item_ref: RunRef | None = prefill.pop("item_ref", None)
        item_index: int | None = prefill.pop("item_index", None)
        workspace = self.workspace

        def submit(values: dict[str, str]):
            return workspace.record_decision(item_ref=item_ref, item_index=item_index, **values)

        def saved(decision) -> None:
            self.after_save(decision)
            if decision is not None:
                self.notify(f"{decision.key} recorded: {decision.title}")

        self.push_screen(decision_form("Record a decision", prefill, submit, workspace.author), saved)

    def copy_text(self, text: str, label: str) -> None:
        """OSC 52 at once (always), then the system clipboard or a file in a worker thread."""
        text = visible(text)  # whatever was typed or pasted, no escape sequence rides along to a terminal
        mode = self.workspace.settings.clipboard
        osc52 = mode in ("auto", "osc52")
        if osc52:
            self.copy_to_clipboard(text)
        else:
            self._clipboard = text  # the app-level record of the last copy, as Textual keeps it
        fallback = self.workspace.store.path.with_name("octotui-clipboard.md")
        self._copy_in_background(text, mode, osc52, fallback, label)

    @work(thread=True, group="clipboard", exit_on_error=False)
    def _copy_in_background(self, text: str, mode: str, osc52: bool, fallback, label: str) -> None:
        outcome = copy_text(text, mode, fallback, send_osc52=lambda _text: osc52, command=self.clipboard_command)
        self.call_from_thread(self._copied, outcome, label)

    def _copied(self, outcome: CopyOutcome, label: str) -> None:
        self.last_copy = outcome  # what the toast said, kept for whoever asks (tests, the palette)
        self.notify(f"{label}: {outcome.message()}", timeout=6)


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
            yield Static(Text(str(self.error)))
            yield Static(Text("It has not been changed. You can move it aside (renamed with a timestamp, "
                              "kept for inspection) and start with an empty database, or quit and fix it by hand."))
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
        self.exit(True, message=f"Moved the unreadable database to {target}")

    def action_quit_app(self) -> None:
        self.exit(False)
