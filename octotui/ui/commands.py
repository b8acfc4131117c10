"""The serial command worker: every change and every re-read of the store runs here, off the loop.

One thread runs commands one at a time, in the order they were submitted, so a second key pressed
while a save waits is queued behind it, never lost or reordered. The event loop keeps going: keys,
screen switches and the clock do not wait for the disk or for another process's lock. A result is
delivered back on the loop only after the command's unit of work has committed (is on disk).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from octotui.services.workspace import Workspace

OnSuccess = Callable[[Any], None]
OnError = Callable[[BaseException], bool]  # True when handled; otherwise the app's one handler reports it


@dataclass
class _Outcome:
    result: Any
    error: BaseException | None
    changed: set[str]


class CommandRunner:
    def __init__(self, workspace: Workspace, loop_call: Callable[[Callable[[], None]], None],
                 in_app: Callable[[Callable[[], None]], None],
                 report: Callable[[set[str], BaseException | None, OnError | None], None],
                 on_wait: Callable[[], None]) -> None:
        self.workspace = workspace
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="octotui-commands")
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
        """`action_id` (a form's) goes with the command's unit of work: a retry is never applied twice."""
        if self.closed:
            return  # the app is going away: a late timer's re-read or check has nobody to tell
        self.pending += 1
        self._idle.clear()
        future = self._executor.submit(self._run, command, args, kwargs, action_id)
        future.add_done_callback(lambda done: self._loop_call(lambda: self._done(done, on_success, on_error)))

    def _run(self, command: Callable[..., Any], args: tuple, kwargs: dict, action_id: str | None = None) -> _Outcome:
        self.workspace.action_id = action_id
        try:
            result, error = command(*args, **kwargs), None
        except Exception as caught:  # reported on the loop, by the caller or the app's one handler
            result, error = None, caught
        finally:
            self.workspace.action_id = None
        return _Outcome(result, error, self.workspace.drain_changed())

    def _done(self, future: Future, on_success: OnSuccess | None, on_error: OnError | None) -> None:
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

    async def wait_idle(self) -> bool:
        """Wait until every submitted command has finished; True if any was pending."""
        was_busy = self.pending > 0
        await self._idle.wait()
        return was_busy

    def shutdown(self) -> None:
        self.closed = True
        self._executor.shutdown(wait=True, cancel_futures=False)  # a command in flight finishes its commit
