"""A quick start: the board painted from the stored rows before pydantic or any model, the rest after."""

import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from octotui.domain.board import BoardRow, rows_from_docs
from octotui.services.startup import QuickStart
from octotui.services.workspace import Workspace
from octotui.storage.errors import StoreCorrupt
from octotui.storage.file_store import Store


def _board(app):
    table = app.screen.query_one("#board")
    return [[getattr(cell, "plain", str(cell)) for cell in table.get_row_at(index)] for index in range(table.row_count)]


def _quit_on_board(workspace: Workspace) -> None:
    workspace.save_ui_state({"mode": "board"})


@pytest.fixture
def board_db(demo_workspace: Workspace) -> Workspace:
    """The demo's releases, its incident resolved (an open one makes a full start), quit on the board."""
    for incident in demo_workspace.open_incidents():
        demo_workspace.set_status(incident.id, "Resolved", confirm=True)
    _quit_on_board(demo_workspace)
    return demo_workspace


@pytest.mark.both_backends
def test_the_stored_row_reads_back_as_the_models_row(board_db):
    """Every release's stored row equals the row its model gives: the quick board is the real board."""
    snapshot = board_db.store.snapshot
    for row in board_db.board_rows():
        assert BoardRow.from_doc(row.id, snapshot.get("releases", row.id)) == row
    assert rows_from_docs(snapshot.all("releases")) == board_db.board_rows(), "same rows, same board order"


@pytest.mark.both_backends
def test_flags_that_depend_on_time_are_computed_at_paint_not_stored(board_db, clock):
    """A due time is stored; whether it has passed is decided when the row is painted."""
    from octotui.services.workspace import RunRef

    release = next(r for r in board_db.releases() if "gate" in r.runs and not r.runs["gate"].items[0].settled)
    board_db.change_item(RunRef("release", release.id, "gate"), 0, "due", due=clock.now() + timedelta(hours=1))
    stored = BoardRow.from_doc(release.id, board_db.store.snapshot.get("releases", release.id))
    assert stored is not None and len(stored.dues) == 1
    assert "overdue" not in stored.flags(clock.now())
    assert "1 item(s) overdue" in stored.flags(clock.now() + timedelta(hours=2))


@pytest.mark.parametrize("damage", [
    lambda doc: doc.pop("board"),
    lambda doc: doc["board"].update(v=0),
    lambda doc: doc["board"].update(done=-1),
    lambda doc: doc["board"].update(stage="Somewhere"),
    lambda doc: doc["board"].update(dues=["2026-01-01T10:00:00"]),  # a time without its zone
    lambda doc: doc.update(title=None),
])
def test_a_missing_or_damaged_row_makes_a_full_start(board_db, damage):
    docs = {rid: {**doc, "board": dict(doc["board"])} for rid, doc in board_db.store.snapshot.all("releases").items()}
    damage(next(iter(docs.values())))
    assert rows_from_docs(docs) is None


def test_what_the_first_screen_needs_beyond_the_rows_makes_a_full_start(board_db, tmp_path, playbook, clock):
    store = board_db.store
    assert QuickStart.read(store) is not None
    board_db.save_ui_state({"mode": "checklist"})
    assert QuickStart.read(store) is None, "another first screen"
    board_db.save_ui_state({"mode": "board"})
    board_db.start_incident("Checkout down", "P1")
    assert QuickStart.read(store) is None, "an open incident: its clock is on every screen"
    empty = Workspace(Store(tmp_path / "empty.json"), playbook, clock=clock, author="tester")
    assert QuickStart.read(empty.store) is None, "a first start: the demo offer"
    empty.save_ui_state({"mode": "board"})
    started_empty = QuickStart.read(empty.store)
    assert started_empty is not None and started_empty.rows == [], "started empty and quit: an empty board, quickly"


def test_rows_written_by_an_older_octotui_are_stored_once_the_workspace_is_up(board_db):
    """A release saved before rows were stored: a full start this time, stored rows for the next one."""
    store = board_db.store
    with store.unit_of_work() as uow:
        for release_id, doc in uow.all("releases").items():
            uow.put("releases", release_id, {key: value for key, value in doc.items() if key != "board"})
    board_db.refresh()
    events_before = len(store.snapshot.all("events"))
    assert QuickStart.read(store) is None
    assert board_db.store_board_rows() == len(board_db.releases())
    assert QuickStart.read(store) is not None
    assert board_db.store_board_rows() == 0, "nothing left to store"
    assert len(store.snapshot.all("events")) == events_before, "no event, nothing on any timeline"


