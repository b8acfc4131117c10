"""Read-only mode: every writing action of the registry is hidden and refused; the database is never written."""

from __future__ import annotations

import hashlib

import pytest

from octotui.cli import main
from octotui.cli_common import READ_ONLY_REASON, open_read_only
from octotui.domain.settings import Settings, SignOffRules
from octotui.services.workspace import Workspace
from octotui.storage.file_store import Store
from octotui.ui import actions
from octotui.ui.help import HelpScreen

WRITES_WITH_KEYS = [action for action in actions.ACTIONS if action.writes and action.keys]


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def demo_file(demo_workspace):
    path = demo_workspace.store.path
    demo_workspace.store.close()
    return path


@pytest.fixture
def read_only_app(demo_file, playbook, clock, make_app):
    def factory():
        store = open_read_only(str(demo_file))
        workspace = Workspace(store, playbook, clock=clock, author="tester", settings=Settings(signoff=SignOffRules(major=0)))
        return make_app(workspace)

    return factory


def notes(app) -> list[str]:
    return [str(note.message) for note in app._notifications]


@pytest.mark.parametrize("action", WRITES_WITH_KEYS, ids=[action.id for action in WRITES_WITH_KEYS])
async def test_every_write_key_says_read_only_and_changes_nothing(read_only_app, demo_file, action):
    before = digest(demo_file)
    app = read_only_app()
    async with app.run_test(size=(140, 50)) as pilot:
        await app.switch_mode(action.screen or "board")
        await pilot.pause()
        base = app.screen
        for key in action.keys.split(","):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is base, f"{key} opened something ({type(app.screen).__name__})"
            assert any("read-only" in note for note in notes(app)), notes(app)
        assert app.read_only
    assert digest(demo_file) == before


@pytest.mark.parametrize("action", [a for a in actions.ACTIONS if a.writes], ids=[a.id for a in actions.ACTIONS if a.writes])
async def test_every_write_is_refused_when_run_by_name_too(read_only_app, demo_file, action):
    """By name (as the palette or a keymap would run it), not only by key: the action does not run."""
    before = digest(demo_file)
    app = read_only_app()
    async with app.run_test(size=(140, 50)) as pilot:
        await app.switch_mode(action.screen or "board")
        await pilot.pause()
        base = app.screen
        assert await app.run_action(action.action, app.screen) is False
        await pilot.pause()
        assert app.screen is base
    assert digest(demo_file) == before


async def test_writes_are_not_in_the_footer_help_or_palette(read_only_app):
    app = read_only_app()
    async with app.run_test(size=(140, 50)) as pilot:
        for mode in actions.MODES:
            await app.switch_mode(mode)
            await pilot.pause()
            shown = [active.binding.id for active in app.screen.active_bindings.values()]
            assert [ident for ident in shown if actions.writes(ident)] == [], mode
            palette = {command.title for command in app.get_system_commands(app.screen)}
            written = {action.words for action in actions.ACTIONS if action.writes}
            assert palette & written == set(), mode
            assert "view: release board" in palette and "comms: copy" in palette
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)
            assert {words for _keys, words, _what in app.screen.rows()} & written == set(), mode
            await pilot.press("escape")


async def test_the_badge_shows_the_mode_and_copy_still_works(read_only_app, demo_file):
    before = digest(demo_file)
    app = read_only_app()
    async with app.run_test(size=(140, 50)) as pilot:
        status = str(app.screen.query_one("#status-text").render())
        assert "READ-ONLY" in status and READ_ONLY_REASON in status
        await pilot.press("3", "5")
        await pilot.pause()
        # The incident's initial notification: copied, not recorded as sent (nothing is written).
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.last_copy is not None, notes(app)
        assert not any("Not saved" in note for note in notes(app))
    assert digest(demo_file) == before
    assert sorted(p.name for p in demo_file.parent.iterdir()) == [demo_file.name], "no clipboard file beside it"


