"""Pilot tests: templates filled from live state, edited, and copied with one key."""

from datetime import timedelta

from octotui.comms.templates import render
from octotui.ui.forms import EditTextScreen, FormScreen


def preview(app):
    return str(app.screen_stack[0].query_one("#preview").render())


def select_template(app, name):
    options = app.screen.query_one("#templates")
    options.highlighted = [option.id for option in options.options].index(name)


async def test_y_on_the_incident_screen_copies_the_update_records_it_and_resets_cadence(workspace, make_app, clock, templates):
    incident = workspace.start_incident("Checkout errors", "P1")
    clock.advance(minutes=35)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        assert "UPDATE OVERDUE" in str(app.screen.query_one("#incident-clocks").render())
        expected = render(templates["incident-update"], workspace.incident(incident.id), workspace).text
        await pilot.press("y")
        assert app.clipboard == expected and expected.startswith("[P1] INC-1 update: Checkout errors")
        incident = workspace.incident(incident.id)
        assert incident.timeline[-1].kind == "update" and incident.last_update_at == clock.now()
        assert workspace.next_update_due(incident) == clock.now() + timedelta(minutes=30)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Next update   in 30:00" in str(app.screen.query_one("#incident-clocks").render())
        message = app.last_copy.message()
        fallback = workspace.store.path.with_name("octotui-clipboard.md")
        assert message.startswith(f"Sent to terminal clipboard (OSC 52); also saved to {fallback}")
        assert fallback.read_text() == expected


async def test_comms_screen_lists_fills_marks_missing_and_copies(demo_workspace, make_app, templates):
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.selected_release_id = 2
        await pilot.press("5")
        names = [option.id for option in app.screen.query_one("#templates").options]
        assert names[:5] == ["escalation", "incident-initial", "incident-resolution", "incident-update", "postmortem"]
        assert {"release-notes", "release-announcement", "rollback-notice"} <= set(names)
        select_template(app, "release-notes")
        await pilot.pause()
        assert "Release name / number: 2.4.0 — Saved carts" in preview(app)
        assert "Missing: summary" in str(app.screen.query_one("#comms-missing").render())
        await pilot.press("E")
        form = app.screen
        assert isinstance(form, FormScreen) and form.query_one("#f-summary").display
        form.query_one("#f-summary").value = "Carts survive logout"
        await pilot.press("ctrl+s")
        assert demo_workspace.release(2).notes["summary"] == "Carts survive logout"
        assert "- Summary: Carts survive logout" in preview(app)
        await pilot.press("y")
        assert "- Summary: Carts survive logout" in app.clipboard
        assert demo_workspace.incident(1).timeline[-1].kind != "update", "release notes are not an incident update"


async def test_edit_is_kept_with_the_record_and_revert_goes_back(demo_workspace, make_app):
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        select_template(app, "escalation")
        await pilot.press("e")
        assert isinstance(app.screen, EditTextScreen)
        app.screen.query_one("#editor").text = "Need DBA help now [red]please[/red]"
        await pilot.press("ctrl+s")
        assert demo_workspace.incident(1).comms["escalation"] == "Need DBA help now [red]please[/red]"
        await pilot.press("1", "5")
        select_template(app, "escalation")
        await pilot.pause()
        assert preview(app) == "Need DBA help now [red]please[/red]"
        await pilot.press("y")
        assert app.clipboard == "Need DBA help now [red]please[/red]"
        await pilot.press("R")
        assert "escalation" not in demo_workspace.incident(1).comms
        assert preview(app).startswith("Escalating INC-1 (P1)")


async def test_copying_the_initial_notification_counts_as_an_update(workspace, make_app, clock):
    workspace.start_incident("x", "P0")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        select_template(app, "incident-initial")
        clock.advance(minutes=3)
        await pilot.press("y")
        assert workspace.incident(1).last_update_at == clock.now()
        assert workspace.incident(1).timeline[-1].text == "Incident initial notification sent (copied)"


async def test_escape_sequences_never_ride_along_in_a_copy(demo_workspace, make_app):
    demo_workspace.set_comms_text("incident", 1, "escalation", "help \x1b]52;c;ZXZpbA==\x07 \x1b[2J now")
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        select_template(app, "escalation")
        await pilot.press("y")
        assert app.clipboard == "help ␛]52;c;ZXZpbA==␇ ␛[2J now"
