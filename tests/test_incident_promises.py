"""Promises kept or visibly missed, and wording that follows the incident's state (issue 28)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from octotui.comms.templates import render
from octotui.ui.forms import ChoiceScreen


def ready_incident(workspace, severity="P1"):
    incident = workspace.start_incident("Checkout errors", severity, impact="3% of checkouts fail")
    workspace.set_current_actions(incident.id, "Rolling back 2.4.0")
    workspace.assign_role(incident.id, "comms", "devi")
    workspace.assign_role(incident.id, "tech", "sam")
    return incident


async def settle(app, pilot):
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_a_severity_change_never_moves_a_promise_already_made(workspace, make_app, clock):
    incident = ready_incident(workspace, "P0")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "y")
        await settle(app, pilot)
        promised = workspace.next_update_due(workspace.incident(incident.id))
        assert promised == clock.now() + timedelta(minutes=15)
        assert f"Next update time: {workspace.people_time(promised)}" in app.clipboard
        workspace.set_severity(incident.id, "P1")
        assert workspace.next_update_due(workspace.incident(incident.id)) == promised, "stakeholders wait for 12:15"
        clock.advance(minutes=5)
        await pilot.press("y")  # the next promise follows the new cadence
        await settle(app, pilot)
        assert workspace.next_update_due(workspace.incident(incident.id)) == clock.now() + timedelta(minutes=30)


@pytest.mark.both_backends
def test_snooze_records_a_new_promise_and_keeps_the_missed_one_visible(workspace, clock, templates):
    incident = ready_incident(workspace)  # P1: the first update is due at 12:30
    clock.advance(minutes=44)  # 14 min overdue
    saved = workspace.snooze_update(incident.id)
    assert workspace.next_update_due(saved) == clock.now() + timedelta(minutes=5)
    promise, snooze = saved.timeline[-2:]
    assert promise.kind == "promise" and promise.text == "Update promised by 12:30 UTC missed (14 min overdue when snoozed)"
    assert snooze.text == "Next update moved to 12:49 UTC — was 12:30 UTC"
    escalation = render(templates["escalation"], saved, workspace).text
    assert "Next update: 2026-11-26 12:49 UTC" in escalation, "the next text names the new promise"
    postmortem = render(templates["postmortem"], saved, workspace).text
    assert "## Promised updates missed\n- 2026-11-26 12:44 UTC Update promised by 12:30 UTC missed" in postmortem
    clock.advance(minutes=1)
    again = workspace.snooze_update(incident.id)  # not overdue: the promise moves on from itself, nothing missed
    assert workspace.next_update_due(again) == clock.now() + timedelta(minutes=9)
    assert [e.kind for e in again.timeline].count("promise") == 1


async def test_the_incident_screen_keeps_a_missed_promise_in_sight(workspace, make_app, clock):
    incident = ready_incident(workspace)
    clock.advance(minutes=44)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "z")
        await settle(app, pilot)
        clocks = str(app.screen.query_one("#incident-clocks").render())
        assert "in 05:00" in clocks and "Missed        1 promised update" in clocks
        assert [str(n.message) for n in app._notifications][-1].startswith("Next update moved to 12:49 UTC — was 12:30")
    assert workspace.incident(incident.id).timeline[-1].kind == "snooze"


async def test_an_update_sent_late_notes_the_missed_promise(workspace, make_app, clock):
    incident = ready_incident(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "y")
        await settle(app, pilot)
        clock.advance(minutes=38)
        await pilot.press("y")
        await settle(app, pilot)
    texts = [e.text for e in workspace.incident(incident.id).timeline if e.kind == "promise"]
    assert texts == ["Update promised by 12:30 UTC missed: sent 8 min late"]


@pytest.mark.both_backends
def test_a_text_rendered_after_its_promise_never_prints_a_past_time_as_future(workspace, clock, templates):
    incident = ready_incident(workspace)
    clock.advance(minutes=47)
    filled = render(templates["escalation"], workspace.incident(incident.id), workspace)
    assert "Next update: overdue (was due 2026-11-26 12:30 UTC); next update by 2026-11-26 13:17 UTC" in filled.text
    assert filled.problems == ["the promised update time 2026-11-26 12:30 UTC has passed: the update is overdue"]
    update = render(templates["incident-update"], workspace.incident(incident.id), workspace)
    assert "Next update time: overdue (was due" in update.text and update.problems


@pytest.mark.both_backends
def test_the_escalation_message_names_the_channel_when_set(workspace, templates):
    incident = ready_incident(workspace)
    assert "Please join the incident channel." in render(templates["escalation"], incident, workspace).text
    saved = workspace.set_channel(incident.id, "#inc-checkout-500")
    text = render(templates["escalation"], saved, workspace).text
    assert "Please join #inc-checkout-500." in text and "the incident channel." not in text


async def test_no_resolution_wording_for_an_incident_that_is_not_resolved(workspace, make_app, clock, templates):
    incident = ready_incident(workspace)
    workspace.set_status(incident.id, "Mitigated")
    mitigated = workspace.incident(incident.id)
    filled = render(templates["incident-resolution"], mitigated, workspace)
    assert "[Resolved]" not in filled.text and "is resolved" not in filled.text
    assert filled.problems and "is Mitigated, not Resolved" in filled.problems[0]
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        options = app.screen.query_one("#templates")
        options.highlighted = [option.id for option in options.options].index("incident-resolution")
        await pilot.pause()
        note = str(app.screen.query_one("#comms-missing").render())
        assert "All values filled" not in note and "not Resolved" in note
        await pilot.press("y")
        assert isinstance(app.screen, ChoiceScreen), "y offers the status update instead"
        assert [value for value, _label in app.screen.choices][0] == "update"
        await pilot.press("enter")
        await settle(app, pilot)
    saved = workspace.incident(incident.id)
    sent = [e.text for e in saved.timeline if e.kind == "update"]
    assert len(sent) == 1 and sent[0].startswith("Incident status update sent — ")
    run = saved.runs["escalation"]
    assert all(item.state.value == "todo" for item in run.items if item.auto == "resolution")


@pytest.mark.both_backends
def test_all_values_filled_only_when_true(workspace, clock, templates):
    incident = ready_incident(workspace)
    clock.advance(minutes=31)
    filled = render(templates["escalation"], workspace.incident(incident.id), workspace)
    assert not filled.missing and filled.problems, "every value is there, but one is no longer true"


@pytest.mark.both_backends
def test_lowering_severity_while_overdue_keeps_the_missed_promise(workspace, clock, templates):
    incident = ready_incident(workspace, "P0")  # the first update is due at 12:15
    clock.advance(minutes=40)
    saved = workspace.set_severity(incident.id, "P3")  # P3 has no cadence: the promise made stays overdue
    assert workspace.next_update_due(saved) == clock.now() - timedelta(minutes=25)
    assert saved.timeline[-1].text == "Severity: P0 → P3; the update promised by 12:15 UTC is still overdue (25 min)"
    assert any("12:15 UTC is overdue" in c for c in workspace.resolve_concerns(saved))
    postmortem = render(templates["postmortem"], saved, workspace).text
    assert "Update promised by 2026-11-26 12:15 UTC is overdue (not sent yet)" in postmortem
    resolved = workspace.set_status(incident.id, "Resolved", confirm=True)
    assert [e.text for e in resolved.timeline if e.kind == "promise"] == [
        "Update promised by 12:15 UTC missed (resolved without it)"]
    assert "None: every promised update" not in render(templates["postmortem"], resolved, workspace).text


@pytest.mark.both_backends
def test_a_severity_change_while_overdue_never_moves_the_promise(workspace, clock):
    incident = ready_incident(workspace, "P0")
    clock.advance(minutes=40)
    saved = workspace.set_severity(incident.id, "P2")  # not start + 60 min: 12:15 stays overdue
    assert workspace.next_update_due(saved) == clock.now() - timedelta(minutes=25)


@pytest.mark.both_backends
def test_a_snoozed_promise_still_open_at_resolve_is_missed(workspace, clock, templates):
    incident = ready_incident(workspace, "P0")
    workspace.acknowledge(incident.id)
    workspace.record_sent(incident.id, "Status update", counts_as_update=True,
                          names_due=clock.now() + timedelta(minutes=15))
    clock.advance(minutes=2)
    snoozed = workspace.snooze_update(incident.id)
    assert snoozed.timeline[-1].text == "Next update moved to 12:20 UTC — was 12:15 UTC"
    clock.advance(minutes=3)
    concerns = workspace.resolve_concerns(workspace.incident(incident.id))
    assert "the update promised by 12:20 UTC is still open (recorded as missed)" in concerns
    assert not any("still open" in c for c in workspace.resolve_concerns(snoozed, sending=True))
    resolved = workspace.set_status(incident.id, "Resolved", confirm=True)
    assert [e.text for e in resolved.timeline if e.kind == "promise"] == [
        "Update promised by 12:20 UTC missed (still open at resolve)"]
    postmortem = render(templates["postmortem"], resolved, workspace).text
    assert "## Promised updates missed\n- 2026-11-26 12:05 UTC Update promised by 12:20 UTC missed (still open" in postmortem
