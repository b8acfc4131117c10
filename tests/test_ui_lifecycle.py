"""Pilot tests for the release lifecycle at the keyboard: cancel and reopen with a reason, locked checklists,
owners, due times and "mine", unchecking a colleague's check, release notes as lists, one rule for forms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_lifecycle import at_stage
from test_ui_checklist import open_checklist, table_rows

from octotui.domain.models import ItemState, Stage
from octotui.services.workspace import RunRef
from octotui.ui.forms import ConfirmScreen, FormScreen


async def test_cancel_needs_a_typed_reason_and_enter_alone_never_confirms(workspace, make_app):
    release = at_stage(workspace, Stage.GATE_PASSED, "1.0.0")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("c")
        assert isinstance(app.screen, FormScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, FormScreen) and workspace.release(release.id).stage is Stage.GATE_PASSED
        assert "reason" in str(app.screen.query_one("#e-reason").render()).lower()
        await pilot.press(*"Folded into 1.1.0", "enter")
        assert workspace.release(release.id).stage is Stage.CANCELLED
        assert workspace.release(release.id).cancel_reason == "Folded into 1.1.0"
        await pilot.press("O", *"Needed after all", "enter")
        assert workspace.release(release.id).stage is Stage.GATE_PASSED


async def test_a_locked_release_refuses_changes_until_reopened(workspace, make_app):
    release = at_stage(workspace, Stage.VERIFIED, "1.0.0")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, release.id, row="REL-1:deployment:6")
        assert "Locked (Verified)" in str(app.screen.query_one("#checklist-heading").render())
        await pilot.press("space")
        assert workspace.run(RunRef("release", 1, "deployment")).items[6].state is ItemState.DONE
        assert any("locked" in n.message for n in app._notifications)
        await pilot.press("O", *"Verification was on the wrong cluster", "enter")
        await pilot.press("space")
        assert workspace.run(RunRef("release", 1, "deployment")).items[6].state is ItemState.TODO


async def test_owner_due_and_mine_from_the_keyboard(workspace, make_app, clock):
    one = at_stage(workspace, Stage.PLANNED, "1.0.0")
    at_stage(workspace, Stage.PLANNED, "1.1.0")
    workspace.change_item(RunRef("release", 2, "gate"), 4, "assign", text="tester")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, one.id, row="REL-1:gate:1")
        await pilot.press("o")
        await pilot.press("ctrl+u", *"tester", "enter")  # prefilled with the current user
        await pilot.press("d", *"in 30m", "enter")
        item = workspace.run(RunRef("release", 1, "gate")).items[1]
        assert item.owner == "tester" and item.due == clock.now() + timedelta(minutes=30)
        assert "@tester" in table_rows(app)["REL-1:gate:1"][-1]
        await pilot.press("d", "ctrl+u", *"yesterday", "enter")
        assert "cannot read" in str(app.screen.query_one("#e-text").render())
        await pilot.press("escape", "y")
        clock.advance(hours=1)
        await pilot.press("m")
        rows = table_rows(app)
        assert set(key for key in rows if not key.startswith("h:")) == {"REL-1:gate:1", "REL-2:gate:4"}
        assert "OVERDUE" in rows["REL-1:gate:1"][-1]
        await pilot.press("m")
        assert len([key for key in table_rows(app) if not key.startswith("h:")]) == 13, "REL-1's gate and deployment"


async def test_unchecking_a_colleagues_check_asks_and_names_them(workspace, make_app):
    release = at_stage(workspace, Stage.PLANNED, "1.0.0")
    workspace.author = "lee"
    workspace.change_item(RunRef("release", release.id, "gate"), 0, "toggle")
    workspace.author = "tester"
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, release.id, row="REL-1:gate:0")
        await pilot.press("space")
        assert isinstance(app.screen, ConfirmScreen) and "checked by lee" in str(app.screen.question)
        await pilot.press("n")
        assert workspace.run(RunRef("release", 1, "gate")).items[0].state is ItemState.DONE
        await pilot.press("space", "y")
        assert workspace.run(RunRef("release", 1, "gate")).items[0].state is ItemState.TODO


async def test_release_notes_drafted_asks_and_notes_are_lists(workspace, make_app):
    release = at_stage(workspace, Stage.PLANNED, "1.0.0")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, release.id, row="REL-1:gate:2")
        await pilot.press("space")
        assert isinstance(app.screen, ConfirmScreen) and "release notes are still empty" in str(app.screen.question)
        await pilot.press("n")
        assert workspace.run(RunRef("release", 1, "gate")).items[2].state is ItemState.TODO
        await pilot.press("5")
        await pilot.press("E")
        form = app.screen
        form.query_one("#f-notable_changes").text = "Saved carts\nFaster cart page"
        form.query_one("#f-summary").value = "Carts survive logout"
        await pilot.press("ctrl+s")
        assert workspace.release(1).notes["notable_changes"] == "- Saved carts\n- Faster cart page"


async def test_sign_off_from_the_checklist_and_the_board_says_awaiting(workspace, make_app):
    from octotui.domain.settings import SignOffRules

    workspace.settings.signoff = SignOffRules(major=1)
    release = workspace.create_release(version="3.0.0", title="API v3", captain="maria", type="major")
    app = make_app(workspace)
    async with app.run_test(size=(160, 36)) as pilot:
        board = app.screen.query_one("#board")
        assert "awaiting sign-off" in board.get_row_at(0)[3].plain
        await open_checklist(app, pilot, release.id)
        await pilot.press("s", *"migration plan reviewed", "enter")
        signed = workspace.release(release.id).signoffs
        assert [(e.by, e.reason) for e in signed] == [("tester", "migration plan reviewed")]
        await pilot.press("1")
        assert "awaiting sign-off" not in app.screen.query_one("#board").get_row_at(0)[3].plain


# -- one rule for every form ------------------------------------------------------------------------
FORMS = {  # name -> (keys that open it from the board with a demo database, a field to type into)
    "new release": (("n",), "title"),
    "edit release": (("e",), "title"),
    "decision": (("D",), "title"),
    "incident": (("i",), "title"),
    "timeline note": (("t",), "note"),
    "status update": (("3", "u"), "impact"),
    "cancel": (("c",), "reason"),  # the first row is a Planned release
}


@pytest.mark.parametrize("name", list(FORMS))
async def test_every_form_follows_one_rule_for_enter_ctrl_s_and_escape(demo_workspace, make_app, name):
    keys, field = FORMS[name]
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press(*keys)
        form = app.screen
        assert isinstance(form, FormScreen), name
        names = [spec.name for spec in form.fields]
        first_empty = next((spec.name for spec in form.fields if spec.kind != "select" and not spec.value), None)
        assert form.focused.id == f"f-{form.first_focus}"
        if first_empty is not None and name not in ("incident", "timeline note", "status update"):
            assert form.first_focus == first_empty, "focus starts on the first field a person must fill"
        form.query_one(f"#f-{field}").value = (form.query_one(f"#f-{field}").value or "") + " typed"
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmScreen), f"{name}: Esc with typed text asks"
        await pilot.press("n")
        assert app.screen is form and field in form.values() and "typed" in form.values()[field]
        position = names.index(form.first_focus)
        if position < len(names) - 1 and form.fields[position].kind == "input":
            await pilot.press("enter")
            assert app.screen is form and form.focused.id == f"f-{names[position + 1]}", f"{name}: Enter moves on"
        keys = [binding.key for cls in type(form).__mro__ for binding in getattr(cls, "BINDINGS", [])]
        assert "ctrl+s" in keys, "Ctrl+S saves from anywhere"


async def test_enter_on_a_choice_picks_it_and_moves_on(demo_workspace, make_app):
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("n")
        form = app.screen
        form.set_focus(form.query_one("#f-type"))
        await pilot.press("enter")  # opens the list
        await pilot.press("down", "enter")  # picks
        await pilot.pause()
        assert form.focused.id == "f-captain"


async def test_checklist_rows_show_links_as_their_text(workspace, make_app):
    release = at_stage(workspace, Stage.PLANNED, "1.0.0")
    app = make_app(workspace)
    async with app.run_test(size=(160, 36)) as pilot:
        await open_checklist(app, pilot, release.id)
        row = table_rows(app)["REL-1:gate:5"]
        assert "Key decisions documented in Decision Log" in row[1] and "](./" not in row[1]
        assert workspace.run(RunRef("release", 1, "gate")).items[5].text.endswith("(./octoacme-decision-log.md)")
        await pilot.press("right_square_bracket")
        assert app.screen.query_one("#checklist").selected_key() == "REL-1:deployment:0"
        await pilot.press("left_square_bracket")
        assert app.screen.query_one("#checklist").selected_key() == "REL-1:gate:0"



async def test_a_title_prefilled_from_an_item_is_its_plain_text(workspace, make_app):
    release = at_stage(workspace, Stage.PLANNED, "1.0.0")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, release.id, row="REL-1:gate:5")
        await pilot.press("D")
        assert app.screen.query_one("#f-title").value == "Key decisions documented in Decision Log"


async def test_reusing_a_cancelled_version_asks_once_then_saves(workspace, make_app):
    at_stage(workspace, Stage.CANCELLED, "2.5.1")
    other = workspace.create_release(version="2.6.0", title="other")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("n", *"Dark mode again")
        app.screen.query_one("#f-version").value = "2.5.1"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen) and "which was cancelled" in str(app.screen.question)
        await pilot.press("y")
        assert not isinstance(app.screen, (FormScreen, ConfirmScreen))
        assert [r.version for r in workspace.releases() if r.title == "Dark mode again"] == ["2.5.1"]
        app.selected_release_id = other.id
        board = app.screen.query_one("#board")
        board.move_cursor(row=[board.coordinate_to_cell_key((i, 0)).row_key.value for i in range(board.row_count)]
                          .index(str(other.id)))
        await pilot.press("e")
        app.screen.query_one("#f-version").value = "2.5.1"
        await pilot.press("ctrl+s")
        assert "already exists" in str(app.screen.query_one("#e-version").render()), "a live one is never reused"
