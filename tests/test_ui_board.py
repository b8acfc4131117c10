"""Pilot tests: the release board and the app shell."""

from octotui.services.workspace import Workspace
from octotui.storage.file_store import Store
from octotui.ui.forms import ConfirmScreen, FormScreen
from octotui.ui.widgets import FieldError


def rows(app, table_id="#board"):
    table = app.screen.query_one(table_id)
    return [[getattr(cell, "plain", str(cell)) for cell in table.get_row_at(index)] for index in range(table.row_count)]


async def test_new_release_form_validates_inline_then_saves_and_survives_restart(workspace, make_app, clock):
    workspace.create_release(version="1.4.0", title="Existing")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, FormScreen)
        assert app.focused.id == "f-title", "the version is prefilled: focus starts on the first empty field"
        assert form.query_one("#f-version").value == "1.5.0"
        form.query_one("#f-version").value = "1.4.0"
        await pilot.press(*"[bold]x[/] [/]", "ctrl+s")
        assert app.screen is form, "nothing is saved until valid"
        error = form.query_one("#e-version", FieldError)
        assert error.display and "already exists" in str(error.render())
        assert form.query_one("#f-title").value == "[bold]x[/] [/]", "what was typed is kept"
        form.query_one("#f-version").value = "2.0.0"
        await pilot.pause()
        assert form.query_one("#f-type").value == "major", "type follows the version"
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, FormScreen)
        assert rows(app)[0][:4] == ["REL-2", "2.0.0", "major", "[bold]x[/] [/]"]
    # restart: the same board
    again = make_app(Workspace(Store(workspace.store.path), workspace.playbook, clock=clock))
    async with again.run_test(size=(120, 36)):
        assert [row[:2] for row in rows(again)] == [["REL-2", "2.0.0"], ["REL-1", "1.4.0"]]


async def test_escape_leaves_the_form_without_saving(workspace, make_app):
    app = make_app(workspace)
    async with app.run_test() as pilot:
        await pilot.press("n", *"abc", "escape")
        assert isinstance(app.screen, ConfirmScreen), "typed text: Esc asks first"
        await pilot.press("y")
        assert workspace.releases() == [] and not isinstance(app.screen, FormScreen)


async def test_filter_edit_and_cancel(demo_workspace, make_app):
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("slash", *"carts")
        assert [row[1] for row in rows(app)] == ["2.4.0"]
        await pilot.press("enter", "e")
        form = app.screen
        form.query_one("#f-title").value = "Saved carts v2"
        await pilot.press("ctrl+s")
        assert demo_workspace.release(2).title == "Saved carts v2"
        await pilot.press("c")
        assert demo_workspace.release(2).stage.value == "Production"
        assert any("never cancelled" in n.message for n in app._notifications), "a shipped release is not cancelled"


async def test_first_start_offers_demo_data_and_escape_starts_empty(workspace, make_app):
    app = make_app(workspace, offer_demo=True)
    async with app.run_test() as pilot:
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        assert workspace.releases() == []
    app = make_app(workspace, offer_demo=True)
    async with app.run_test() as pilot:
        await pilot.press("y")
        # The demo: eight releases of its three days, and 30 shipped in the twenty weeks before (the reports' history).
        assert len(workspace.releases()) == 38 and len(rows(app)) == 38


async def test_narrow_terminal_keeps_the_board_usable(demo_workspace, make_app):
    app = make_app(demo_workspace)
    async with app.run_test(size=(80, 24)):
        table = app.screen.query_one("#board")
        assert [column.label.plain for column in table.columns.values()] == ["ID", "Version", "Type", "Title", "Stage", "Done"]
        assert sum(column.get_render_width(table) for column in table.columns.values()) <= 80


async def test_help_lists_every_key_of_the_screen(demo_workspace, make_app):
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        keys = rows(app, "#help-keys")
        descriptions = {row[1] for row in keys}
        assert {"release: new", "release: edit", "release: open checklists", "release: filter", "view: release board",
                "incident: start", "app: help", "app: quit", "Command palette"} <= descriptions
        await pilot.press("escape", "2", "f1")
        assert {"checklist: check / uncheck", "checklist: mark N/A", "checklist: note", "checklist: undo"} <= {
            row[1] for row in rows(app, "#help-keys")}


async def test_palette_offers_every_action_by_namespaced_name(demo_workspace, make_app):
    from octotui.ui.actions import ACTIONS
    app = make_app(demo_workspace)
    async with app.run_test() as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"release: new", "incident: start", "decision: record", "comms: copy", "checklist: mark N/A"} <= set(titles)
        assert all(":" in title for title in titles) and len(titles) == len(set(titles)) == len({a.words for a in ACTIONS})
        app.run_command("board", "new")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)


