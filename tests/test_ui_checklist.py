"""Pilot tests: a release captain at the checklist screen."""

import asyncio
import subprocess
import sys
from datetime import timedelta

from octotui.domain.models import ItemState, Stage
from octotui.services.workspace import RunRef, Workspace
from octotui.storage.file_store import Store
from octotui.ui.forms import ConfirmScreen, FormScreen


def table_rows(app):
    table = app.screen_stack[0].query_one("#checklist")  # the mode's screen, under any modal
    return {table.coordinate_to_cell_key((i, 0)).row_key.value: [getattr(c, "plain", str(c)) for c in table.get_row_at(i)]
            for i in range(table.row_count)}


def select(app, key):
    table = app.screen_stack[0].query_one("#checklist")
    table.move_cursor(row=table.get_row_index(key))


async def open_checklist(app, pilot, release_id, row=None):
    app.selected_release_id = release_id
    app.checklist_owner = ("release", release_id)
    await pilot.press("2")
    if row is not None:
        select(app, row)


def check_items(workspace, release_id, role, count):
    for index in range(count):
        workspace.change_item(RunRef("release", release_id, role), index, "toggle")


async def test_check_na_note_undo_through_the_keys(workspace, make_app):
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, release.id)
        assert app.focused.id == "checklist"
        await pilot.press("space")
        assert table_rows(app)["REL-1:gate:0"][0] == "[x]"
        await pilot.press("j", "x")
        assert isinstance(app.screen, FormScreen)
        await pilot.press("enter")
        assert "A reason is required" in str(app.screen.query_one("#e-text").render())
        await pilot.press(*"[bold]docs[/]", "enter")
        row = table_rows(app)["REL-1:gate:1"]
        assert row[0] == "N/A"
        detail = app.screen.query_one("#item-detail").render()
        assert "N/A because: [bold]docs[/]" in str(detail)
        await pilot.press("a", *"see ticket 42", "enter")
        assert workspace.run(RunRef("release", 1, "gate")).items[1].note == "see ticket 42"
        assert "note" in table_rows(app)["REL-1:gate:1"][-1]
        await pilot.press("u")
        assert workspace.run(RunRef("release", 1, "gate")).items[1].note == ""
        run = workspace.run(RunRef("release", 1, "gate"))
        assert [event.action for event in run.history] == ["done", "na", "note", "undo"]
        assert run.settled_count == 2
        heading = str(app.screen.query_one("#checklist-heading").render())
        assert "2/13 done" in heading, heading


async def test_gate_blocks_then_override_by_decision(workspace, make_app):
    release = workspace.create_release(version="1.0.0", title="a", captain="tester")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, release.id, row="REL-1:deployment:2")
        await pilot.press("space")
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.question.plain
        assert "cannot enter Staging" in question and "Passing CI and security scans" in question
        await pilot.press("y")  # record an override decision
        form = app.screen
        assert form.query_one("#f-title").value.startswith("Override pre-release gate for REL-1")
        form.query_one("#f-decision").value = "Hotfix can't wait; scans run after"
        assert form.query_one("#f-status").value == "proposed"  # a second person accepts it (issue 29)
        await pilot.press("ctrl+s")
        assert workspace.release(1).gate_override is None and workspace.release(1).gate_override_pending == 1
        assert "Override pending DEC-1" in str(app.screen.query_one("#checklist-heading").render())
        ana = Workspace(Store(workspace.store.path), workspace.playbook, clock=workspace.clock, author="ana")
        ana.edit_decision(1, status="accepted")
        app.poll_store()  # what the one-second timer does
        await pilot.pause()
        assert workspace.release(1).gate_override == 1
        await pilot.press("space")
        assert workspace.release(1).stage is Stage.STAGING
        await pilot.press("1")
        board = app.screen.query_one("#board")
        assert "gate overridden (DEC-1)" in board.get_row_at(0)[3].plain


async def test_decision_log_item_prompts_for_a_decision(workspace, make_app):
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, release.id, row="REL-1:gate:5")
        await pilot.press("space")
        assert isinstance(app.screen, ConfirmScreen) and "Decision Log" in app.screen.question.plain
        await pilot.press("y")
        form = app.screen
        assert form.query_one("#f-title").value.startswith("Key decisions documented in")
        assert form.query_one("#f-links").value == "REL-1"
        form.query_one("#f-decision").value = "Use feature flags"
        await pilot.press("ctrl+s")
        assert workspace.run(RunRef("release", 1, "gate")).items[5].decision_id == 1
        assert "DEC-1" in table_rows(app)["REL-1:gate:5"][-1]
        heading = str(app.screen.query_one("#checklist-heading").render())
        assert "Decisions: DEC-1" in heading
        assert "Next in Pre-release requirements: All acceptance criteria met and PRs merged  (+11 more left)" in heading
        select(app, "REL-1:deployment:6")
        await pilot.press("space", "n")  # skip: allowed and visible
        assert workspace.release(1).runs["deployment"].items[6].decision_skipped