async def test_a_run_over_the_demo_reads_everything_and_leaves_the_file_byte_for_byte(read_only_app, demo_file):
    before = digest(demo_file)
    stat_before = demo_file.stat()
    app = read_only_app()
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.pause(0.8)  # the check of every record after start-up (it would store board rows)
        for mode in ("1", "2", "3", "4", "5"):
            await pilot.press(mode, "j", "j", "enter", "escape", "right_square_bracket", "left_square_bracket", "f1", "escape")
            # every key the registry knows, writing or not
            for action in actions.ACTIONS:
                if action.keys and action.screen in (None, app.current_mode) and action.id not in (
                        "app.quit", "app.quit_anywhere", "app.help") and not action.id.startswith("view."):
                    await pilot.press(action.keys.split(",")[0])
                    await pilot.pause()
                    while app.screen is not app.screen_stack[0]:
                        await pilot.press("escape")
        await pilot.press("q")
    assert digest(demo_file) == before
    assert demo_file.stat().st_mtime_ns == stat_before.st_mtime_ns
    assert sorted(p.name for p in demo_file.parent.iterdir()) == [demo_file.name], "no lock, temp or backup file"


def test_an_older_file_is_refused_with_the_command_that_upgrades_it(tmp_path, capsys, playbook, clock):
    import json

    from octotui.storage.file_store import SCHEMA_VERSION, read_tables

    source = Workspace(Store(tmp_path / "new.json"), playbook, clock=clock, author="tester")
    source.create_release(version="1.0.0", title="a")
    source.start_incident("x", release_id=1)
    tables = read_tables(source.store.path)
    legacy = {**tables["incidents"]["1"], "release_id": 1}
    del legacy["release_ids"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps({**tables, "meta": {"1": {"schema": 2}}, "incidents": {"1": legacy}}))
    before = digest(path)
    assert main(["--read-only", "--db", str(path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and f"octotui db upgrade --db '{path}'" in error, error
    assert digest(path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["new.json", "old.json"]
    # The command it names does it (a backup kept first), and then the read-only start opens it.
    assert main(["db", "upgrade", "--db", str(path)]) == 0
    assert f"schema 2 → {SCHEMA_VERSION}" in capsys.readouterr().err
    assert read_tables(path)["incidents"]["1"]["release_ids"] == [1]
    assert any(p.name.startswith("old.json.schema2-") for p in tmp_path.iterdir())
    open_read_only(str(path)).close()


async def test_a_select_only_postgres_role_gets_the_same_mode(pg_url, pg_cluster, playbook, make_app):
    """The store's flag is the one source: no --read-only needed for a role that can only read."""
    from test_postgres import _viewer

    from octotui.storage.postgres_store import PostgresStore

    owner = PostgresStore(pg_url)
    Workspace(owner, playbook).create_release(version="1.0.0", title="a")
    viewer = PostgresStore(_viewer(pg_cluster, pg_url))
    try:
        app = make_app(Workspace(viewer, playbook))
        async with app.run_test(size=(120, 36)) as pilot:
            assert app.read_only
            shown = [active.binding.id for active in app.screen.active_bindings.values()]
            assert shown and not [ident for ident in shown if actions.writes(ident)]
            await pilot.press("n")
            assert app.screen is app.screen_stack[0]
            assert any("read-only" in note and "can only read this database" in note for note in notes(app))
    finally:
        viewer.close()
        owner.close()


async def test_read_only_never_takes_the_write_lock(demo_file, read_only_app, monkeypatch):
    """Another octotui holds the lock the whole time; the read-only app starts, reads every screen and quits,
    and asks for the lock not once (counted, not timed)."""
    import fcntl
    import os

    from octotui.storage.file_store import DatabaseLock

    asked = []
    original = DatabaseLock.acquire

    def counting(self, *args, **kwargs):
        asked.append(self.path)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DatabaseLock, "acquire", counting)
    holder = os.open(demo_file, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a writer holds it
    try:
        app = read_only_app()
        async with app.run_test(size=(140, 50)) as pilot:
            await pilot.pause(0.8)  # the check of every record after start-up runs meanwhile
            for mode in ("2", "3", "4", "5", "1"):
                await pilot.press(mode)
            assert app.board_rows() and not any("Not saved" in note for note in notes(app))
            await pilot.press("q")
    finally:
        os.close(holder)
    assert asked == []
