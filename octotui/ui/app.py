"""The App: modes for the six screens, global keys, the command palette, the command worker, one tick."""

from __future__ import annotations

import contextlib
import importlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events, work
from textual._wait import wait_for_idle
from textual.app import SystemCommand
from textual.filter import LineFilter
from textual.screen import Screen

from octotui.domain.config import styles_path
from octotui.domain.refs import EVERYTHING_CHANGED, ChangeNotice, RecordRef
from octotui.domain.text import visible
from octotui.services import heap
from octotui.storage.errors import StoreError
from octotui.ui import actions
from octotui.ui.commands import CommandRunner, OnError, OnSuccess
from octotui.ui.handle import Octo
from octotui.ui.help import HelpScreen
from octotui.ui.messages import CommandFailed, DataChanged, SaveStateChanged, StoreProblemChanged, Tick
from octotui.ui.widgets import VisibleControls

if TYPE_CHECKING:  # the models and the workspace are not imported before a quick start's first paint
    from octotui.comms.clipboard import CopyOutcome
    from octotui.comms.templates import CommsTemplate
    from octotui.domain.board import BoardRow
    from octotui.services.check import CheckReport, ChildCheck
    from octotui.services.startup import QuickStart
    from octotui.services.workspace import Workspace
    from octotui.storage.base import Repository

    FinishStart = Callable[[], tuple[Workspace, dict[str, CommsTemplate]]]


SCREEN_MODULES = {
    "board": ("board", "BoardScreen"),
    "checklist": ("checklist", "ChecklistScreen"),
    "incident": ("incident", "IncidentScreen"),
    "decisions": ("decisions", "DecisionLogScreen"),
    "comms": ("comms", "CommsScreen"),
    "reports": ("reports", "ReportsScreen"),
}

WARMED_SCREENS = ("reports",)  # imported in a thread after start-up (`_warm_screens`)


def _screen(module: str, name: str) -> Screen[None]:
    screen_class = getattr(importlib.import_module(f"octotui.ui.screens.{module}"), name)
    return cast(Screen[None], screen_class())


SAVING_SHOWN_AFTER = 0.15  # seconds a save may take before the status line says "saving…"


QUIT_WAIT_SECONDS = 1.0  # for saves in flight to be on disk when quitting