async def test_monitoring_countdown_and_early_confirmation(workspace, make_app, clock):
    release = workspace.create_release(version="1.0.1", title="fix", hotfix=True)
    check_items(workspace, release.id, "gate", 6)
    check_items(workspace, release.id, "hotfix", 9)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, release.id)
        assert "30:00 left" in table_rows(app)["REL-1:hotfix:9"][-1]
        clock.advance(minutes=12, seconds=30)
        app.screen.tick()
        assert "17:30 left" in table_rows(app)["REL-1:hotfix:9"][-1]
        select(app, "REL-1:hotfix:9")
        await pilot.press("space")
        assert isinstance(app.screen, ConfirmScreen) and "18 min left" in app.screen.question.plain
        await pilot.press("y")
        item = workspace.release(1).runs["hotfix"].items[9]
        assert item.state is ItemState.DONE and item.early
        assert "early" in table_rows(app)["REL-1:hotfix:9"][-1]


async def test_rollback_without_incidents_opens_the_rollback_run_on_its_first_item(workspace, make_app):
    release = workspace.create_release(version="1.0.0", title="a")
    check_items(workspace, release.id, "gate", 6)
    check_items(workspace, release.id, "deployment", 4)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("r", *"error rate 4%", "enter")
        assert workspace.release(1).stage is Stage.ROLLING_BACK
        assert workspace.incidents() == [], "a new incident is never the Enter default"
        assert app.current_mode == "checklist"
        assert app.screen.query_one("#checklist").selected_key() == "REL-1:rollback:0"
        assert "Next in Rollback Checklist: Identify last known-good" in str(app.screen.query_one("#checklist-heading").render())


async def test_rollback_from_the_board_lands_on_the_chosen_incident_only(workspace, make_app):
    release = workspace.create_release(version="2.4.0", title="Saved carts")
    check_items(workspace, release.id, "gate", 6)
    check_items(workspace, release.id, "deployment", 4)
    first = workspace.start_incident("Search is slow", "P2")
    second = workspace.start_incident("Checkout errors", "P1")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.active_incident_id = second.id
        await pilot.press("r", *"5xx after deploy", "enter")
        assert workspace.release(1).stage is Stage.ROLLING_BACK
        await pilot.press("space")  # the first rollback item, where the checklist opened
    one, two = workspace.incident(first.id), workspace.incident(second.id)
    assert two.release_ids == [1] and workspace.release(1).incident_ids == [second.id]
    assert workspace.release(1).run_incidents == {"rollback": second.id}
    assert any("Rollback of REL-1 2.4.0 started" in e.text for e in two.timeline)
    assert any("Identify last known-good release version" in e.text for e in two.timeline)
    assert not any("REL-1" in e.text for e in one.timeline), "nothing of the rollback reaches the other incident"


async def test_rollback_for_a_new_incident_is_an_explicit_choice(workspace, make_app):
    release = workspace.create_release(version="1.0.0", title="a")
    check_items(workspace, release.id, "gate", 6)
    check_items(workspace, release.id, "deployment", 4)
    workspace.start_incident("Unrelated", "P3")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("r", *"error rate 4%")
        app.screen.set_value("incident", "new")
        await pilot.press("ctrl+s")
        await pilot.press(*"Errors after 1.0.0", "enter")
        incident = workspace.incidents()[0]
        assert incident.title == "Errors after 1.0.0" and incident.release_ids == [1]
        assert workspace.release(1).run_incidents == {"rollback": incident.id}
        assert app.current_mode == "incident"


async def test_another_process_checking_an_item_shows_up(workspace, make_app):
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, release.id)
        code = ("from octotui.domain.playbook import load_playbook\n"
                "from octotui.services.workspace import RunRef, Workspace\nfrom octotui.storage.file_store import Store\n"
                f"w = Workspace(Store({str(workspace.store.path)!r}), load_playbook(), author='other')\n"
                "w.change_item(RunRef('release', 1, 'gate'), 3, 'toggle')\n")
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
        app.poll_store()  # what the one-second timer does
        await pilot.pause()
        assert table_rows(app)["REL-1:gate:3"][0] == "[x]"
        await pilot.press("space")  # our own change on top of theirs: both kept
    items = Workspace(Store(workspace.store.path), workspace.playbook).release(1).runs["gate"].items
    assert items[3].by == "other" and items[0].by == "tester"


