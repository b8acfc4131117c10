"""The incident record tells the truth: links both ways, auto-ticked escalation items, one monitoring window,
one retro deadline, acknowledge, resolve that asks, and a status line that keeps every overdue incident."""

from __future__ import annotations

from datetime import timedelta

import pytest

from octotui.domain.inputs import InputError, NeedsConfirmation
from octotui.domain.models import AUTO_AUTHOR, ItemState
from octotui.services.workspace import RunRef
from octotui.ui.widgets import status_text

pytestmark = pytest.mark.both_backends  # the service suite runs on both backends


def shipped(workspace, version="2.4.0"):
    release = workspace.create_release(version=version, title="Saved carts")
    for index in range(6):
        workspace.change_item(RunRef("release", release.id, "gate"), index, "toggle")
    for index in range(4):
        workspace.change_item(RunRef("release", release.id, "deployment"), index, "toggle")
    return release


def escalation_item(workspace, incident_id, fact):
    run = workspace.run(RunRef("incident", incident_id, "escalation"))
    return next(item for item in run.items if item.auto == fact)


def test_the_app_ticks_what_it_saw_done_and_a_person_can_untick(workspace):
    incident = workspace.start_incident("x", "P2")
    assert escalation_item(workspace, incident.id, "severity").by == AUTO_AUTHOR
    assert escalation_item(workspace, incident.id, "severity").cause == "started as P2"
    assert escalation_item(workspace, incident.id, "roles").state is ItemState.TODO, "only the commander so far"
    workspace.assign_role(incident.id, "comms", "devi")
    workspace.assign_role(incident.id, "tech", "sam")
    assert escalation_item(workspace, incident.id, "roles").state is ItemState.DONE
    workspace.set_channel(incident.id, "#inc-1")
    assert escalation_item(workspace, incident.id, "channel").cause == "channel #inc-1 noted"
    workspace.record_sent(incident.id, "Incident initial notification", counts_as_update=True, fact="update")
    assert escalation_item(workspace, incident.id, "update").state is ItemState.DONE
    ref = RunRef("incident", incident.id, "escalation")
    run = workspace.run(ref)
    index = next(i for i, item in enumerate(run.items) if item.auto == "channel")
    with pytest.raises(NeedsConfirmation, match=r"checked by the app \(channel #inc-1 noted\).*your override"):
        workspace.change_item(ref, index, "toggle")  # a person disagrees: asked first
    workspace.change_item(ref, index, "toggle", confirm=True)
    workspace.set_channel(incident.id, "#inc-1-war-room")
    assert workspace.run(ref).items[index].state is ItemState.TODO, "never re-ticked over a person's untick"
    timeline = [e for e in workspace.incident(incident.id).timeline if e.author == AUTO_AUTHOR]
    assert any("Assign roles" in e.text and "all three roles assigned" in e.text for e in timeline)
    override = [e for e in workspace.incident(incident.id).timeline if "overriding the app's tick" in e.text]
    assert len(override) == 1 and override[0].author == "tester"
    assert override[0].text.endswith("(overriding the app's tick: channel #inc-1 noted)")


def test_the_commander_named_at_start_ticks_its_item(workspace):
    incident = workspace.start_incident("x", "P2")
    item = escalation_item(workspace, incident.id, "commander")
    assert item.text == "Notify on-call and name an incident commander"
    assert item.state is ItemState.DONE and item.by == AUTO_AUTHOR
    assert item.cause == "tester named incident commander at start"


def test_link_and_unlink_an_incident_and_a_release_both_ways(workspace):
    release = shipped(workspace)
    incident = workspace.start_incident("x", "P1")
    workspace.link_release(incident.id, release.id)
    assert workspace.incident(incident.id).release_ids == [release.id]
    assert workspace.release(release.id).incident_ids == [incident.id]
    with pytest.raises(InputError, match="already linked"):
        workspace.link_release(incident.id, release.id)
    with pytest.raises(InputError, match="REL-99 does not exist"):
        workspace.link_release(incident.id, 99)
    workspace.unlink_release(incident.id, release.id)
    assert workspace.incident(incident.id).release_ids == [] and workspace.release(release.id).incident_ids == []
    texts = [e.text for e in workspace.incident(incident.id).timeline if e.kind == "link"]
    assert texts == ["Linked to REL-1 2.4.0", "Unlinked from REL-1 2.4.0"]


def test_rollback_events_land_on_the_incident_it_serves_and_only_there(workspace):
    release = shipped(workspace)
    first = workspace.start_incident("Search slow", "P2")
    second = workspace.start_incident("Checkout errors", "P1")
    workspace.link_release(first.id, release.id)  # linked earlier for another reason
    workspace.start_rollback(release.id, "5xx", incident_id=second.id)
    workspace.change_item(RunRef("release", release.id, "rollback"), 0, "toggle")
    about_rollback = lambda incident_id: [e.text for e in workspace.incident(incident_id).timeline  # noqa: E731
                                          if "Rollback" in e.text]
    assert len(about_rollback(second.id)) == 2 and about_rollback(first.id) == []
    assert workspace.release(release.id).incident_ids == [first.id, second.id]
    assert [ref.role for ref in workspace.incident_runs(workspace.incident(second.id))] == ["escalation", "rollback"]
    assert [ref.role for ref in workspace.incident_runs(workspace.incident(first.id))] == ["escalation"]
    resolved = workspace.start_incident("old", "P3")
    workspace.set_status(resolved.id, "Resolved", confirm=True)
    other = shipped(workspace, "2.5.0")
    with pytest.raises(InputError, match="is resolved"):
        workspace.start_rollback(other.id, "x", incident_id=resolved.id)


