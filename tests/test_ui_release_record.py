"""Pilot tests for issue 29: the release record under real use (filters and the cursor, stage order, forms)."""

from octotui.services.workspace import RunRef
from octotui.ui.forms import ConfirmScreen


def table_keys(app):
    table = app.screen_stack[0].query_one("#checklist")
    return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]


def selected_key(app):
    return app.screen_stack[0].query_one("#checklist").selected_key()


async def test_only_mine_moves_the_cursor_to_the_nearest_shown_row(workspace, make_app):
    """The issue's steps: assign the fourth gate item to yourself, go back up to the first, press m."""
    release = workspace.create_release(version="1.0.0", title="a")
    workspace.change_item(RunRef("release", release.id, "gate"), 3, "assign", text="tester")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        await pilot.press("2")
        assert selected_key(app) == "REL-1:gate:0"
        await pilot.press("m")  # the cursor's row disappears: it moves, the app stays
        assert app.is_running
        assert selected_key(app) == "REL-1:gate:3"
        assert "REL-1:gate:0" not in table_keys(app)
        await pilot.press("m")  # back to all items: the cursor stays where it was
        assert selected_key(app) == "REL-1:gate:3"
        await pilot.press("up", "up", "up")
        # another item is assigned meanwhile, the cursor sits on a row the filter hides
        workspace.change_item(RunRef("release", release.id, "deployment"), 1, "assign", text="tester")
        await pilot.press("m")
        assert app.is_running and selected_key(app) == "REL-1:gate:3"


async def test_an_empty_only_mine_says_so(workspace, make_app):
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        await pilot.press("2", "m")
        assert app.is_running
        heading = str(app.screen.query_one("#checklist-heading").render())
        assert "nothing assigned to you" in heading.casefold()
        assert selected_key(app) is None
        await pilot.press("space")  # nothing selected: a word, no crash
        assert app.is_running and not isinstance(app.screen, ConfirmScreen)


async def test_board_filter_that_hides_the_selection_moves_to_a_shown_row(workspace, make_app):
    for version, title in (("1.0.0", "alpha"), ("1.1.0", "beta"), ("1.2.0", "alphabet")):
        workspace.create_release(version=version, title=title)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#board")
        app.selected_release_id = 2
        await pilot.pause()
        await pilot.press("slash", *"alpha")
        assert app.is_running
        shown = [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]
        assert "2" not in shown and table.selected_key() in shown
        assert app.selected_release_id == int(table.selected_key())
        await pilot.press("enter", "e")  # edits the release the cursor is on, not the hidden one
        assert app.screen.query_one("#f-title").value in ("alpha", "alphabet")


async def test_decision_status_filter_that_hides_the_selection_moves_to_a_shown_row(workspace, make_app):
    workspace.record_decision(title="one", decision="d", status="accepted")
    workspace.record_decision(title="two", decision="d", status="proposed")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        table = app.screen.query_one("#decisions")
        await pilot.press("f")  # proposed only: DEC-2 shown
        assert app.is_running and table.row_count == 1
        await pilot.press("f")  # accepted only: the cursor's DEC-2 disappears
        assert app.is_running and table.row_count == 1 and table.cursor_row == 0
        await pilot.press("enter")
        assert app.is_running


async def test_edit_form_asks_keep_mine_or_take_theirs_and_merges_the_rest(workspace, make_app):
    from octotui.services.workspace import Workspace
    from octotui.storage.file_store import Store
    from octotui.ui.forms import FormScreen

    release = workspace.create_release(version="1.0.0", title="first", captain="tester")
    ana = Workspace(Store(workspace.store.path), workspace.playbook, clock=workspace.clock, author="ana")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.selected_release_id = release.id
        await pilot.pause()
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, FormScreen)
        ana.update_release(release.id, read={"title": "first"}, title="ana's title")  # while the form is open
        form.query_one("#f-title").value = "my title"
        form.query_one("#f-captain").value = "ben"
        await pilot.press("ctrl+s")
        question = app.screen
        assert isinstance(question, ConfirmScreen)
        assert "ana changed the title" in question.question.plain and "my title" in question.question.plain
        await pilot.press("n")  # take theirs: the form shows it, my other change is still there
        assert app.screen is form and form.query_one("#f-title").value == "ana's title"
        assert form.query_one("#f-captain").value == "ben"
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, FormScreen)
    stored = workspace.release(release.id)
    assert (stored.title, stored.captain) == ("ana's title", "ben")
    assert [(e.by, e.field) for e in stored.edits] == [("ana", "title"), ("tester", "captain")]