async def test_restart_returns_to_the_same_run_and_row(workspace, make_app, clock):
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, release.id)
        select(app, "REL-1:deployment:3")
        await pilot.press("q")
    again = make_app(Workspace(Store(workspace.store.path), workspace.playbook, clock=clock, author="tester"))
    async with again.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert again.current_mode == "checklist"
        assert again.screen.query_one("#checklist").selected_key() == "REL-1:deployment:3"


async def test_long_and_hostile_notes_are_kept_and_shown_literally(workspace, make_app):
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    note = ("[link=http://x]click[/link] \x1b[2J " * 400)[:10_000]
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(app, pilot, release.id)
        await pilot.press("a")
        app.screen.query_one("#f-text").value = note
        await pilot.press("enter")
        assert workspace.run(RunRef("release", 1, "gate")).items[0].note == note.strip()
        detail = str(app.screen.query_one("#item-detail").render())
        assert "[link=http://x]click[/link]" in detail and "\x1b" not in detail


async def test_timeline_shows_checks_of_a_linked_hotfix(workspace, make_app, clock):
    incident = workspace.start_incident("Down", "P0")
    release = workspace.create_release(version="1.0.1", title="fix", hotfix=True, incident_id=incident.id)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "c")
        rows = table_rows(app)
        assert "INC-1:escalation:0" in rows and f"REL-{release.id}:hotfix:0" in rows
        select(app, "INC-1:escalation:0")
        await pilot.press("space")  # the app ticked it (severity at start): unchecking asks, then records who
        assert isinstance(app.screen, ConfirmScreen) and "checked by the app" in str(app.screen.question)
        await pilot.press("y")
        assert workspace.incident(1).timeline[-1].kind == "checklist"
        assert "overriding the app's tick" in workspace.incident(1).timeline[-1].text
        clock.advance(minutes=1)
        select(app, f"REL-{release.id}:hotfix:0")
        await pilot.press("space")
        last = workspace.incident(1).timeline[-1]
        assert last.kind == "checklist" and last.text.startswith(f"REL-{release.id} Hotfix Checklist: checked")
    assert workspace.incident(1).elapsed(clock.now()) == timedelta(minutes=1)


async def test_a_change_to_rel_12_does_not_reload_the_checklist_of_rel_1(workspace, make_app):
    """Changes name records exactly: REL-12 is not REL-1 (once matched by prefix, so REL-1's screen reloaded)."""
    for number in range(1, 13):
        workspace.create_release(version=f"1.{number}.0", title=f"r{number}")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, 1)
        screen = app.screen
        shown = screen.data_version
        app.run_command_async(workspace.change_item, RunRef("release", 12, "gate"), 0, "toggle")
        await app.commands.wait_idle()
        await pilot.pause()
        assert workspace.run(RunRef("release", 12, "gate")).items[0].state == ItemState.DONE, "it was saved"
        assert screen.data_version == shown, "REL-1's checklist is not told of REL-12"
        app.run_command_async(workspace.change_item, RunRef("release", 1, "gate"), 0, "toggle")
        await app.commands.wait_idle()
        await pilot.pause()
        assert screen.data_version == shown + 1, "its own release's change is"
        assert table_rows(app)["REL-1:gate:0"][0] == "[x]"


async def test_a_toggle_parses_its_release_once(workspace, make_app, monkeypatch):
    """The command reads it once; the view and the screen take the model it saved (they parsed it again each)."""
    workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, 1, row="REL-1:gate:0")
        for _ in range(400):  # past start-up's check of every record (it parses each release once, by design)
            if app._check_done and not app.commands.pending:
                break
            await asyncio.sleep(0.02)
            await pilot.pause()
        parsed: list[tuple[str, int]] = []
        original = Workspace._parse

        def counting(self, table, record_id, doc):
            parsed.append((table, record_id))
            return original(self, table, record_id, doc)

        monkeypatch.setattr(Workspace, "_parse", counting)
        await pilot.press("space")
        await app.commands.wait_idle()
        await pilot.pause()
        assert table_rows(app)["REL-1:gate:0"][0] == "[x]", "the screen shows the check"
        assert parsed == [("releases", 1)]
        await pilot.press("1")  # the board's row is the one the command derived
        await pilot.pause()
        assert parsed == [("releases", 1)]
