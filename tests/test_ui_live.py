"""The running app and the shared file: never frozen by another process's lock, never killed by a bad file."""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from octotui.domain.models import ItemState
from octotui.services.workspace import RunRef, Workspace
from octotui.storage.file_store import Store, read_tables
from octotui.ui.forms import FormScreen

SCREENS = Path(__file__).resolve().parent.parent / "octotui" / "ui" / "screens"

_HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)  # what another octotui's save holds: the database file is its own lock
print("locked", flush=True)
sys.stdin.readline()  # hold it until told
os.close(fd)
"""


class _LockHolder:
    """Another process holding the database's lock until `release()` (what a second octotui saving holds)."""

    def __init__(self, path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(path)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def __enter__(self) -> _LockHolder:
        return self

    def __exit__(self, *_exc) -> None:
        self.process.kill()
        self.process.wait()


async def _until(pilot, condition, attempts: int = 400) -> None:
    """Let the app run until `condition()` holds (bounded by a count of short pauses, not a time budget)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.02)
        await pilot.pause()
    raise AssertionError("the app never got there")


async def test_the_ui_keeps_working_while_a_save_waits_for_another_process(workspace, make_app):
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    with _LockHolder(workspace.store.path) as holder:
        async with app.run_test(size=(120, 36)) as pilot:
            app.settle_commands = False  # this test looks at the app while the save is still waiting
            app.selected_release_id = release.id
            app.checklist_owner = ("release", release.id)
            await pilot.press("2", "space", "space")  # check, then uncheck: two saves queued in order
            await _until(pilot, lambda: app.commands.waiting_for_lock)
            status = str(app.screen.query_one("#status-text").render())
            assert "waiting for the file lock held by another octotui" in status
            ticks = app.ticks
            await pilot.press("j", "j")  # keys keep working
            assert app.screen.query_one("#checklist").selected_key() == "REL-1:gate:2"
            await pilot.press("3")  # and screen switches
            assert app.current_mode == "incident"
            await _until(pilot, lambda: app.ticks >= ticks + 1)  # and the clock ticks
            assert app.commands.pending >= 2, "nothing is acknowledged before it is on disk"
            assert read_tables(workspace.store.path).get("events", {}) == {}
            holder.release()
            await _until(pilot, lambda: app.commands.pending == 0)
            history = workspace.run(RunRef("release", 1, "gate")).history
            assert [event.action for event in history] == ["done", "todo"], "queued in order, none lost"
            assert workspace.run(RunRef("release", 1, "gate")).items[0].state is ItemState.TODO


async def test_a_broken_file_never_stops_the_app_and_it_recovers_when_restored(demo_workspace, make_app):
    path = demo_workspace.store.path
    good = path.read_bytes()
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.selected_release_id = 6
        app.checklist_owner = ("release", 6)
        await pilot.press("2")
        row_before = app.screen.query_one("#checklist").get_row_at(2)

        def banner() -> str:
            return str(app.screen_stack[0].query_one("#status-text").render())

        async def read_again(until) -> None:
            # The app's own tick may be reading the file as the test rewrites it: poll until it has read the new
            # bytes (a bounded count of polls, not a time budget).
            for _ in range(50):
                app.poll_store()
                await pilot.pause()
                if until():
                    return

        path.write_bytes(good[: len(good) // 3])  # a restore or copy caught half-way, in place
        await read_again(lambda: "shorter than what was already saved" in banner())
        assert "DATABASE PROBLEM" in banner() and "shorter than what was already saved" in banner()
        assert app.screen.query_one("#checklist").get_row_at(2) == row_before, "last good state stays on screen"
        replacement = path.with_name("copy-in-progress")
        replacement.write_bytes(good[:5000])  # a sync tool renaming a half-copied file into place
        replacement.replace(path)
        await read_again(lambda: "not valid JSON" in banner())
        assert "not valid JSON" in banner()
        assert app.screen.query_one("#checklist").get_row_at(2) == row_before
        await pilot.press("j", "space")  # a save is refused, the file is never overwritten
        assert path.read_bytes() == good[:5000]
        assert any("Not saved" in n.title for n in app._notifications)

        broken = good.replace(b'"title":"Loyalty points"', b'"title":3')  # in the snapshot and the journal
        assert broken != good
        path.write_bytes(broken)  # valid JSON, a record that fails validation
        await read_again(lambda: "not valid JSON" not in banner())
        # Changed inside a journal record or the snapshot, both checksummed: damage, named as such.
        assert "DATABASE PROBLEM" in banner()
        assert "checksum" in banner()
        assert path.read_bytes() == broken

        path.write_bytes(good)  # restored
        await read_again(lambda: "DATABASE PROBLEM" not in banner())
        assert "DATABASE PROBLEM" not in banner()
        await pilot.press("space")
        assert path.read_bytes() != good, "saving works again"
        assert app.is_running


async def test_another_process_check_shows_on_the_open_checklist_by_the_apps_own_tick(workspace, make_app):
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.selected_release_id, app.checklist_owner = release.id, ("release", release.id)
        await pilot.press("2")
        other = Workspace(Store(workspace.store.path), workspace.playbook, author="ben")
        other.change_item(RunRef("release", release.id, "gate"), 3, "toggle")
        table = app.screen.query_one("#checklist")
        await _until(pilot, lambda: str(table.get_row_at(4)[0]) == "[x]")  # no poll by hand: the app's tick
        assert "ben" in str(table.get_row_at(4)[2])


async def test_a_change_from_another_process_arrives_as_a_data_change(workspace, make_app):
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("1")
        other = Workspace(Store(workspace.store.path), workspace.playbook, author="other")
        other.update_release(release.id, version="1.0.0", title="renamed elsewhere")
        app.poll_store()
        await pilot.pause()
        assert "renamed elsewhere" in str(app.screen.query_one("#board").get_row_at(0)[3])


def test_no_screen_module_imports_another_screen_module():
    modules = {path.stem for path in SCREENS.glob("*.py") if path.stem != "__init__"}
    assert {"board", "checklist", "incident", "decisions", "comms"} <= modules
    offenders = []
    for path in SCREENS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any(name.startswith("octotui.ui.screens.") and name.split(".")[3] in modules for name in names):
                offenders.append(f"{path.name}: {names[0]}")
    assert offenders == []


def test_the_import_check_can_fail(tmp_path):
    """The check above reads real imports: a screen that imported another would be caught."""
    sample = "from octotui.ui.screens.board import BoardScreen\n"
    tree = ast.parse(sample)
    found = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert found == ["octotui.ui.screens.board"]


async def test_one_change_rewrites_one_board_row_not_the_board(workspace, make_app, monkeypatch):
    for number in range(30):
        workspace.create_release(version=f"1.{number}.0", title=f"release {number}")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("1")
        table = app.screen.query_one("#board")
        calls = {"clear": 0, "rows": set()}
        original_clear, original_update = type(table).clear, type(table).update_row
        rendered: list[str] = []
        original_render = type(table)._render_cell

        def clear(self, *args, **kwargs):
            calls["clear"] += 1
            return original_clear(self, *args, **kwargs)

        def update_row(self, row_key, cells):
            calls["rows"].add(row_key)
            return original_update(self, row_key, cells)

        def render_cell(self, row_index, *args, **kwargs):
            rendered.append(row_index)
            return original_render(self, row_index, *args, **kwargs)

        monkeypatch.setattr(type(table), "clear", clear)
        monkeypatch.setattr(type(table), "update_row", update_row)
        monkeypatch.setattr(type(table), "_render_cell", render_cell)
        other = Workspace(Store(workspace.store.path), workspace.playbook, author="other")
        other.update_release(7, version="1.6.0", title="renamed elsewhere")
        app.poll_store()
        await pilot.pause()
        assert calls == {"clear": 0, "rows": {"7"}}
        assert "renamed elsewhere" in str(table.get_row("7")[3])
        assert set(rendered) == {table.get_row_index("7")}, "only that row was rendered again"


async def test_a_timer_firing_after_the_app_closed_is_harmless(workspace, make_app):
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)):
        pass
    assert app.commands.closed
    app.poll_store()  # what a late tick does
    app._check_everything()  # what the start-up timer does
    assert app.commands.pending == 0


async def test_escape_while_a_save_waits_says_it_cannot_be_cancelled(workspace, make_app):
    app = make_app(workspace)
    with _LockHolder(workspace.store.path) as holder:
        async with app.run_test(size=(120, 36)) as pilot:
            app.settle_commands = False
            await pilot.press("i", *"Checkout down", "enter")
            await _until(pilot, lambda: app.commands.waiting_for_lock)
            form = app.screen
            await pilot.press("escape")
            assert app.screen is form, "the form stays while its save is on its way"
            assert "cannot be cancelled" in str(form.query_one("#e-_form").render())
            holder.release()
            await _until(pilot, lambda: app.commands.pending == 0 and app.screen is not form)
            assert [incident.title for incident in workspace.incidents()] == ["Checkout down"]
            assert app.current_mode == "incident"


@pytest.mark.parametrize("mode", ["1", "2", "3", "4", "5"])
async def test_on_every_screen_a_broken_file_shows_the_banner_and_the_app_keeps_running(demo_workspace, make_app, mode):
    path = demo_workspace.store.path
    good = path.read_bytes()
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.selected_release_id, app.checklist_owner = 2, ("release", 2)
        await pilot.press(mode)
        synced = path.with_name("synced-copy")
        tables = read_tables(path)
        tables["releases"]["2"]["title"] = []  # a record that fails validation, in an intact file
        synced.write_text(json.dumps(tables))
        synced.replace(path)  # as a sync tool or a restore puts it in place
        for _ in range(2):  # the app's own ticks, not a poll by hand
            app._tick()
            await pilot.pause()
        status = str(app.screen_stack[0].query_one("#status-text").render())
        assert "DATABASE PROBLEM" in status and "document" in status
        assert app.is_running
        restored = path.with_name("restored-copy")  # put back the way it was broken: a new file in its place
        restored.write_bytes(good)  # (written in place, a good file shorter than the broken one reads as cut)
        restored.replace(path)
        app._tick()
        await pilot.pause()
        assert "DATABASE PROBLEM" not in str(app.screen_stack[0].query_one("#status-text").render())


async def test_keys_typed_while_a_form_saves_are_replayed_in_order_not_lost(workspace, make_app):
    """The on-call walk types `t`, a note, Enter, `t`, a second note, Enter without waiting: both notes land."""
    workspace.start_incident("Checkout down")
    app = make_app(workspace)
    with _LockHolder(workspace.store.path) as holder:
        async with app.run_test(size=(120, 36)) as pilot:
            app.settle_commands = False
            await pilot.press("t", *"Paged payments", "enter")
            await _until(pilot, lambda: app.commands.waiting_for_lock)
            await pilot.press("t", *"Error rate 3%", "enter")  # typed while the first note waits
            holder.release()
            await _until(pilot, lambda: app.commands.pending == 0 and
                         len([e for e in workspace.incident(1).timeline if e.kind == "note"]) == 2)
            assert [e.text for e in workspace.incident(1).timeline if e.kind == "note"] == ["Paged payments", "Error rate 3%"]
            assert not isinstance(app.screen, FormScreen)