async def test_edit_form_keep_mine_saves_over_theirs(workspace, make_app):
    from octotui.services.workspace import Workspace
    from octotui.storage.file_store import Store

    release = workspace.create_release(version="1.0.0", title="first")
    ana = Workspace(Store(workspace.store.path), workspace.playbook, clock=workspace.clock, author="ana")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.selected_release_id = release.id
        await pilot.pause()
        await pilot.press("e")
        form = app.screen
        ana.update_release(release.id, read={"title": "first"}, title="ana's title")
        form.query_one("#f-title").value = "my title"
        await pilot.press("ctrl+s", "y")
        assert app.screen is not form
    assert workspace.release(release.id).title == "my title"
    assert [(e.by, e.old, e.new) for e in workspace.release(release.id).edits] == [
        ("ana", "first", "ana's title"), ("tester", "ana's title", "my title")]


async def test_checking_production_before_staging_asks_for_a_reason_naming_the_step(workspace, make_app):
    from octotui.domain.models import ItemState, Stage
    from octotui.ui.forms import FormScreen

    release = workspace.create_release(version="1.0.0", title="a")
    for index in range(6):
        workspace.change_item(RunRef("release", release.id, "gate"), index, "toggle")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        await pilot.press("2")
        table = app.screen.query_one("#checklist")
        table.move_cursor(row=table.get_row_index("REL-1:deployment:3"))
        await pilot.press("space")
        form = app.screen
        assert isinstance(form, FormScreen) and "Deploy to staging and run smoke tests" in form.form_title.plain
        assert workspace.release(release.id).stage is Stage.GATE_PASSED
        await pilot.press("enter")  # no reason: refused next to the field
        assert app.screen is form and "reason is required" in str(form.query_one("#e-text").render())
        await pilot.press(*"staging down", "enter")
        assert not isinstance(app.screen, FormScreen)
    stored = workspace.release(release.id)
    assert stored.stage is Stage.PRODUCTION
    assert stored.runs["deployment"].items[2].state is ItemState.NA
    assert stored.runs["deployment"].items[2].na_reason == "staging down"


def board_titles(app):
    table = app.screen.query_one("#board")
    return {table.coordinate_to_cell_key((i, 0)).row_key.value: table.get_row_at(i)[3].plain
            for i in range(table.row_count)}


def ship(workspace, version, title="r", confirm=False):
    release = workspace.create_release(version=version, title=title)
    for index in range(6):
        workspace.change_item(RunRef("release", release.id, "gate"), index, "toggle")
    for index in (2, 3):
        workspace.change_item(RunRef("release", release.id, "deployment"), index, "toggle", confirm=confirm)
    return release


async def test_board_shows_one_release_in_production_and_its_flags_at_120_and_80(workspace, make_app, clock):
    from datetime import timedelta

    done = ship(workspace, "1.0.0", "first")
    for index in (0, 1, 4, 5, 6):
        workspace.change_item(RunRef("release", done.id, "deployment"), index, "toggle")
    workspace.reopen_release(done.id, "verify again")
    clock.advance(hours=1)
    old = ship(workspace, "2.4.0", "Saved carts for signed-in shoppers across devices")
    clock.advance(hours=1)
    new = ship(workspace, "2.3.5", "A late patch", confirm=True)
    late = workspace.create_release(version="3.0.0", title="Checkout redesign with a very long title indeed ok")
    workspace.change_item(RunRef("release", late.id, "gate"), 0, "due", due=clock.now() - timedelta(hours=2))
    for size in ((120, 40), (80, 24)):
        app = make_app(workspace)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            titles = board_titles(app)
            assert "replaced by 2.3.5 (REL-3)" in titles[str(old.id)] or (size[0] == 80 and "replaced" in titles[str(old.id)])
            assert "downgrade from" in titles[str(new.id)]
            assert "1 item(s) overdue" in titles[str(late.id)] or (size[0] == 80 and "overdue" in titles[str(late.id)])
            assert "reopened" in titles[str(done.id)]


