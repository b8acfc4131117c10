"""Pilot tests: capture a decision from anywhere, find it, edit it, supersede it."""

import threading

from octotui.domain.models import DecisionStatus
from octotui.domain.search import DecisionIndex
from octotui.services.workspace import RunRef
from octotui.ui.forms import ConfirmScreen, FormScreen
from octotui.ui.screens.decisions import PAGE_SIZE, DecisionDetailScreen


def log_rows(app):
    table = app.screen_stack[0].query_one("#decisions")
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_D_from_the_checklist_prefills_release_and_item_not_the_unrelated_incident(workspace, make_app):
    workspace.start_incident("Down", "P1")
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.selected_release_id, app.checklist_owner = release.id, ("release", release.id)
        await pilot.press("2", "j", "D")
        form = app.screen
        assert isinstance(form, FormScreen) and app.focused.id == "f-context", "the title is prefilled: not focused"
        assert form.query_one("#f-title").value == "Passing CI and security scans"
        assert form.query_one("#f-links").value == "REL-1"  # the open incident is not this gate's (issue 29)
        assert form.query_one("#f-owner").value == "tester"
        await pilot.press("enter", *"Skip the scan", "enter")
        assert app.focused.id == "f-alternatives", "Enter moves to the next field"
        await pilot.press("ctrl+s")
        decision = workspace.decision(1)
        assert decision.decision == "Skip the scan" and decision.release_ids == [1] and decision.incident_ids == []
        assert workspace.run(RunRef("release", 1, "gate")).items[1].decision_id == 1


async def test_empty_title_and_decision_are_refused_inline_and_escape_asks(workspace, make_app):
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4", "n")
        await pilot.press("ctrl+s")
        form = app.screen
        assert "Title is required" in str(form.query_one("#e-title").render())
        assert "The decision is required" in str(form.query_one("#e-decision").render())
        await pilot.press(*"half typed", "escape")
        assert isinstance(app.screen, ConfirmScreen), "Escape asks before throwing away typed text"
        await pilot.press("n")
        assert app.screen is form and form.query_one("#f-title").value == "half typed"
        await pilot.press("escape", "y")
        assert workspace.decisions() == {}


async def test_search_filter_open_and_jump(demo_workspace, make_app):
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4")
        assert [row[0] for row in log_rows(app)] == ["DEC-3", "DEC-2", "DEC-1"]
        await pilot.press("slash", *"semver")
        assert [row[0] for row in log_rows(app)] == ["DEC-2"]
        await pilot.press("escape", "f")  # proposed only
        assert [row[0] for row in log_rows(app)] == ["DEC-3"]
        await pilot.press("f", "f", "f", "f", "f", "l", *"REL-2", "enter")  # accepted … superseded, then all
        assert [row[0] for row in log_rows(app)] == ["DEC-1"]
        await pilot.press("enter")
        assert isinstance(app.screen, DecisionDetailScreen)
        app.screen.query_one("#go-REL-2").press()
        await pilot.pause()
        assert app.current_mode == "board" and app.selected_release_id == 2


async def test_edit_keeps_history_and_supersede_links_both_ways(demo_workspace, make_app):
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4", "e")
        app.screen.query_one("#f-decision").value = "Roll back first, always"
        await pilot.press("ctrl+s")
        edited = demo_workspace.decision(3)
        assert edited.decision == "Roll back first, always" and edited.history[-1].author == "tester"
        await pilot.press("S")
        app.screen.query_one("#f-title").value = "Roll back first only for P0/P1"
        app.screen.query_one("#f-decision").value = "P2 and below: investigate first"
        await pilot.press("ctrl+s")
        old, new = demo_workspace.decision(3), demo_workspace.decision(4)
        assert old.status is DecisionStatus.SUPERSEDED and old.superseded_by == 4 and new.supersedes == 3
        assert log_rows(app)[1][3] == "superseded by DEC-4"
        assert app.screen_stack[0].selected().id == 3
        await pilot.press("S")
        assert app.screen is app.screen_stack[0], "superseding twice is refused with a message"


async def test_ten_thousand_decisions_show_a_page_and_load_more(workspace, make_app, tmp_path):
    from tests_support import bulk_decisions
    bulk_decisions(workspace, 10_000)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4")
        table = app.screen.query_one("#decisions")
        assert table.row_count == PAGE_SIZE and "10,000 of 10,000 decisions" in str(app.screen.query_one("#decision-filters").render())
        table.move_cursor(row=PAGE_SIZE - 1)
        await pilot.pause()
        assert table.row_count == 2 * PAGE_SIZE


async def test_marking_superseded_by_an_existing_decision_refuses_self_and_cycles(workspace, make_app):
    a = workspace.record_decision(title="a", decision="a")
    b = workspace.record_decision(title="b", decision="b")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4")  # cursor on DEC-2 (newest first)
        await pilot.press("B", *"DEC-2", "enter")
        assert "cannot supersede itself" in str(app.screen.query_one("#e-text").render())
        app.screen.query_one("#f-text").value = "DEC-1"
        await pilot.press("enter")
        assert workspace.decision(b.id).superseded_by == a.id and workspace.decision(a.id).supersedes == b.id
        await pilot.press("j", "B", *"DEC-2", "enter")
        assert "cycle" in str(app.screen.query_one("#e-text").render())


async def test_the_decision_log_is_indexed_off_the_event_loop_after_each_change(workspace, make_app, monkeypatch):
    """Indexing every decision is O(n): at 27k decisions it held the loop for a frame after each one recorded."""
    workspace.record_decision(title="first", decision="a")
    built_on: list[threading.Thread] = []
    original = DecisionIndex.__init__

    def spy(self, decisions):
        built_on.append(threading.current_thread())
        original(self, decisions)

    monkeypatch.setattr(DecisionIndex, "__init__", spy)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4")
        await app.commands.wait_idle()
        await pilot.pause()
        app.run_command_async(workspace.record_decision, title="second", decision="b")
        await app.commands.wait_idle()
        await pilot.pause()
        await app.commands.wait_idle()  # the index the change asked for
        await pilot.pause()
        assert "2 of 2 decisions" in str(app.screen.query_one("#decision-filters").render())
        assert len(built_on) == 2 and threading.main_thread() not in built_on


async def test_an_empty_decision_log_reads_once_and_then_rests(workspace, make_app):
    """Before, an empty log asked for a new index on every reload: `decisions()` handed back a fresh `{}` each
    time, never the one indexed, so each index that arrived ordered the next (one CPU core at 100%)."""
    assert workspace.decisions() is workspace.decisions()
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        submitted: list[str] = []
        submit = app.commands.submit

        def counting(command, *args, **kwargs):
            submitted.append(getattr(command, "__name__", "?"))
            return submit(command, *args, **kwargs)

        app.commands.submit = counting
        await pilot.press("4")
        for _ in range(5):
            await app.commands.wait_idle(timeout=5)
            await pilot.press("escape")  # a key: the loop turns and delivers what a worker posted
        assert submitted.count("index_decisions") == 1
        assert "No decisions yet" in str(app.screen.query_one("#decision-filters").render())
