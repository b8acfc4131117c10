"""Posting from the app: the confirmation (exact text, each destination masked and toggleable), and the
outbox runner that delivers in a thread worker, never on the event loop (services.outbox does the work)."""

from __future__ import annotations

import contextlib
import threading
import weakref
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Static

from octotui.domain.refs import OUTBOX_CHANGED, ChangeNotice
from octotui.domain.text import one_line
from octotui.ui.forms import Modal
from octotui.ui.handle import Octo
from octotui.ui.messages import DataChanged
from octotui.ui.widgets import literal

if TYPE_CHECKING:
    from octotui.comms.templates import CommsTemplate
    from octotui.domain.models import Incident, Release
    from octotui.services.outbox import Attempt, Message, Outbox

COPY = "copy"  # the status-update form's "Send" choice that copies (as without channels)


class PostConfirmScreen(Modal[list[str] | None]):
    """What leaves, exactly, and where to: Enter posts to the ticked destinations; Esc posts nothing."""

    DEFAULT_CSS = """
    PostConfirmScreen .dialog { width: 100; }
    PostConfirmScreen #post-text { height: auto; max-height: 16; border: round $primary; padding: 0 1; }
    PostConfirmScreen Checkbox, PostConfirmScreen Checkbox:focus { border: none; padding: 0 1; height: auto; }
    PostConfirmScreen Checkbox:focus > .toggle--label { text-style: reverse; }
    """
    BINDINGS = [
        Binding("enter", "post", "Post", priority=True, id="post.confirm", tooltip="Post to the ticked destinations"),
        Binding("escape", "cancel", "Cancel", id="post.cancel", tooltip="Post nothing"),
    ]

    def __init__(self, heading: str, text: str, destinations: list[tuple[str, str]], missing: list[str]) -> None:
        super().__init__()
        self.heading, self.text, self.destinations, self.missing = heading, text, destinations, missing

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(literal(self.heading, "bold"))
            yield Static(Text("Post to (Space toggles):", style="dim"))
            for number, (_name, shown) in enumerate(self.destinations):
                yield Checkbox(literal(shown), value=True, id=f"to-{number}")
            if self.missing:
                yield Static(Text(f"Missing: {', '.join(self.missing)} — Enter posts it anyway (recorded as posted "
                                  "with missing values); Esc goes back to fill them", style="bold red"),
                             id="post-missing")
            with VerticalScroll(id="post-text"):
                yield Static(literal(self.text))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Post (Enter)", variant="primary", id="post")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#to-0", Checkbox).focus()

    def chosen(self) -> list[str]:
        return [name for number, (name, _shown) in enumerate(self.destinations)
                if self.query_one(f"#to-{number}", Checkbox).value]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "post":
            self.action_post()
        else:
            self.dismiss(None)

    def action_post(self) -> None:
        chosen = self.chosen()
        if not chosen:
            self.octo.notify("Tick at least one destination (Space), or Esc to post nothing", severity="warning")
            return
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)


def confirm_and_post(app: Octo, template: CommsTemplate, owner: Release | Incident, channels: list[str], text: str,
                     missing: list[str], names_due: Any) -> None:
    """The confirmation (exact text, masked destinations, toggles); Enter writes the message to the outbox."""
    runner = outbox_runner(app)
    outbox = runner.outbox

    def confirmed(chosen: list[str] | None) -> None:
        if not chosen:
            return
        app.run_command_async(outbox.post, template, owner, text, chosen, missing=tuple(missing),
                              names_due=names_due, on_success=lambda message: runner.posted(message))

    destinations = [(name, outbox.channels.shown(name)) for name in channels]
    app.push_screen(PostConfirmScreen(f"Post “{template.title}” for {owner.key}", text, destinations, missing),
                    confirmed)


def post_choices(app: Octo, template: CommsTemplate) -> list[tuple[str, str]]:
    """The status-update form's "Send" choices: post to the route's channels (all, or some), or copy."""
    channels = app.workspace.settings.posting
    routed = channels.route(template.name)
    subsets: list[list[str]] = [routed] + ([[name] for name in routed] if len(routed) > 1 else [])
    return [(f"Post to {', '.join(names)}", ",".join(names)) for names in subsets if names] + [("Copy", COPY)]


def post_saved_update(app: Octo, template: CommsTemplate, saved: Incident, minutes: int, channels: list[str]) -> None:
    """After the status-update form saved the fields (not yet recorded as sent): the text as it will go out,
    naming the next update it sets, confirmed, then posted; recorded as the update once a destination accepts."""
    from datetime import timedelta

    from octotui.comms.templates import render

    now = app.workspace.now()
    names_due = now + timedelta(minutes=minutes) if saved.open else None
    as_sent = saved.model_copy(update={"last_update_at": now, "snoozed_until": None, "next_update_at": names_due})
    filled = render(template, as_sent, app.workspace)
    confirm_and_post(app, template, saved, channels, filled.text, list(filled.missing), names_due)