async def test_D_links_what_the_screen_is_about_never_the_unrelated_active_incident(workspace, make_app):
    from octotui.domain.models import ItemState

    release = workspace.create_release(version="1.0.0", title="a")
    incident = workspace.start_incident("checkout errors", "P1")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.selected_release_id = release.id
        app.active_incident_id = incident.id
        await pilot.press("1")
        await pilot.pause()
        await pilot.press("D")
        form = app.screen
        assert form.query_one("#f-links").value == "REL-1"
        form.query_one("#f-title").value = "Freeze deploys during peak"
        form.query_one("#f-decision").value = "No deploys 18:00-22:00"
        await pilot.press("ctrl+s")
        assert app.screen is not form
        app.checklist_owner = ("release", release.id)
        await pilot.press("2", "D")  # a checklist item of the release: the release only
        assert app.screen.query_one("#f-links").value == "REL-1"
        await pilot.press("escape")
        await pilot.press("3", "D")  # the incident screen: the incident
        assert "INC-1" in app.screen.query_one("#f-links").value
        await pilot.press("escape")
    decision = workspace.decision(1)
    assert decision.incident_ids == [] and decision.release_ids == [release.id]
    stored = workspace.incident(incident.id)
    assert 1 not in stored.decision_ids
    escalation = stored.runs["escalation"]
    assert not any(item.auto == "decision" and item.state is ItemState.DONE for item in escalation.items)


async def test_enter_on_an_unchanged_choice_moves_on(workspace, make_app):
    from octotui.ui.forms import FormScreen

    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#f-type").focus()
        await pilot.pause()
        before = form.query_one("#f-type").value
        await pilot.press("enter")  # opens the list
        await pilot.press("enter")  # picks the highlighted (the same) value
        assert form.query_one("#f-type").value == before
        assert app.focused is form.query_one("#f-captain")
        await pilot.press("enter")  # a third Enter is for the captain field, not the list again
        assert app.focused is form.query_one("#f-target_date")


async def test_write_the_notes_first_opens_the_notes_form_focused_on_the_summary(workspace, make_app):
    from octotui.ui.forms import FormScreen

    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        await pilot.press("2")
        table = app.screen.query_one("#checklist")
        table.move_cursor(row=table.get_row_index("REL-1:gate:2"))  # Release notes drafted
        await pilot.press("space")
        assert isinstance(app.screen, ConfirmScreen) and app.screen.no == "Write the notes first"
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, FormScreen) and "Release notes" in form.form_title.plain
        assert app.focused is form.query_one("#f-summary")  # not the derived "Release name / number"
        await pilot.press(*"Faster search", "ctrl+s")
        assert not isinstance(app.screen, FormScreen)
    stored = workspace.release(release.id)
    assert stored.notes["summary"] == "Faster search" and stored.notes.get("release_name_number", "") == ""
    assert stored.runs["gate"].items[2].state.value == "todo"  # writing the notes does not check the item


async def test_a_due_time_is_said_back_in_words(workspace, make_app, clock):
    from octotui.ui.forms import FormScreen

    clock.set(clock.now().replace(hour=14, minute=12))
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        await pilot.press("2", "d")
        form = app.screen
        assert isinstance(form, FormScreen)
        await pilot.press(*"14:00")
        assert "→ due tomorrow 14:00" in str(form.query_one("#e-text").render())
        form.query_one("#f-text").value = "16:30"
        await pilot.pause()
        assert "→ due today 16:30" in str(form.query_one("#e-text").render())
        await pilot.press("enter")
        assert not isinstance(app.screen, FormScreen)
    assert workspace.release(release.id).runs["gate"].items[0].due.hour == 16


async def test_D_on_a_rollback_run_links_the_incident_it_serves(workspace, make_app):
    release = ship(workspace, "1.0.0")
    incident = workspace.start_incident("errors after 1.0.0", "P1")
    workspace.start_rollback(release.id, "errors", incident_id=incident.id)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        await pilot.press("2")
        table = app.screen.query_one("#checklist")
        table.move_cursor(row=table.get_row_index("REL-1:rollback:0"))
        await pilot.press("D")
        assert app.screen.query_one("#f-links").value == "REL-1, INC-1"


async def test_a_withdrawn_override_is_said_on_the_checklist(workspace, make_app):
    from octotui.services.workspace import Workspace
    from octotui.storage.file_store import Store

    release = workspace.create_release(version="1.0.0", title="a", captain="tester")
    decision = workspace.override_gate(release.id, title="Override", decision="ship", status="proposed")
    ana = Workspace(Store(workspace.store.path), workspace.playbook, clock=workspace.clock, author="ana",
                    settings=workspace.settings)
    ana.edit_decision(decision.id, status="accepted")
    ana.edit_decision(decision.id, status="deprecated")
    workspace.refresh()  # what the app's file watch does
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        await pilot.press("2")
        heading = str(app.screen.query_one("#checklist-heading").render())
        assert "Override withdrawn — gate not met (DEC-1" in heading