def test_decision_links_edited_update_both_sides(workspace):
    release = shipped(workspace)
    one = workspace.start_incident("one", "P1")
    two = workspace.start_incident("two", "P1")
    decision = workspace.record_decision(title="Roll back", decision="Roll back first", links=f"{one.key}")
    workspace.edit_decision(decision.id, links=f"{two.key}, {release.key}")
    assert workspace.incident(one.id).decision_ids == []
    assert workspace.incident(two.id).decision_ids == [decision.id]
    assert workspace.release(release.id).decision_ids == [decision.id]
    assert escalation_item(workspace, two.id, "decision").state is ItemState.DONE
    with pytest.raises(InputError, match="unknown link.*INC-42"):
        workspace.edit_decision(decision.id, links="INC-42")


def test_title_current_actions_and_channel_reach_the_timeline(workspace):
    incident = workspace.start_incident("Checkout slow", "P2")
    workspace.set_title(incident.id, "Checkout errors")
    workspace.set_current_actions(incident.id, "Rolling back")
    texts = [e.text for e in workspace.incident(incident.id).timeline]
    assert "Title: “Checkout slow” → “Checkout errors”" in texts and "Current actions: Rolling back" in texts
    assert workspace.incident(incident.id).title == "Checkout errors"


def test_acknowledge_sets_the_milestone_once_and_keeps_the_status(workspace, clock):
    incident = workspace.start_incident("x", "P0")
    clock.advance(minutes=2)
    workspace.acknowledge(incident.id)
    acknowledged = workspace.incident(incident.id)
    assert acknowledged.acknowledged_at == clock.now() and acknowledged.status.value == "Investigating"
    assert acknowledged.timeline[-1].text == "Acknowledged by tester"
    with pytest.raises(InputError, match="was acknowledged at"):
        workspace.acknowledge(incident.id)


def test_resolving_with_work_open_asks_and_writes_the_retro_deadline(workspace, clock):
    incident = workspace.start_incident("x", "P1")
    workspace.set_status(incident.id, "Monitoring")
    with pytest.raises(NeedsConfirmation, match="(?s)monitoring window is still open .* escalation items are open"):
        workspace.set_status(incident.id, "Resolved")
    assert workspace.incident(incident.id).open, "nothing changed"
    workspace.set_status(incident.id, "Resolved", confirm=True)
    retro = workspace.retro_deadline(workspace.incident(incident.id))
    assert retro == clock.now() + timedelta(hours=48)
    assert workspace.incident(incident.id).timeline[-1].text == \
        f"Retrospective due by {workspace.people_time(retro)} (48 hours after resolution)"


def test_one_monitoring_window_from_the_checklist_step_that_started_it(workspace, clock):
    incident = workspace.start_incident("x", "P1")
    hotfix = workspace.create_release(version="1.0.1", title="fix", hotfix=True, incident_id=incident.id)
    ref = RunRef("release", hotfix.id, "hotfix")
    for index in range(6):
        workspace.change_item(RunRef("release", hotfix.id, "gate"), index, "toggle")
    run = workspace.run(ref)
    window = next(i for i, item in enumerate(run.items) if item.timing and item.timing.kind == "window")
    for index in range(window):
        workspace.change_item(ref, index, "toggle")
    deployed_at = clock.now()
    clock.advance(minutes=7)
    workspace.set_status(incident.id, "Monitoring")
    ends = workspace.monitoring_ends(workspace.incident(incident.id))
    assert ends == deployed_at + timedelta(minutes=30), "the incident's window is the checklist's window"
    assert workspace.time_left(ref, window) == ends - clock.now()
    assert "from “Deploy to production with monitoring” checked" in workspace.incident(incident.id).timeline[-1].text


def test_status_line_at_80_columns_keeps_every_overdue_incident(workspace, clock, make_app):
    workspace.start_incident("Search is slow for some customers in the EU region", "P2")
    workspace.start_incident("Checkout errors after the 2.4.0 deploy", "P0")
    clock.advance(minutes=20)  # the P0 (15 min cadence) is overdue, the P2 (60) is not
    workspace.start_incident("Another", "P1")
    app = make_app(workspace)
    app.active_incident_id = 2
    for width in (80, 60):
        line = status_text(app, width).plain
        assert len(line) <= width, line
        assert "INC-2 P0" in line and "OVERDUE" in line, line
    wide = status_text(app, 200).plain
    assert "UPDATE OVERDUE" in wide and "next update in" in wide