class OctoApp(Octo):
    TITLE = "octotui"
    SUB_TITLE = "1 board · 2 checklist · 3 incident · 4 decisions · 5 comms · 6 reports · ? help"
    CSS_PATH = str(styles_path("app.tcss"))
    # Each screen's module is imported when the screen is first shown: start-up pays only for the first one.
    MODES: ClassVar[dict[str, str | Callable[[], Screen[None]]]] = {
        mode: partial(_screen, module, name) for mode, (module, name) in SCREEN_MODULES.items()}
    DEFAULT_MODE = "board"
    BINDINGS = actions.bindings(None)  # the keys of every screen: from the one registry (ui/actions.py)


    def __init__(self, workspace: Workspace | None, templates: dict[str, CommsTemplate] | None, *,
                 offer_demo: bool = True, clipboard_command: list[str] | None = None,
                 quick: QuickStart | None = None, finish_start: FinishStart | None = None) -> None:
        """With a workspace, ready at once. A quick start (`OctoApp.quick`) paints the board from `quick`
        and builds the workspace with `finish_start` in a thread right after the first paint."""
        super().__init__()
        self.offer_demo = offer_demo
        self.clipboard_command = clipboard_command
        self.last_copy: CopyOutcome | None = None
        self._display_boundary = VisibleControls()
        self._quick = quick
        self._finish_start = finish_start
        self.start_error: BaseException | None = None  # a quick start whose workspace could not be built
        self._held_keys: list[tuple[str, str | None]] = []  # typed before the workspace was there
        self.quitting = False  # set once a quit has begun: later keys and clicks are dropped, not acted on
        self._child_check: ChildCheck | None = None  # the check after start-up, while a child process runs it
        self._check_done = False
        self._refreshing = False
        self._replay_queue: deque[tuple[str, str | None]] = deque()
        self._replaying = False
        self.show_saving = False  # "saving…" appears only when a save takes long enough to notice
        self.ticks = 0  # counted, for tests that prove the loop kept going
        self._input_since_tick = True  # a key or the mouse since the last tick: not idle
        self.bell_rung_for: dict[int, datetime] = {}  # incident → the overdue due time the bell rang for
        if workspace is not None:
            self._use_workspace(workspace, templates or {})
        # Back where this person left off: screen, release, incident, checklist row.
        state = workspace.ui_state() if workspace is not None else quick.ui_state if quick is not None else {}
        self._had_state = bool(state)
        self.restored_row: str | None = state.get("row")
        self.checklist_mine = False  # the checklist screen shows only items assigned to this author
        self._restored_mode: str | None = state.get("mode") if state.get("mode") in self.MODES else None
        open_ids = [incident.id for incident in workspace.open_incidents()] if workspace is not None else []
        self.active_incident_id = state.get("incident") if state.get("incident") in open_ids else next(iter(open_ids), None)
        release_ids = [row.id for row in self.board_rows()]
        self.selected_release_id = state.get("release") if state.get("release") in release_ids else next(iter(release_ids), None)
        owner = state.get("owner")
        if isinstance(owner, list) and len(owner) == 2:
            self.checklist_owner = (owner[0], owner[1])

    @classmethod
    def quick(cls, quick: QuickStart, finish_start: FinishStart) -> OctoApp:
        return cls(None, None, quick=quick, finish_start=finish_start)

    def _use_workspace(self, workspace: Workspace, templates: dict[str, CommsTemplate]) -> None:
        self.workspace = workspace
        self.templates = templates
        workspace.drain_changed()  # what was changed before this app existed is already in what it shows
        self.commands = CommandRunner(workspace, self._call_on_loop, self.call_next, self._command_finished,
                                      self._waiting_for_lock)

    @property
    def started(self) -> bool:
        """The workspace is there (at once, or after a quick start's first paint): commands can run."""
        return "workspace" in self.__dict__

    @property
    def store(self) -> Repository:
        return self.workspace.store if self.started else cast("QuickStart", self._quick).store

    def now(self) -> datetime:
        return self.workspace.now() if self.started else cast("QuickStart", self._quick).clock.now()

    def board_rows(self) -> list[BoardRow]:
        if self.started:
            return self.workspace.board_rows()
        return self._quick.rows if self._quick is not None else []

    @work(thread=True, group="start", exit_on_error=False)
    def _finish_starting(self) -> None:
        """The rest of a quick start, off the loop: pydantic, the guide, the workspace, the templates."""
        try:
            workspace, templates = cast("FinishStart", self._finish_start)()
        except Exception as error:  # noqa: BLE001 - whatever it is, run_app reports it once the app is gone
            self.call_from_thread(self._start_failed, error)
            return
        self.call_from_thread(self._started, workspace, templates)

    def _start_failed(self, error: BaseException) -> None:
        self.start_error = error
        self.exit(1)

    def _started(self, workspace: Workspace, templates: dict[str, CommsTemplate]) -> None:
        shown = self.board_rows()
        self._use_workspace(workspace, templates)
        self.workspace.store.subscribe(lambda: self._call_on_loop(self.poll_store))
        self._watch_presence()
        rows = self.board_rows()
        # The board repaints only what the models show differently (a rule in the settings, an item
        # that became overdue): most starts change nothing on the screen.
        if [row.id for row in rows] != [row.id for row in shown]:
            changed = EVERYTHING_CHANGED
        else:
            changed = ChangeNotice.of(*(RecordRef("release", row.id) for row, before in zip(rows, shown, strict=True)
                                        if row != before))
        if changed:
            self.broadcast(DataChanged(changed))
        self._quick = None
        self.set_timer(0.5, self._check_everything)
        held, self._held_keys = self._held_keys, []
        if held:
            self.replay_keys(held)

    async def on_event(self, event: events.Event) -> None:
        # Keys typed while a form opens, or after its Enter while its save is on its way, are held by the form
        # and replayed in order when it (or what follows it) is ready: never typed into a form about to close,
        # never dropped before a field has focus. Esc and ctrl+q still act at once. Once a quit has begun,
        # input is dropped: a key that opens a form would mount it into an app that is closing.
        if isinstance(event, events.Key | events.MouseEvent | events.Paste):
            self._input_since_tick = True
        if self.quitting and isinstance(event, events.Key | events.MouseDown | events.MouseUp | events.Click):
            return
        if not self.started and self.screen_stack:
            if isinstance(event, events.Key) and event.key != "ctrl+q":
                self._held_keys.append((event.key, event.character))  # replayed once the workspace is there
                return
            if isinstance(event, events.MouseDown | events.MouseUp | events.Click):
                return  # a click would act on a release before it is parsed: a moment later it works
        if isinstance(event, events.Key) and not event.is_forwarded and self.screen_stack:
            if self._replaying and not getattr(event, "replayed", False) and event.key != "ctrl+q":
                self._replay_queue.append((event.key, event.character))  # typed during a replay: after it
                return
            if self.refuse_if_read_only(event):
                return
            screen = self.screen
            holds_keys = getattr(screen, "holds_keys", None)  # a form (imported only once one opens)
            if holds_keys is not None and holds_keys() and event.key not in ("escape", "ctrl+q"):
                screen.hold(event.key, event.character)  # type: ignore[attr-defined]
                return
        await super().on_event(event)

    def replay_keys(self, keys: list[tuple[str, str | None]]) -> None:
        """Keys held by a form, sent again one at a time: each is fully handled (a binding may open a form)
        before the next, as if typed now."""
        self._replay_queue.extend(keys)
        if not self._replaying:
            self._replaying = True
            self.run_worker(self._replay_one_by_one(), group="replay", exit_on_error=False)

    async def _replay_one_by_one(self) -> None:
        try:
            while self._replay_queue:
                key, character = self._replay_queue.popleft()
                replayed = events.Key(key, character)
                replayed.replayed = True  # type: ignore[attr-defined]
                self.post_message(replayed)
                await wait_for_idle(0)
        finally:
            self._replaying = False

    def get_line_filters(self) -> Sequence[LineFilter]:
        return [*super().get_line_filters(), self._display_boundary]

    def _watch_presence(self) -> None:
        """Someone joined or left (PostgreSQL says so at once): the status line shows it now, not at the tick."""
        watch = getattr(self.workspace.store, "watch_presence", None)
        if watch is not None:
            watch(lambda: self._call_on_loop(self._repaint_status))

    def _repaint_status(self) -> None:
        from octotui.ui.widgets import StatusLine

        if self.screen_stack:
            for line in self.screen_stack[0].query(StatusLine):
                line.refresh_status()

    def _call_on_loop(self, callback: Callable[[], None]) -> None:
        """From the command thread: run `callback` on the event loop, without waiting for it."""
        with contextlib.suppress(RuntimeError):  # the loop has closed: the app is gone
            self._loop.call_soon_threadsafe(callback)  # type: ignore[union-attr]

    def on_mount(self) -> None:
        self.ticker = self.set_interval(1.0, self._tick)  # the one timer: clocks, countdowns, status line, file watch
        torn = self.store.torn_tail_note()
        if torn:
            self.notify(torn, title="Database", timeout=15)
        if not self.started:  # a quick start: the board is up; the rest loads once it is painted
            self.call_after_refresh(self._finish_starting)
            return
        # A backend that can push (PostgreSQL's NOTIFY) wakes us at once; a file is watched by the tick.
        self.workspace.store.subscribe(lambda: self._call_on_loop(self.poll_store))
        self._watch_presence()
        self.set_timer(0.5, self._check_everything)  # after the first paint, not before it
        if self._restored_mode and self._restored_mode != self.DEFAULT_MODE:
            self.switch_mode(self._restored_mode)
        # Offered on a first start only: someone who chose to start empty and quit is not asked again.
        if self.offer_demo and self.workspace.is_empty() and not self._had_state and not self.workspace.store.read_only:
            from octotui.ui.anywhere import offer_demo

            offer_demo(self)

    def on_unmount(self) -> None:
        self.store.subscribe(None)
        if self._child_check is not None:
            self._child_check.stop()
        if self.started:
            self.commands.shutdown()

    async def action_quit(self) -> None:
        """Every change is already saved; only where the person was is remembered here.

        The one thing not yet saved is text typed into an open form: quitting then asks first."""
        if getattr(self.screen, "has_unsaved_text", lambda: False)():
            from octotui.ui.forms import ConfirmScreen
            def decide(quit_anyway: bool | None) -> None:
                if quit_anyway:
                    self.call_later(self._quit_now)
            self.push_screen(ConfirmScreen("Quit and throw away what you typed in this form?", yes="Quit",
                                           no="Keep editing"), decide)
            return
        await self._quit_now()

    async def _quit_now(self) -> None:
        self.quitting = True
        if not self.started:  # nothing was done yet (keys are held until the workspace is there)
            self.exit()
            return
        row = None
        if self.current_mode == "checklist":
            row = self.screen_stack[0].query_one("#checklist").selected_key()  # type: ignore[attr-defined]
        state = {"mode": self.current_mode, "release": self.selected_release_id, "incident": self.active_incident_id,
                 "owner": list(self.checklist_owner) if self.checklist_owner else None, "row": row}
        # Queued behind any save still in flight: quitting waits for those to be on disk, for a bounded time
        # (a store that does not answer never keeps anyone in the app).
        self.commands.submit(self.workspace.save_ui_state, state, on_error=lambda _error: True)
        await self.commands.wait_idle(QUIT_WAIT_SECONDS)
        if self.commands.pending > 1:  # more than the screen position: a change not known to be saved
            self.exit(return_code=1, message=f"octotui: quit while {self.commands.pending - 1} change(s) were still "
                                             "waiting for the database: not known to be saved")
            return
        self.exit()

    def notify(self, message: Any, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Toasts carry user text (titles, paths): never parsed as markup, whoever asks."""
        super().notify(visible(str(getattr(message, "plain", message))), title=visible(title), severity=severity,
                       timeout=timeout, markup=False)

    # -- commands, data and the clock -------------------------------------------------------------
    def run_command_async(self, command: Callable[..., Any], *args: Any, on_success: OnSuccess | None = None,
                          on_error: OnError | None = None, **kwargs: Any) -> None:
        """Run a workspace command in the worker; the result (or the one error report) comes back later."""
        self.commands.submit(command, *args, on_success=on_success, on_error=on_error, **kwargs)
        self.set_timer(SAVING_SHOWN_AFTER, self._show_saving_if_pending)

    def _show_saving_if_pending(self) -> None:
        if self.commands.pending and not self.show_saving:
            self.show_saving = True
            self._save_state_changed()

    def _command_finished(self, changed: ChangeNotice, error: BaseException | None, on_error: OnError | None) -> None:
        if changed:
            self.broadcast(DataChanged(changed))
        if error is not None and not (on_error is not None and on_error(error)):
            self.post_message(CommandFailed(error))
        self._problem_changed()
        if self.show_saving and not self.commands.pending:
            self.show_saving = False
            self._save_state_changed()

    def on_command_failed(self, message: CommandFailed) -> None:
        self.report_failure(message.error)

    def report_failure(self, error: BaseException) -> None:
        """The one place a refused or failed command becomes a message for a person (ui.errors)."""
        from octotui.ui.errors import present

        present(self, error)

    def _waiting_for_lock(self) -> None:
        if not self.commands.waiting_for_lock:
            from octotui.logs import log

            log.info("waiting for the database lock held by another octotui")
        self.commands.waiting_for_lock = self.show_saving = True
        self._save_state_changed()

    def _save_state_changed(self) -> None:
        self.broadcast(SaveStateChanged())

    def _problem_changed(self) -> None:
        # Compared as words: each refused refresh raises a new error object saying the same thing.
        problem = tuple(None if part is None else str(part) for part in (self.workspace.problem, self.workspace.damaged))
        if problem != getattr(self, "_shown_problem", (None, None)):
            from octotui.logs import log

            if any(problem):
                log.warning("database problem: %s", "; ".join(str(p) for p in problem if p is not None))
            else:
                log.info("database problem cleared: recovered")
            self._shown_problem = problem
            self.broadcast(StoreProblemChanged())

    def broadcast(self, message: DataChanged | SaveStateChanged | StoreProblemChanged | Tick) -> None:
        """To the screen of the current mode (a background screen reloads when shown again)."""
        if self.screen_stack:
            self.screen_stack[0].post_message(message)

    def _tick(self) -> None:
        self.ticks += 1
        if self._input_since_tick or self.commands.pending:
            self._input_since_tick = False
        else:  # a whole second without input: the collector's full pass now, not in a keystroke's time
            heap.collect_while_idle()
        self.poll_store()
        self.ring_if_overdue()
        if self.started and self.workspace.settings.channels:  # posting is set up: the outbox worker's turn
            from octotui.ui.posting import outbox_runner  # only where channels are configured

            outbox_runner(self).tick()
        self.broadcast(Tick())

    def ring_if_overdue(self) -> None:
        """The bell rings wherever you are, once per overdue update (`bell = false` in the settings: never)."""
        if not self.started or not self.workspace.settings.bell:
            return
        now, rung = self.now(), False
        for incident in self.workspace.open_incidents():
            due = self.workspace.next_update_due(incident)
            if due is not None and due <= now and self.bell_rung_for.get(incident.id) != due:
                self.bell_rung_for[incident.id], rung = due, True
        if rung:
            self.bell()

    def poll_store(self) -> None:
        """Another process wrote? A stat here; reading what it wrote happens in the worker."""
        if self.started and not self._refreshing and (self.workspace.problem is not None or self.workspace.store.changed_outside()):
            self._refreshing = True
            self.commands.submit(self.workspace.refresh, on_success=self._refreshed, on_error=self._refresh_failed)

    def _refreshed(self, keys: set[str]) -> None:
        self._refreshing = False
        if keys and self.workspace.damaged is not None and self._check_done:
            self._check_everything()  # the file changed: the damaged record may be repaired
        for notice in self.workspace.store.take_notices():  # e.g. whether a save in doubt landed
            self.notify(notice, title="Database", severity="warning", timeout=20)

    def _refresh_failed(self, _error: BaseException) -> bool:
        self._refreshing = False
        return True  # shown as the banner (workspace.problem), not as a toast every second

    def _check_everything(self) -> None:
        """Start-up read only what the first screen needs; check every record now: in a child process when
        the data is a large file (`_wait_for_check`), else here. What it found is applied in the one worker that
        touches the view (never beside a command)."""
        self._check_done = False
        self._child_check = self.workspace.check_apart()
        if self._child_check is None:
            self._apply_check(None)
        else:
            self._wait_for_check(self._child_check)

    @work(thread=True, group="check", exit_on_error=False)
    def _wait_for_check(self, check: ChildCheck) -> None:
        report = check.run()  # waits on the child (the loop and the commands run meanwhile)
        if report is not None or not check.stopped:
            self.call_from_thread(self._apply_check, report)

    def _apply_check(self, report: CheckReport | None) -> None:
        def checked(_result: object) -> None:
            self._check_done = True
            self._problem_changed()  # a damaged record found before may be repaired now
            self._warm_screens()
            if not self.store.read_only:  # rows for the next quick start, where they are missing or stale
                self.commands.submit(self.workspace.store_board_rows, on_error=lambda _error: True)

        def refused(error: BaseException) -> bool:
            self._check_done = True
            if isinstance(error, StoreError) and error is not self.workspace.damaged:
                self.workspace.problem = error  # the file itself, not one record: as a refresh would say
            self._problem_changed()
            self._warm_screens()
            return isinstance(error, StoreError)

        if report is None:
            self.commands.submit(self.workspace.validate_all, on_success=checked, on_error=refused)
        else:
            self.commands.submit(self.workspace.take_check, report, on_success=checked, on_error=refused)

    @work(thread=True, group="warm", exit_on_error=False)
    def _warm_screens(self) -> None:
        """Import the screens whose first opening imports a library for long (Reports: plotext) once start-up is
        over, in a thread: their key holds the loop for no import. Before the heap is settled: frozen with the rest."""
        try:
            for mode in WARMED_SCREENS:
                importlib.import_module(f"octotui.ui.screens.{SCREEN_MODULES[mode][0]}")
        finally:
            self.call_from_thread(self._settle_heap)

    def _settle_heap(self) -> None:
        heap.settle()  # what start-up loaded lives as long as the app (see services/heap.py)

    # -- command palette ----------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        here = getattr(self.screen_stack[0], "MODE", None) if self.screen_stack else None
        for action in actions.palette(here, read_only=self.read_only):
            yield SystemCommand(action.words, action.description, partial(self.run_command, action.screen, action.action))

    def run_command(self, mode: str | None, action: str) -> None:
        if mode is None:
            self.call_later(self.run_action, action)
            return

        async def on_screen() -> None:
            await self.switch_mode(mode)
            await self.screen.run_action(action)

        self.call_later(on_screen)

    # -- read-only ----------------------------------------------------------------------------
    @property
    def read_only(self) -> bool:
        """The one source: the store says so (opened with --read-only, a file this user cannot write, a
        PostgreSQL role with only SELECT). Writing actions are hidden and their keys refused."""
        return self.store.read_only

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and actions.is_write(None, action))

    def refuse_if_read_only(self, event: events.Key) -> bool:
        """A key of a writing action in read-only mode: say so, change nothing."""
        if not self.read_only:
            return False
        for _namespace, bindings in self.screen._modal_binding_chain:  # focused widget first, as Textual looks
            for binding in bindings.key_to_bindings.get(event.key, ()):
                if not actions.writes(binding.id):
                    return False  # the key does what it would do anyway
                self.notify(f"read-only: {actions.BY_ID[str(binding.id)].words} is not available "
                            f"({self.store.read_only_reason})", severity="warning", timeout=4)
                event.stop()
                return True
        return False

    # -- global actions -----------------------------------------------------------------------
    def action_release_report(self) -> None:
        from octotui.ui.flows import copy_release_report

        copy_release_report(self)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_load_demo(self) -> None:
        from octotui.ui.anywhere import load_demo

        load_demo(self)

    def action_start_incident(self, release_id: int | None = None, for_run: str | None = None) -> None:
        from octotui.ui.anywhere import start_incident_form

        start_incident_form(self, release_id, for_run)

    def action_timeline_note(self) -> None:
        from octotui.ui.anywhere import timeline_note_form

        timeline_note_form(self)

    def action_record_decision(self) -> None:
        """`D` from anywhere: links prefilled from the screen's own context (its selected release, its incident,
        the checklist item and the incident its run serves) — never an incident the screen is not about."""
        context = getattr(self.screen, "decision_context", None)
        prefill = context() if callable(context) else {}
        prefill.setdefault("links", "")
        self.open_decision_form(prefill)

    def open_decision_form(self, prefill: dict[str, Any]) -> None:
        from octotui.ui.anywhere import decision_form_for

        decision_form_for(self, prefill)

    def copy_text(self, text: str, label: str, on_done: Callable[[CopyOutcome], None] | None = None) -> None:
        """The copy chain in a worker thread (OSC 52 where it can arrive, the system clipboard, else a file);
        `on_done` hears the outcome, else a toast says where the text went."""
        text = visible(text)  # whatever was typed or pasted, no escape sequence rides along to a terminal
        self._clipboard = text  # the app-level record of the last copy, as Textual keeps it
        # Read-only writes nothing, not even the clipboard file beside the database.
        fallback = None if self.read_only else self.workspace.store.path.with_name("octotui-clipboard.md")
        self._copy_in_background(text, self.workspace.settings.clipboard, fallback, label, on_done)

    @work(thread=True, group="clipboard", exit_on_error=False)
    def _copy_in_background(self, text: str, mode: str, fallback: Path | None, label: str,
                            on_done: Callable[[CopyOutcome], None] | None) -> None:
        from octotui.comms.clipboard import CopyOutcome, copy_text

        def emit(escaped: str) -> bool:
            self.call_from_thread(self.copy_to_clipboard, escaped)
            return True

        try:
            outcome = copy_text(text, mode, fallback, send_osc52=emit, command=self.clipboard_command)
        except Exception as error:  # noqa: BLE001 — whatever failed, the person hears it and nothing is recorded
            outcome = CopyOutcome(native=False, osc52=False, file=None, detail=f"{type(error).__name__}: {error}")
        self.call_from_thread(self._copied, outcome, label, on_done)

    def _copied(self, outcome: CopyOutcome, label: str, on_done: Callable[[CopyOutcome], None] | None) -> None:
        self.last_copy = outcome  # what the copy reached, kept for whoever asks (tests, the palette)
        if on_done is not None:
            on_done(outcome)
        else:
            self.notify(f"{label}: {outcome.message()}", severity="information" if outcome.reached else "error",
                        timeout=6 if outcome.reached else 10)
