"""The serial command worker: every change and every re-read of the store runs here, off the loop.

One thread runs commands one at a time, in the order they were submitted, so a second key pressed
while a save waits is queued behind it, never lost or reordered. The event loop keeps going: keys,
screen switches and the clock do not wait for the disk or for another process's lock. A result is
delivered back on the loop only after the command's unit of work has committed (is on disk).

The thread is a daemon and nothing waits on it without a bound: a call stuck in the kernel (a hung network
filesystem) cannot keep the app from quitting or the process from exiting. Every store wait is bounded too
(the file lock's timeout, non-blocking opens), so this is the last line, not the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from octotui.domain.refs import ChangeNotice, RecordRef, RunRef
from octotui.services import actions
from octotui.storage.errors import StoreOutcomeUnknown

if TYPE_CHECKING:
    from octotui.services.workspace import Workspace

log = logging.getLogger("octotui.commands")

OnSuccess = Callable[[Any], None]
OnError = Callable[[BaseException], bool]  # True when handled; otherwise the app's one handler reports it


@dataclass
class _Outcome:
    result: Any
    error: BaseException | None
    changed: ChangeNotice


def _name(command: Callable[..., Any]) -> str:
    """A form's submit is named by the action that opened it: `OctoApp.action_timeline_note.submit`."""
    name = getattr(command, "__qualname__", None) or getattr(command, "__name__", None) or "command"
    return str(name).replace("<locals>.", "")


def _ids(args: tuple[Any, ...]) -> str:
    """The records a command was called on, as ids (never a text a person typed): ` on REL-3:gate, 2`."""
    ids = [arg.key if isinstance(arg, RecordRef) else f"{arg.owner_key}:{arg.role}" if isinstance(arg, RunRef)
           else str(arg) for arg in args if isinstance(arg, RecordRef | RunRef) or type(arg) is int]
    return f" on {', '.join(ids)}" if ids else ""


_R = TypeVar("_R")

SHUTDOWN_WAIT_SECONDS = 0.5  # for a command in flight to finish its commit, once the app is going


class _SerialWorker:
    """One daemon thread running submitted calls in order (a ThreadPoolExecutor's threads are joined at exit)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="octotui-commands", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., _R], *args: Any, **kwargs: Any) -> Future[_R]:
        future: Future[_R] = Future()
        self._queue.put((future, functools.partial(fn, *args, **kwargs)))
        return future

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            future, call = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = call()
            except BaseException as error:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(error)
            else:
                future.set_result(result)

    def shutdown(self, timeout: float) -> bool:
        """No more calls; wait up to `timeout` for the one in flight. True if the thread ended."""
        self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()


class CommandRunner:
    def __init__(self, workspace: Workspace, loop_call: Callable[[Callable[[], None]], None],
                 in_app: Callable[[Callable[[], None]], None],
                 report: Callable[[ChangeNotice, BaseException | None, OnError | None], None],
                 on_wait: Callable[[], None]) -> None:
        self.workspace = workspace
        self._executor = _SerialWorker()
        self._loop_call = loop_call  # schedule a callable on the event loop, from any thread
        self._in_app = in_app  # run a callable through the app's queue, in its context (toasts, screens)
        self._report = report
        self.pending = 0
        self.closed = False
        self.waiting_for_lock = False
        self._idle = asyncio.Event()
        self._idle.set()
        workspace.on_lock_wait = lambda: loop_call(on_wait)

    def submit(self, command: Callable[..., Any], *args: Any, on_success: OnSuccess | None = None,
               on_error: OnError | None = None, action_id: str | None = None, **kwargs: Any) -> None:
        """Every command carries an action id (a form's own, or a new one), written with its unit of work when
        it changes something: a retry is never applied twice, and an unknown outcome can be checked."""
        if self.closed:
            return  # the app is going away: a late timer's re-read or check has nobody to tell
        action_id = action_id or actions.new_action_id()
        self.pending += 1
        self._idle.clear()
        future = self._executor.submit(self._run, command, args, kwargs, action_id)
        future.add_done_callback(lambda done: self._loop_call(lambda: self._done(done, on_success, on_error)))

    def _run(self, command: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], action_id: str | None = None) -> _Outcome:
        self.workspace.action_id = action_id
        started = time.perf_counter()
        try:
            result, error = command(*args, **kwargs), None
        except Exception as caught:  # reported on the loop, by the caller or the app's one handler
            result, error = None, caught
            if isinstance(caught, StoreOutcomeUnknown):
                caught.action_id = action_id  # what the presenter checks once the store answers
        finally:
            self.workspace.action_id = None
        outcome = _Outcome(result, error, self.workspace.drain_changed())
        # Ids and names only: what a person typed stays out of the log at INFO.
        log.info("%s%s %s in %.1f ms%s", _name(command), _ids(args),
                 "ok" if error is None else f"refused ({type(error).__name__})",
                 (time.perf_counter() - started) * 1000,
                 f"; changed {outcome.changed}" if outcome.changed else "")
        return outcome

    def _done(self, future: Future[_Outcome], on_success: OnSuccess | None, on_error: OnError | None) -> None:
        self.pending -= 1
        if self.pending == 0:
            self.waiting_for_lock = False
            self._idle.set()
        outcome: _Outcome = future.result()

        def deliver() -> None:
            self._report(outcome.changed, outcome.error, on_error)
            if outcome.error is None and on_success is not None:
                on_success(outcome.result)
        # Bookkeeping above runs on the loop at once (a quit that waits for idle is never blocked by the
        # app's own queue); what the screens do with the result goes through that queue.
        self._in_app(deliver)

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every submitted command has finished (at most `timeout` seconds); True if any was pending."""
        was_busy = self.pending > 0
        if timeout is None:
            await self._idle.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout)
        return was_busy

    def shutdown(self) -> None:
        self.closed = True
        self._executor.shutdown(SHUTDOWN_WAIT_SECONDS)  # a command in flight finishes its commit, if it can