@pytest.mark.both_backends
def test_rows_follow_the_sign_off_rules_in_use(board_db):
    """Rules changed in the settings: the stored rows are brought up to date after the first paint."""
    board_db.settings.signoff.major = 2
    changed = board_db.store_board_rows()
    majors = [row for row in board_db.board_rows() if row.type == "major"]
    assert changed == len([row for row in majors if row.signoffs_missing])
    assert rows_from_docs(board_db.store.snapshot.all("releases")) == board_db.board_rows()


def _quick_app(board_db, templates, finish):
    from octotui.ui.app import OctoApp

    quick = QuickStart.read(board_db.store)
    assert quick is not None
    app = OctoApp.quick(quick, finish)
    app.cursor_blink = False
    return app


async def test_the_board_paints_before_the_workspace_and_keys_wait_for_it(board_db, templates):
    """The board is up from the stored rows; keys typed meanwhile are kept and act, in order, once the
    workspace is there (here: move down twice and open the checklist of that release)."""
    release_workspace = threading.Event()
    expected = board_db.board_rows()

    def finish():
        release_workspace.wait(10)
        return board_db, templates

    app = _quick_app(board_db, templates, finish)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert not app.started
        assert [row[0] for row in _board(app)] == [row.key for row in expected]
        assert "No open incident" in str(app.screen.query_one("#status-text").render())
        await pilot.press("j", "j", "enter")
        assert app.current_mode == "board", "held, not lost and not acted on yet"
        release_workspace.set()
        for _ in range(100):
            await pilot.pause(0.02)
            if app.current_mode == "checklist":
                break
        assert app.started
        assert app.current_mode == "checklist"
        assert app.checklist_owner == ("release", expected[2].id)


async def test_a_workspace_that_cannot_be_built_ends_the_quick_start_with_its_error(board_db, templates):
    """The stored rows read fine but a record does not: the app stops and run_app offers the recovery."""
    def finish():
        raise StoreCorrupt(board_db.store.path, "table 'releases' document 1.created_at: Field required")

    app = _quick_app(board_db, templates, finish)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(50):
            await pilot.pause(0.02)
            if app.start_error is not None:
                break
    assert isinstance(app.start_error, StoreCorrupt)


def test_the_quick_path_imports_neither_pydantic_nor_a_model():
    """What runs before the first paint of a quick start: the CLI, the app, the board, the start reader."""
    code = ("import sys; import octotui.cli, octotui.ui.app, octotui.ui.screens.board, octotui.services.startup; "
            "print(sorted(m for m in sys.modules if m == 'pydantic' or m in ('octotui.domain.models', "
            "'octotui.services.workspace', 'octotui.domain.settings', 'octotui.comms.templates')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("quick", [True, False], ids=["quick start", "full start"])
@pytest.mark.parametrize(("key", "form"), [("i", "IncidentStartForm"), ("n", "FormScreen")])
async def test_a_letter_typed_as_the_board_appears_runs_its_binding_not_the_filter(
        board_db, templates, monkeypatch, quick, key, form):
    """A key bound on the board (i: incident, n: new release), typed as the board is mounted (before the
    workspace of a quick start is there), opens its form: it is not typed into the board's hidden filter."""
    from textual import events

    from octotui.ui.app import OctoApp
    from octotui.ui.screens.board import BoardScreen

    release_workspace = threading.Event()
    mounted = BoardScreen.on_mount
    typed = events.Key(key, key)  # made here, as the driver does: sent by no widget of the app

    def typed_while_mounting(screen):
        screen.app.post_message(typed)  # in the app's queue before anything the mount asks for
        mounted(screen)

    monkeypatch.setattr(BoardScreen, "on_mount", typed_while_mounting)

    def finish():
        release_workspace.wait(10)
        return board_db, templates

    app = _quick_app(board_db, templates, finish) if quick else OctoApp(board_db, templates)
    app.cursor_blink = False

    def form_is_up():
        return any(cls.__name__ == form for cls in type(app.screen).__mro__) and getattr(app.screen, "ready", False)

    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        if quick:
            assert not app.started
            release_workspace.set()
        for _ in range(100):
            await pilot.pause(0.02)
            if app.started and form_is_up():
                break
        board = app.screen_stack[0]
        assert board.query_one("#board-filter").value == "", "the key went into the filter"
        assert form_is_up(), f"{key}: {type(app.screen).__name__}"