def test_every_binding_has_an_id_and_a_tooltip():
    import importlib

    from octotui.ui import app, forms, help, recovery, widgets
    from octotui.ui.screens import decisions
    screens = [getattr(importlib.import_module(f"octotui.ui.screens.{module}"), name)
               for module, name in app.SCREEN_MODULES.values()]
    classes = [app.OctoApp, recovery.RecoveryApp, *screens, forms.FormScreen, forms.ConfirmScreen, forms.TextScreen,
               forms.ChoiceScreen, forms.EditTextScreen, help.HelpScreen, decisions.DecisionDetailScreen,
               widgets.KeyTable, widgets.FilterInput]
    bindings = [binding for cls in classes for binding in cls.BINDINGS]
    assert len(bindings) > 60
    missing = [binding.key for binding in bindings if not (binding.id and binding.tooltip)]
    assert missing == []


async def test_quitting_with_typed_text_in_a_form_asks_first(workspace, make_app):
    app = make_app(workspace)
    async with app.run_test() as pilot:
        await pilot.press("n", *"half a title", "ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.screen.query_one("#f-title").value == "half a title"
        await pilot.press("ctrl+q", "y")
        await pilot.pause()
    assert app.return_code in (0, None)


async def test_someone_who_started_empty_and_quit_is_not_asked_again(workspace, make_app):
    app = make_app(workspace, offer_demo=True)
    async with app.run_test() as pilot:
        await pilot.press("n", "q")
    app = make_app(workspace, offer_demo=True)
    async with app.run_test():
        assert not isinstance(app.screen, ConfirmScreen)


async def test_the_board_builds_its_rows_once_and_redraws_only_what_changed(demo_workspace, make_app, monkeypatch):
    """Mount and the first show used to build every row twice (a LiveScreen handler ran twice along the MRO), and
    every return to the board (a form closed, another screen left) rebuilt every row: seconds at 50k releases.
    Now a return redraws the rows that changed meanwhile and those whose flags follow the clock."""
    from octotui.ui.screens.board import BoardScreen

    built = []
    original = BoardScreen._row
    monkeypatch.setattr(BoardScreen, "_row", lambda self, row: built.append(row.id) or original(self, row))
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        rows = demo_workspace.board_rows()
        assert sorted(built) == sorted(row.id for row in rows)
        timed = {row.id for row in rows if row.changes_with_time()}
        quiet = next(row for row in rows if not row.changes_with_time())
        await pilot.press("3")
        demo_workspace.update_release(quiet.id, version=quiet.version, title="Renamed while the board was not shown",
                                      type=quiet.type)
        built.clear()
        await pilot.press("1")
        await pilot.pause()
        # (a tick meanwhile may redraw the rows that follow the clock once more: the set, not the count)
        assert set(built) == timed | {quiet.id} != {row.id for row in rows}, "not every row"
        assert "Renamed while the board" in str(app.screen.query_one("#board").get_row(str(quiet.id))[3])
        built.clear()
        demo_workspace.add_note(demo_workspace.open_incidents()[0].id, "unrelated to releases")
        await pilot.pause()
        assert set(built) <= timed, "an incident's note redraws no release row (beyond those that follow the clock)"


async def test_building_the_board_measures_no_cell(demo_workspace, make_app, monkeypatch):
    """Every column has a fixed width: measuring each new cell (DataTable's sizing of auto-width columns) was
    most of the board's build time with thousands of releases."""
    from textual.widgets import _data_table

    measured = []
    original = _data_table.measure
    monkeypatch.setattr(_data_table, "measure", lambda *args, **kwargs: measured.append(1) or original(*args, **kwargs))
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#board")
        assert table.row_count == len(demo_workspace.releases()) > 1
        assert len(measured) <= len(table.columns), "column labels at most, never a cell"
        await pilot.press("space")  # still renders, scrolls and selects as before


async def test_a_long_board_paints_its_first_rows_then_adds_the_rest(demo_workspace, make_app, monkeypatch):
    """6,250 releases took 0.5 s to add before the first paint; the first screenfuls come first, the rest in
    batches right after, in board order, each row once."""
    from octotui.ui.screens import board

    monkeypatch.setattr(board, "FIRST_ROWS", 3)
    monkeypatch.setattr(board, "ROWS_PER_BATCH", 2)
    added = []
    original = board.BoardScreen._row
    monkeypatch.setattr(board.BoardScreen, "_row", lambda self, row: added.append(row.id) or original(self, row))
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.pause()
        expected = [row.id for row in demo_workspace.board_rows()]
        table = app.screen.query_one("#board")
        assert [int(key.value) for key in table.rows] == expected and added == expected
        assert f"{len(expected)} of {len(expected)} releases" in str(app.screen.query_one("#board-summary").render())