class OutboxRunner:
    """Delivers due messages in a thread worker every few ticks (and at once after a post); records each
    outcome through the command worker; tells the person what failed (masked)."""

    EVERY = 5  # ticks (seconds) between passes: retries are due every 30 s at the soonest

    def __init__(self, app: Octo) -> None:
        from octotui.services.outbox import Outbox

        self.app = app
        self.outbox: Outbox = Outbox(app.workspace)
        self.busy = False
        self.messages: list[Message] = []
        self.in_flight: set[int] = set()  # sent, outcome not yet recorded: not claimed again meanwhile
        self.passes = 0  # counted, for tests
        self._ticks = 0

    @property
    def active(self) -> bool:
        return bool(self.outbox.channels.channels) and not self.app.workspace.store.read_only

    def tick(self) -> None:
        self._ticks += 1
        if self._ticks % self.EVERY == 1:
            self.kick()

    def kick(self) -> None:
        if self.busy or not self.active:
            return
        self.busy = True
        # A daemon thread of its own, not the loop's executor: quitting while a server is slow does not wait
        # for it (its claim runs out, or its process is gone, and the next start delivers the message).
        threading.Thread(target=self._pass, name="octotui-outbox", daemon=True).start()

    def posted(self, message: Message) -> None:
        self.app.notify(f"{message.title}: in the outbox, posting to {', '.join(message.destinations)}")
        self.kick()

    def _pass(self) -> None:
        """In a thread: claim, send (may wait on a slow server), hand each outcome to the command worker."""
        messages: list[Message] | None = None
        try:
            for message in self.outbox.claim_due(skip=frozenset(self.in_flight)):
                self.in_flight.add(message.id)
                attempts = self.outbox.attempt(message)
                self._to_loop(self._record, message, attempts)
            messages = self.outbox.messages()
        except Exception as error:  # noqa: BLE001 - one report, as for any command; the next pass tries again
            self._to_loop(self.app.report_failure, error)
        finally:
            self._to_loop(self._done, messages)

    def _to_loop(self, callback: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the app has gone: its claim runs out, another start picks it up
            self.app.call_from_thread(callback, *args)

    def _done(self, messages: list[Message] | None) -> None:
        self.busy = False
        self.passes += 1
        if messages is not None and [m.to_doc() for m in messages] != [m.to_doc() for m in self.messages]:
            self.messages = messages
            self.app.broadcast(DataChanged(OUTBOX_CHANGED))

    def _record(self, message: Message, attempts: list[Attempt]) -> None:
        # If the outcome cannot be recorded (reported as any command's failure), this process does not send the
        # message again: it stays in flight here until its claim runs out and the next start (or another
        # octotui) takes it — one duplicate at most, never one every few seconds.
        self.app.run_command_async(self.outbox.record, message, attempts,
                                   on_success=lambda recorded: self._recorded(recorded, attempts))

    def _recorded(self, message: Message, attempts: list[Attempt]) -> None:
        self.in_flight.discard(message.id)
        for attempt in attempts:
            where = self.outbox.channels.shown(attempt.channel)
            if attempt.accepted:
                self.app.notify(one_line(f"{message.title} posted to {where}"), title="Posted")
                continue
            destination = message.destinations.get(attempt.channel)
            retry = (f"next try {self.outbox.next_try(destination)}"
                     if destination is not None and destination.next_at else "no more retries")
            self.app.notify(one_line(f"Not posted to {where}: {attempt.reason} — kept in the outbox ({retry})"),
                            title="Not posted", severity="error", timeout=12)
        self.messages = self.outbox.messages()
        self.app.broadcast(DataChanged(OUTBOX_CHANGED | ChangeNotice(records=frozenset(filter(None, [message.owner_ref])))))

    def act(self, command: Any, *args: Any, done: str) -> None:
        """Retry now / give up, through the command worker; then a pass."""
        def finished(count: int) -> None:
            self.app.notify(done if count else "Nothing to do: no destination is waiting")
            self.messages = self.outbox.messages()
            self.app.broadcast(DataChanged(OUTBOX_CHANGED))
            self.kick()
        self.app.run_command_async(command, *args, on_success=finished)


def outbox_options(app: Octo, pane: Any) -> None:
    """The outbox as options (newest first): a message's line, then one line per destination."""
    from textual.widgets.option_list import Option

    from octotui.services.outbox import DELIVERED, FAILED, GAVE_UP

    runner = outbox_runner(app)
    if not runner.messages and runner.passes == 0:
        runner.kick()  # the first pass reads the outbox in its thread
    highlighted = pane.highlighted_option.id if pane.highlighted_option else None
    pane.clear_options()
    styles = {DELIVERED: "green", FAILED: "red", GAVE_UP: "dim"}
    for message in runner.messages[:50]:
        label = Text(one_line(f"#{message.id} {message.owner} {message.title} — {message.author} "
                              f"{app.workspace.people_time(message.created_at, with_date=False)}"), style="bold")
        for destination, line in zip(message.destinations.values(), runner.outbox.describe(message), strict=True):
            label.append("\n  ")
            label.append(line, style=styles.get(destination.state, "yellow"))
        pane.add_option(Option(label, id=str(message.id)))
    if not runner.messages:
        pane.add_option(Option(Text("Empty: p posts the selected template", style="dim"), id="empty", disabled=True))
    ids = [str(m.id) for m in runner.messages[:50]]
    if ids:
        pane.highlighted = ids.index(highlighted) if highlighted in ids else 0


_RUNNERS: weakref.WeakKeyDictionary[Octo, OutboxRunner] = weakref.WeakKeyDictionary()


def outbox_runner(app: Octo) -> OutboxRunner:
    """The app's one outbox runner, made when first asked for (only where channels are configured)."""
    runner = _RUNNERS.get(app)
    if runner is None:
        runner = _RUNNERS[app] = OutboxRunner(app)
    return runner
