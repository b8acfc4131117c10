"""Pilot tests: the on-call engineer's incident screen, with an injected clock."""

from datetime import timedelta

from octotui.domain.models import IncidentStatus
from octotui.services.workspace import Workspace
from octotui.storage.file_store import Store
from octotui.ui.forms import ChoiceScreen, ConfirmScreen, FormScreen
from octotui.ui.widgets import status_text


def screen_text(app, widget_id):
    return str(app.screen_stack[0].query_one(widget_id).render())


async def test_i_title_enter_starts_the_clock_from_any_screen(workspace, make_app, clock):
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4", "i")
        assert isinstance(app.screen, FormScreen) and app.focused.id == "f-title"
        await pilot.press(*"Checkout 500s", "up")  # one key: P1 -> P0, without leaving the title
        assert app.screen.query_one("#f-severity").value == "P0"
        await pilot.press("enter")
        incident = workspace.incidents()[0]
        assert (incident.title, incident.severity.value, incident.started_at) == ("Checkout 500s", "P0", clock.now())
        assert app.current_mode == "incident"
        clock.advance(minutes=3, seconds=7)
        app.screen.tick()
        assert app.screen.query_one("#clock").value == "00:03:07"


async def test_severity_is_also_one_tab_away(workspace, make_app):
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("i", *"x", "shift+tab", "shift+tab")
        assert app.focused.id == "f-severity"
        await pilot.press("tab", "tab", "down", "down", "enter")
        assert workspace.incidents()[0].severity.value == "P3"


async def test_backdated_start_and_bad_input(workspace, make_app, clock):
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("i", "enter")
        assert "Title is required" in str(app.screen.query_one("#e-title").render())
        await pilot.press(*"DB failover", "shift+tab", *"in 5 minutes", "ctrl+s")
        assert "cannot read" in str(app.screen.query_one("#e-started").render())
        app.screen.query_one("#f-started").value = "12 minutes ago"
        await pilot.press("ctrl+s")
        assert workspace.incidents()[0].started_at == clock.now() - timedelta(minutes=12)
        assert app.screen.query_one("#clock").value == "00:12:00"


async def test_status_advances_with_s_enter_and_sets_milestones(workspace, make_app, clock):
    incident = workspace.start_incident("x", "P1")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        for expected in ("Identified", "Mitigated", "Monitoring"):
            clock.advance(minutes=5)
            await pilot.press("s")
            assert isinstance(app.screen, ChoiceScreen)
            await pilot.press("enter")
            assert workspace.incident(incident.id).status.value == expected
        text = screen_text(app, "#incident-clocks")
        assert "Monitoring    30:00 left" in text
        assert "Acknowledged  2026-11-26 12:05  (+00:05:00)" in text
        clock.advance(minutes=40)
        app.screen.tick()
        assert "UPDATE OVERDUE" in screen_text(app, "#incident-clocks")
        await pilot.press("s", "enter")
        assert isinstance(app.screen, ConfirmScreen), "resolving with the window and escalation items open asks"
        assert "8 of 10 escalation items are open" in str(app.screen.question)
        await pilot.press("y")
        assert workspace.incident(incident.id).status is IncidentStatus.RESOLVED
        assert isinstance(app.screen, ConfirmScreen) and "resolution notice" in str(app.screen.question)
        await pilot.press("n")
        frozen = app.screen.query_one("#clock").value
        clock.advance(hours=2)
        app.screen.tick()
        assert app.screen.query_one("#clock").value == frozen == "00:55:00"
        assert "Retro due" in screen_text(app, "#incident-clocks")


async def test_overdue_rings_the_bell_once(workspace, make_app, clock):
    workspace.start_incident("x", "P0")
    app = make_app(workspace)
    rings = []
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        clock.advance(minutes=16)
        app._tick()
        app._tick()
        assert rings == [1]
        assert "UPDATE OVERDUE" in status_text(app).plain


async def test_the_overdue_bell_rings_on_any_screen_once_and_can_be_turned_off(workspace, make_app, clock):
    workspace.start_incident("x", "P0")
    app = make_app(workspace)
    rings = []
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("1")  # the board, not the incident screen
        clock.advance(minutes=16)
        app._tick()
        app._tick()
        assert rings == [1], "once per overdue"
        workspace.snooze_update(1)
        clock.advance(minutes=6)
        app._tick()
        assert rings == [1, 1], "a new promise missed rings again"
        workspace.settings = workspace.settings.model_copy(update={"bell": False})
        workspace.snooze_update(1)
        clock.advance(minutes=6)
        app._tick()
        assert rings == [1, 1]


async def test_at_80x24_the_countdown_stays_visible_above_a_modal(workspace, make_app, clock):
    from octotui.ui.widgets import StatusLine

    workspace.start_incident("Payments API times out", "P0")
    workspace.start_incident("Search is slow for every EU customer right now", "P2")
    clock.advance(minutes=16)
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        for keys in (("D",), ("escape", "3", "u"), ("escape", "1", "n")):
            await pilot.press(*keys)
            status = app.screen_stack[0].query_one(StatusLine)
            assert "OVERDUE" in status_text(app, 80).plain
            modal = app.screen.query_one(".form, .dialog")
            assert modal.region.y >= status.region.bottom, (keys, status.region, modal.region)


