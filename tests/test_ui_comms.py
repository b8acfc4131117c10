"""Pilot tests: templates filled from live state, edited, and copied with one key."""

from datetime import timedelta

from octotui.comms.templates import render
from octotui.ui.forms import ChoiceScreen, EditTextScreen, FormScreen


def preview(app):
    return str(app.screen_stack[0].query_one("#preview").render())


def select_template(app, name):
    options = app.screen.query_one("#templates")
    options.highlighted = [option.id for option in options.options].index(name)


async def copied(app, pilot):
    """The copy runs in a worker; the record follows it (only once the text reached somewhere)."""
    await app.workers.wait_for_complete()
    await pilot.pause()


def ready_incident(workspace):
    incident = workspace.start_incident("Checkout errors", "P1", impact="3% of checkouts fail")
    workspace.set_current_actions(incident.id, "Rolling back 2.4.0")
    workspace.assign_role(incident.id, "comms", "devi")
    workspace.assign_role(incident.id, "tech", "sam")
    return incident


async def test_y_copies_the_initial_notification_then_updates_naming_the_due_time_it_set(workspace, make_app, clock, templates):
    incident = ready_incident(workspace)
    clock.advance(minutes=35)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        assert "UPDATE OVERDUE" in str(app.screen.query_one("#incident-clocks").render())
        await pilot.press("y")
        await copied(app, pilot)
        incident = workspace.incident(incident.id)
        due = workspace.next_update_due(incident)
        assert due == clock.now() + timedelta(minutes=30) and incident.last_update_at == clock.now()
        assert app.clipboard.startswith("[P1] INC-1: Checkout errors — Investigating\n\nWe are investigating")
        assert f"Next update time: {workspace.people_time(due)}" in app.clipboard, "the time the copy itself set"
        assert app.clipboard == render(templates["incident-initial"], incident, workspace).text
        await app.workers.wait_for_complete()
        await pilot.pause()
        clocks = str(app.screen.query_one("#incident-clocks").render())
        assert f"Next update   in 30:00 ({workspace.people_time(due, with_date=False)})" in clocks
        clock.advance(minutes=31)
        await pilot.press("y")  # overdue: the copy names the new due time, never one already past
        await copied(app, pilot)
        due = workspace.next_update_due(workspace.incident(incident.id))
        assert app.clipboard.startswith("[P1] INC-1 update: Checkout errors")
        assert f"Next update time: {workspace.people_time(due)}" in app.clipboard and due > clock.now()
        message = app.last_copy.message()
        fallback = workspace.store.path.with_name("octotui-clipboard.md")
        assert message.startswith(f"Written to {fallback}; emitted to the terminal (OSC 52, not confirmable)")
        line = workspace.incident(incident.id).timeline[-1].text
        assert line.startswith(f"Incident status update sent — written to {fallback}; emitted to the terminal "
                               "(OSC 52, not confirmable); next update by")


async def test_y_with_missing_values_asks_and_copy_anyway_is_recorded(workspace, make_app, clock):
    workspace.start_incident("x", "P0")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "y")
        assert isinstance(app.screen, ChoiceScreen) and "missing impact" in app.screen.title_text
        assert workspace.incident(1).last_update_at is None and app.clipboard == ""
        values = [value for value, _label in app.screen.choices]
        assert values[0] == "form" and values[-1] == "anyway"
        await pilot.press("end", "enter")
        await copied(app, pilot)
        assert "⟦impact⟧" in app.clipboard
        line = workspace.incident(1).timeline[-2].text
        assert line.startswith("Incident initial notification sent — written to ")
        assert "; with missing: impact, current_actions" in line


async def test_fill_now_opens_the_status_update_form_on_the_missing_field_and_copies(workspace, make_app, clock):
    workspace.start_incident("Checkout errors", "P0")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "y", "enter")
        form = app.screen
        assert isinstance(form, FormScreen) and form.focused.id == "f-impact"
        await pilot.press(*"3% of checkouts", "enter", *"Rolling back", "enter")
        incident = workspace.incident(1)
        assert incident.impact == "3% of checkouts" and incident.current_actions == "Rolling back"
        assert "Impact: 3% of checkouts" in app.clipboard and "⟦" not in app.clipboard.split("Tech lead")[0]
        assert any(e.kind == "update" for e in incident.timeline)


async def test_status_update_form_sets_status_impact_actions_and_the_next_update(workspace, make_app, clock):
    incident = ready_incident(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "y")  # the initial notification first
        clock.advance(minutes=10)
        await pilot.press("u")
        form = app.screen
        assert isinstance(form, FormScreen) and form.values()["impact"] == "3% of checkouts fail"
        form.set_value("status", "Identified")
        form.set_value("next_update", "15")
        form.set_value("current_actions", "Fix on staging")
        await pilot.press("ctrl+s")
        incident = workspace.incident(incident.id)
        assert incident.status.value == "Identified" and incident.current_actions == "Fix on staging"
        due = workspace.next_update_due(incident)
        assert due == clock.now() + timedelta(minutes=15)
        assert app.clipboard.startswith("[P1] INC-1 update: Checkout errors — Identified")
        assert "We have identified the cause" in app.clipboard
        assert f"Next update time: {workspace.people_time(due)}" in app.clipboard
        kinds = [e.kind for e in incident.timeline[-4:]]
        assert kinds == ["status", "actions", "update"] or kinds[-3:] == ["status", "actions", "update"]


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
        assert isinstance(app.screen, ChoiceScreen), "the other fields are still missing"
        await pilot.press("end", "enter")
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
    ready_incident(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        select_template(app, "incident-initial")
        clock.advance(minutes=3)
        await pilot.press("y")
        await copied(app, pilot)
        assert workspace.incident(1).last_update_at == clock.now()
        line = workspace.incident(1).timeline[-2].text
        assert line.startswith("Incident initial notification sent — written to ") and "; next update by" in line
        assert workspace.incident(1).timeline[-1].author == "auto", "the escalation item it satisfies is ticked"


async def test_escape_sequences_never_ride_along_in_a_copy(demo_workspace, make_app):
    demo_workspace.set_comms_text("incident", 1, "escalation", "help \x1b]52;c;ZXZpbA==\x07 \x1b[2J now")
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        select_template(app, "escalation")
        await pilot.press("y")
        assert app.clipboard == "help ␛]52;c;ZXZpbA==␇ ␛[2J now"


async def test_two_quick_enters_in_the_status_update_form_walk_to_the_end_and_save(demo_workspace, make_app):
    """A typist's Enter, Enter arrive before the first one's focus move is handled: the second is for the next
    field (here the last, so it saves), not a second Enter on the first field."""
    from textual import events

    app = make_app(demo_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("3", "u")
        before = len(demo_workspace.incident(1).timeline)
        for _ in range(2):
            app.post_message(events.Key("enter", "\r"))
        await pilot.pause()
        assert not isinstance(app.screen, FormScreen)
        await copied(app, pilot)
        added = [e.text for e in demo_workspace.incident(1).timeline[before:]]
        assert any(text.startswith("Incident status update sent — written to ") for text in added), added
