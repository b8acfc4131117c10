"""Issue 30 D1: the database replaced by a FIFO while the app runs. The next save opened the FIFO for the lock
without O_NONBLOCK and blocked forever holding the store's thread; `Esc`, `q`, `ctrl+q` did nothing and only
SIGKILL ended it. Now every open of the path is non-blocking (or checks the file type first), the save is refused
with a message, and quitting works."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import pytest
from test_e2e_tmux import OCTOTUI, Terminal, pytestmark  # noqa: F401  (the same skips: tmux, the installed script)

from octotui.storage.errors import StoreError
from octotui.storage.file_store import Store


def _swap_in_fifo(path) -> None:
    fifo = path.with_name("fifo.tmp")
    os.mkfifo(fifo)
    os.replace(fifo, path)


def _unblock(path) -> None:
    """A reader stuck opening the FIFO (the code before the fix) is let go, so the test process can end."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize("step", ["save", "refresh", "compact"])
def test_a_fifo_swapped_in_fails_the_store_call_instead_of_blocking(tmp_path, step):
    path = tmp_path / "db.json"
    store = Store(path)
    with store.unit_of_work() as uow:
        uow.put("releases", 1, {"version": "1.0.0"})
    _swap_in_fifo(path)
    outcome: list[BaseException | None] = []

    def call() -> None:
        try:
            if step == "save":
                with store.unit_of_work() as uow:
                    uow.put("releases", 2, {"version": "2.0.0"})
            elif step == "refresh":
                store.refresh()
            else:
                store.compact()
            outcome.append(None)
        except StoreError as error:
            outcome.append(error)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(timeout=10)  # a bound for a hang, not a timing: the call returns at once or never
    blocked = worker.is_alive()
    if blocked:
        _unblock(path)
    assert not blocked, f"{step} blocked on the FIFO"
    assert isinstance(outcome[0], StoreError) and "not a regular file" in str(outcome[0])


def test_quit_works_within_a_second_after_a_fifo_is_swapped_in_under_the_running_app(tmp_path, playbook):
    from octotui.services.demo import load_demo
    from octotui.services.workspace import Workspace

    terminal = Terminal(tmp_path)
    workspace = Workspace(Store(terminal.db), playbook, author="e2e")
    load_demo(workspace)
    workspace.save_ui_state({"mode": "board"})
    workspace.store.close()
    terminal.start("fifo")
    try:
        terminal.wait_for("Saved carts")
        _swap_in_fifo(terminal.db)
        terminal.keys("2", "space")  # a save, onto the FIFO
        terminal.wait_for("not a regular file")
        pid = terminal.pid()
        terminal.keys("q")
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        running = _alive(pid)
        if running:
            _unblock(terminal.db)
            os.kill(pid, signal.SIGKILL)
        assert not running, "q did not end the app within 1 s"
    finally:
        terminal.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie (ended, not yet reaped by tmux) has ended
        return handle.read().split(") ", 1)[1][0] != "Z"


async def test_quit_never_waits_on_a_store_call_that_does_not_return(workspace, make_app):
    """Whatever hangs in the command worker (a store call stuck in the kernel, as far as the app can tell), `q`
    ends the app: it waits a bounded time for saves in flight, then says one may not have been saved."""
    import asyncio

    stuck = threading.Event()
    app = make_app(workspace)
    async with app.run_test(size=(100, 30)):
        app.settle_commands = False
        app.run_command_async(stuck.wait)  # never returns until the test lets it
        try:
            await asyncio.wait_for(app.action_quit(), 10)  # a bound for a hang: returns after the 1 s wait
        except TimeoutError:
            app.exit()
            raise AssertionError("quit waited on the stuck command") from None
        finally:
            stuck.set()
    assert app.return_code == 1, "quit while a change was not known to be saved: said so"