async def test_timeline_times_carry_the_zone(workspace, make_app, clock):
    workspace.settings = workspace.settings.model_copy(update={"timezone": "Europe/Berlin"})
    workspace.start_incident("x", "P2")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        table = app.screen.query_one("#timeline")
        first = str(table.get_row_at(0)[0])
        assert first == "11-26 13:00 CET", first


async def test_the_palette_finds_resolve_and_postmortem(workspace, make_app, clock):
    workspace.start_incident("x", "P2")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert "incident: resolve" in titles and "comms: postmortem" in titles
        app.run_command("incident", "resolve")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.screen.focused.id == "no"
        await pilot.press("enter")
        assert workspace.incident(1).open
        app.run_command("comms", "postmortem")
        await pilot.pause()
        assert app.screen.query_one("#templates").highlighted_option.id == "postmortem"
        assert "# Postmortem: INC-1" in str(app.screen.query_one("#preview").render())


async def test_timeline_note_from_any_screen_newest_first(workspace, make_app, clock):
    workspace.start_incident("x", "P2")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("1", "t", *"first note", "enter")
        clock.advance(minutes=2)
        await pilot.press("t", *"[bold]second[/] note", "shift+tab", *"1 minute ago", "ctrl+s")
        await pilot.press("3")
        timeline = app.screen.query_one("#timeline")
        texts = [timeline.get_row_at(i)[3].plain for i in range(timeline.row_count)]
        assert texts[:2] == ["[bold]second[/] note", "first note"]
        await pilot.press("t", "enter")
        assert "A note is required" in str(app.screen.query_one("#e-note").render())


async def test_status_line_on_other_screens(workspace, make_app, clock):
    workspace.start_incident("x", "P1", started_at=clock.now() - timedelta(minutes=4, seconds=5))
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        for key in "1245":
            await pilot.press(key)
            app.screen.query_one("StatusLine").refresh_status()
            line = str(app.screen.query_one("#status-text").render())
            assert "INC-1 P1 00:04:05 Investigating  next update in 25:55" in line


async def test_roles_severity_and_handoff(workspace, make_app):
    workspace.start_incident("x", "P2")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "o", "enter", *"ana", "enter")
        await pilot.press("o", "enter")
        app.screen.query_one("#f-text").value = "bo"
        await pilot.press("enter", "v", "up", "enter")
        incident = workspace.incident(1)
        assert incident.roles["commander"] == "bo" and incident.severity.value == "P1"
        assert "Incident commander handed from ana to bo" in [e.text for e in incident.timeline]


async def test_two_open_incidents_switch(workspace, make_app, clock):
    workspace.start_incident("first", "P2")
    workspace.start_incident("second", "P1")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        assert app.screen.query_one("#incident-list").display
        first = app.active_incident_id
        await pilot.press("right_square_bracket")
        assert app.active_incident_id != first
        assert f"INC-{app.active_incident_id}" in screen_text(app, "#incident-summary")
        clock.advance(minutes=7)
        app.screen.tick()
        listing = app.screen.query_one("#incident-list")
        assert {listing.get_row_at(i)[3].plain for i in range(listing.row_count)} == {"00:07:00"}


async def test_clock_survives_a_restart(workspace, make_app, clock):
    workspace.start_incident("x", "P1", started_at=clock.now() - timedelta(minutes=30))
    clock.advance(hours=1)  # the app was closed meanwhile
    app = make_app(Workspace(Store(workspace.store.path), workspace.playbook, clock=clock))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        assert app.screen.query_one("#clock").value == "01:30:00"


async def test_milestone_backdating_refuses_disorder(workspace, make_app, clock):
    workspace.start_incident("x", "P1", started_at=clock.now() - timedelta(minutes=30))
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "m", "down", "down", "down", "enter")  # Resolved
        app.screen.query_one("#f-text").value = "45 minutes ago"
        await pilot.press("enter")
        assert "cannot be before Started" in str(app.screen.query_one("#e-text").render())
        app.screen.query_one("#f-text").value = "10 minutes ago"
        await pilot.press("enter")
        assert workspace.incident(1).resolved_at == clock.now() - timedelta(minutes=10)


async def test_hotfix_from_the_incident_is_linked_and_its_run_shows_with_the_incident(workspace, make_app):
    workspace.start_incident("Payments down", "P0")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "H")
        form = app.screen
        assert form.query_one("#f-incident").value == "INC-1"
        assert form.query_one("#f-version").value == "", "nothing in production: the form asks, never invents"
        form.query_one("#f-version").value = "1.0.0"
        form.query_one("#f-title").value = "Fix payments timeout"
        await pilot.press("ctrl+s")
        release = workspace.releases()[0]
        assert release.hotfix and release.incident_ids == [1] and workspace.incident(1).release_ids == [release.id]
        await pilot.press("c")
        table = app.screen.query_one("#checklist")
        assert f"h:REL-{release.id}:hotfix" in [key.value for key in table.rows]
