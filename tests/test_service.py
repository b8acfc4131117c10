"""The workspace: lifecycle rules of releases, checklists, incidents and decisions, with an injected clock."""

from datetime import date, timedelta

import pytest

from octotui.domain.models import DecisionStatus, IncidentStatus, ItemState, Severity, Stage
from octotui.services.workspace import GateBlocked, InputError, NeedsConfirmation, RunRef, Workspace
from octotui.storage.file_store import Store, StoreCorrupt

pytestmark = pytest.mark.both_backends  # the service suite runs on both backends


def gate(release_id):
    return RunRef("release", release_id, "gate")


def settle_gate(workspace, release_id):
    for index in range(6):
        workspace.change_item(gate(release_id), index, "toggle")


# -- releases -----------------------------------------------------------------------------------
def test_create_release_with_runs_from_the_playbook(workspace):
    release = workspace.create_release(version="1.4.0", title="Search", captain="ana", target_date="2026-12-01")
    assert release.key == "REL-1" and release.stage is Stage.PLANNED
    assert release.run_order() == ["gate", "deployment"]
    assert workspace.release(1).target_date == date(2026, 12, 1)


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"version": "1.4", "title": "x"}, "version", "not a SemVer version"),
    ({"version": "", "title": "x"}, "version", "Version is required"),
    ({"version": "1.4.0", "title": "   "}, "title", "Title is required"),
    ({"version": "1.4.0", "title": "x", "target_date": "2026-11-25"}, "target_date", "is in the past"),
    ({"version": "1.4.0", "title": "x", "target_date": "someday"}, "target_date", "is not a date"),
    ({"version": "1.4.0", "title": "x" * 20001}, "title", "the limit is"),
])
def test_bad_release_input_is_refused_by_field(workspace, fields, field, message):
    with pytest.raises(InputError) as caught:
        workspace.create_release(**fields)
    assert message in caught.value.errors[field]
    assert workspace.releases() == []


def test_duplicate_versions_are_refused(workspace):
    workspace.create_release(version="1.4.0", title="a")
    with pytest.raises(InputError, match="already exists"):
        workspace.create_release(version="1.4.0+build.7", title="b")


def test_type_is_suggested_from_the_closest_earlier_version(workspace):
    workspace.create_release(version="1.4.0", title="a")
    workspace.create_release(version="2.0.0", title="b")
    assert workspace.suggest_type("1.4.1").value == "patch"
    assert workspace.suggest_type("1.5.0").value == "minor"
    assert workspace.suggest_type("3.0.0").value == "major"
    assert workspace.suggest_version() == "2.1.0"


def test_edit_keeps_unchanged_past_target_date(workspace, clock):
    release = workspace.create_release(version="1.0.0", title="a", target_date="2026-11-27")
    clock.advance(days=3)
    workspace.update_release(release.id, version="1.0.0", title="renamed", target_date="2026-11-27")
    assert workspace.release(release.id).title == "renamed"


# -- checklists ---------------------------------------------------------------------------------
def test_check_na_note_undo_are_all_events(workspace, clock):
    release = workspace.create_release(version="1.0.0", title="a")
    ref = gate(release.id)
    workspace.change_item(ref, 0, "toggle")
    clock.advance(minutes=1)
    with pytest.raises(InputError, match="reason"):
        workspace.change_item(ref, 1, "na", text="  ")
    workspace.change_item(ref, 1, "na", text="No CI for docs-only change")
    workspace.change_item(ref, 1, "note", text="[bold]x[/] [/]")
    run = workspace.run(ref)
    assert run.items[0].state is ItemState.DONE and run.items[0].by == "tester"
    assert run.items[1].state is ItemState.NA and run.items[1].na_reason == "No CI for docs-only change"
    assert run.items[1].note == "[bold]x[/] [/]"
    workspace.change_item(ref, 0, "undo")  # undoes the note
    workspace.change_item(ref, 0, "undo")  # undoes the N/A
    run = workspace.run(ref)
    assert run.items[1].state is ItemState.TODO and run.items[1].note == ""
    assert run.items[0].state is ItemState.DONE
    assert [event.action for event in run.history] == ["done", "na", "note", "undo", "undo"]
    assert run.history[-1].undoes == 2


def test_undo_with_nothing_left_says_so(workspace):
    release = workspace.create_release(version="1.0.0", title="a")
    with pytest.raises(InputError, match="nothing to undo"):
        workspace.change_item(gate(release.id), 0, "undo")


def test_gate_blocks_staging_and_lists_blockers(workspace):
    release = workspace.create_release(version="1.0.0", title="a")
    workspace.change_item(gate(release.id), 0, "toggle")
    deployment = RunRef("release", release.id, "deployment")
    with pytest.raises(GateBlocked) as blocked:
        workspace.change_item(deployment, 2, "toggle")
    assert [item.text for item in blocked.value.blockers][0] == "Passing CI and security scans"
    assert len(blocked.value.blockers) == 5
    assert workspace.release(release.id).stage is Stage.PLANNED


def test_gate_override_is_a_decision_and_shows(workspace):
    release = workspace.create_release(version="1.0.0", title="a")
    decision = workspace.override_gate(release.id, title="Ship without scans", decision="Security signed off by phone")
    release = workspace.release(release.id)
    assert release.gate_override == decision.id and decision.kind == "gate-override"
    assert release.stage is Stage.GATE_PASSED
    workspace.change_item(RunRef("release", release.id, "deployment"), 2, "toggle")
    assert workspace.release(release.id).stage is Stage.STAGING


def test_stage_follows_the_work(workspace):
    release = workspace.create_release(version="1.0.0", title="a")
    settle_gate(workspace, release.id)
    assert workspace.release(release.id).stage is Stage.GATE_PASSED
    deployment = RunRef("release", release.id, "deployment")
    stages = []
    for index in range(7):
        workspace.change_item(deployment, index, "toggle")
        stages.append(workspace.release(release.id).stage)
    assert stages == [Stage.GATE_PASSED, Stage.GATE_PASSED, Stage.STAGING, Stage.PRODUCTION, Stage.PRODUCTION,
                      Stage.PRODUCTION, Stage.VERIFIED]
    assert workspace.release(release.id).progress() == (13, 13)


def test_rollback_run_and_rolled_back_stage(workspace):
    release = workspace.create_release(version="1.0.0", title="a")
    with pytest.raises(InputError, match="Staging or later"):
        workspace.start_rollback(release.id, "bad")
    settle_gate(workspace, release.id)
    for index in range(4):
        workspace.change_item(RunRef("release", release.id, "deployment"), index, "toggle")
    with pytest.raises(InputError):
        workspace.start_rollback(release.id, " ")
    workspace.start_rollback(release.id, "5xx spike")
    assert workspace.release(release.id).stage is Stage.ROLLING_BACK
    for index in range(7):
        workspace.change_item(RunRef("release", release.id, "rollback"), index, "toggle")
    release = workspace.release(release.id)
    assert release.stage is Stage.ROLLED_BACK and release.rollback_reason == "5xx spike"


def test_hotfix_uses_the_hotfix_checklist_and_links_the_incident(workspace):
    incident = workspace.start_incident("Checkout down", "P0")
    release = workspace.create_release(version="1.0.1", title="fix", hotfix=True, incident_id=incident.id)
    assert release.run_order() == ["gate", "hotfix"]
    assert workspace.incident(incident.id).release_ids == [release.id]
    refs = workspace.incident_runs(workspace.incident(incident.id))
    assert [ref.role for ref in refs] == ["escalation", "hotfix"]


def test_monitoring_window_counts_down_and_early_check_is_confirmed(workspace, clock):
    release = workspace.create_release(version="1.0.1", title="fix", hotfix=True)
    settle_gate(workspace, release.id)
    hotfix = RunRef("release", release.id, "hotfix")
    for index in range(9):  # through "Deploy to production with monitoring"
        workspace.change_item(hotfix, index, "toggle")
    run = workspace.run(hotfix)
    assert run.time_left(9, clock.now()) == timedelta(minutes=30)
    clock.advance(minutes=10)
    assert workspace.run(hotfix).time_left(9, clock.now()) == timedelta(minutes=20)
    with pytest.raises(NeedsConfirmation, match="about 20 min left"):
        workspace.change_item(hotfix, 9, "toggle")
    run = workspace.change_item(hotfix, 9, "toggle", confirm=True)
    assert run.items[9].early and run.items[9].state is ItemState.DONE


def test_window_after_it_ends_needs_no_confirmation(workspace, clock):
    release = workspace.create_release(version="1.0.1", title="fix", hotfix=True)
    settle_gate(workspace, release.id)
    hotfix = RunRef("release", release.id, "hotfix")
    for index in range(9):
        workspace.change_item(hotfix, index, "toggle")
    clock.advance(minutes=31)
    run = workspace.change_item(hotfix, 9, "toggle")
    assert not run.items[9].early


def test_retro_deadline_from_the_playbook(workspace, clock):
    incident = workspace.start_incident("x", "P2")
    ref = RunRef("incident", incident.id, "escalation")
    run = workspace.run(ref)
    retro_index = next(i for i, item in enumerate(run.items) if item.timing and item.timing.kind == "deadline")
    clock.advance(hours=5)
    assert workspace.time_left(ref, retro_index) is None, "no countdown before there is a resolution to count from"
    workspace.set_status(incident.id, "Resolved", confirm=True)
    assert workspace.time_left(ref, retro_index) == timedelta(hours=48)
    assert workspace.retro_deadline(workspace.incident(incident.id)) == clock.now() + timedelta(hours=48)


def test_a_run_keeps_the_text_it_started_with(workspace, tmp_path):
    from octotui.domain.playbook import data_path, parse_playbook
    release = workspace.create_release(version="1.0.0", title="a")
    edited = parse_playbook(data_path("playbook.md").read_text().replace("Smoke tests prepared", "Smoke tests written"))
    later = Workspace(workspace.store, edited, clock=workspace.clock, author="tester")
    assert "Smoke tests prepared" in [i.text for i in later.release(release.id).runs["gate"].items]
    fresh = later.create_release(version="1.1.0", title="b")
    assert "Smoke tests written" in [i.text for i in fresh.runs["gate"].items]


# -- incidents ----------------------------------------------------------------------------------
def test_clock_is_derived_and_stops_at_resolution(workspace, clock, reopen):
    incident = workspace.start_incident("Checkout errors", "P1", started_at=clock.now() - timedelta(minutes=12))
    assert incident.elapsed(clock.now()) == timedelta(minutes=12)
    clock.advance(minutes=30)
    reopened = Workspace(reopen(workspace.store), workspace.playbook, clock=clock)  # a restart
    assert reopened.incident(incident.id).elapsed(clock.now()) == timedelta(minutes=42)
    workspace.set_status(incident.id, "Resolved", confirm=True)
    clock.advance(hours=5)
    assert workspace.incident(incident.id).elapsed(clock.now()) == timedelta(minutes=42)


def test_status_changes_set_milestones_and_timeline(workspace, clock):
    incident = workspace.start_incident("x", "P1")
    for minutes, status in ((5, "Identified"), (10, "Mitigated"), (5, "Monitoring"), (30, "Resolved")):
        clock.advance(minutes=minutes)
        workspace.set_status(incident.id, status, confirm=True)
    incident = workspace.incident(incident.id)
    assert incident.acknowledged_at - incident.started_at == timedelta(minutes=5)
    assert incident.mitigated_at - incident.started_at == timedelta(minutes=15)
    assert incident.resolved_at - incident.started_at == timedelta(minutes=50)
    kinds = [event.kind for event in incident.timeline]
    assert kinds.count("status") == 5


def test_milestone_order_and_future_are_refused(workspace, clock):
    incident = workspace.start_incident("x", "P1", started_at=clock.now() - timedelta(hours=1))
    with pytest.raises(InputError, match="cannot be before"):
        workspace.set_milestone(incident.id, "resolved_at", clock.now() - timedelta(hours=2))
    with pytest.raises(InputError, match="in the future"):
        workspace.set_milestone(incident.id, "acknowledged_at", clock.now() + timedelta(minutes=1))
    workspace.set_milestone(incident.id, "acknowledged_at", clock.now() - timedelta(minutes=50))
    assert workspace.incident(incident.id).acknowledged_at == clock.now() - timedelta(minutes=50)


def test_cadence_by_severity_due_and_overdue(workspace, clock):
    expectations = {Severity.P0: 15, Severity.P1: 30, Severity.P2: 60}
    for severity, minutes in expectations.items():
        incident = workspace.start_incident(f"{severity}", severity)
        assert workspace.next_update_due(incident) == clock.now() + timedelta(minutes=minutes)
    p3 = workspace.start_incident("minor", Severity.P3)
    assert workspace.next_update_due(p3) is None
    p1 = workspace.incidents()[-2]
    clock.advance(minutes=31)
    assert workspace.next_update_due(p1) < clock.now()  # overdue
    workspace.record_sent(p1.id, "Incident status update", counts_as_update=True)
    assert workspace.next_update_due(workspace.incident(p1.id)) == clock.now() + timedelta(minutes=30)


def test_cadence_is_configurable(workspace, clock):
    workspace.settings.cadence_minutes[Severity.P1] = 10
    incident = workspace.start_incident("x", "P1")
    assert workspace.next_update_due(incident) == clock.now() + timedelta(minutes=10)


def test_snooze_is_recorded(workspace, clock):
    incident = workspace.start_incident("x", "P0")
    clock.advance(minutes=16)
    workspace.snooze_update(incident.id, 5)
    incident = workspace.incident(incident.id)
    assert workspace.next_update_due(incident) == clock.now() + timedelta(minutes=5)
    assert incident.timeline[-1].kind == "snooze"


def test_monitoring_window_while_monitoring(workspace, clock):
    incident = workspace.start_incident("x", "P1")
    workspace.set_status(incident.id, "Monitoring")
    assert workspace.monitoring_ends(workspace.incident(incident.id)) == clock.now() + timedelta(minutes=30)
    workspace.set_status(incident.id, "Resolved", confirm=True)
    assert workspace.monitoring_ends(workspace.incident(incident.id)) is None


def test_every_kind_of_change_reaches_the_timeline(workspace, clock):
    incident = workspace.start_incident("x", "P2")
    release = workspace.create_release(version="1.0.1", title="fix", hotfix=True, incident_id=incident.id)
    workspace.set_severity(incident.id, "P1")
    workspace.assign_role(incident.id, "commander", "ana")
    workspace.assign_role(incident.id, "commander", "bo")
    workspace.set_impact(incident.id, "3% of checkouts")
    workspace.change_item(RunRef("incident", incident.id, "escalation"), 0, "toggle", confirm=True)
    workspace.change_item(RunRef("release", release.id, "gate"), 0, "toggle")
    workspace.add_note(incident.id, "called the vendor", at=clock.now() - timedelta(minutes=3))
    workspace.record_decision(title="Roll forward", decision="Fix forward", links=incident.key)
    kinds = {event.kind for event in workspace.incident(incident.id).timeline}
    assert {"status", "link", "severity", "role", "impact", "checklist", "note", "decision"} <= kinds
    texts = [event.text for event in workspace.incident(incident.id).timeline]
    assert "Incident commander handed from ana to bo" in texts
    assert any(text.startswith("REL-1 Pre-release requirements: checked") for text in texts)


def test_bad_incident_input(workspace, clock):
    with pytest.raises(InputError) as caught:
        workspace.start_incident("  ", "P9", started_at=clock.now() + timedelta(minutes=5))
    assert set(caught.value.errors) == {"title", "severity", "started"}
    incident = workspace.start_incident("x", "P1")
    with pytest.raises(InputError, match="in the future"):
        workspace.add_note(incident.id, "later", at=clock.now() + timedelta(hours=1))
    long_note = "n" * 10_000
    workspace.add_note(incident.id, long_note)
    assert workspace.incident(incident.id).timeline[-1].text == long_note


def test_clock_jumping_back_keeps_milestones_ordered(workspace, clock):
    incident = workspace.start_incident("x", "P1")
    clock.advance(minutes=10)
    workspace.set_status(incident.id, "Identified")
    clock.advance(hours=-2)  # the system clock jumps back
    workspace.set_status(incident.id, "Mitigated")
    incident = workspace.incident(incident.id)
    assert incident.started_at <= incident.acknowledged_at <= incident.mitigated_at
    assert incident.elapsed(clock.now()) == timedelta(0)  # never negative


# -- decisions ----------------------------------------------------------------------------------
def test_decision_validation_and_links(workspace):
    with pytest.raises(InputError) as caught:
        workspace.record_decision(title="", decision="", links="REL-99, nonsense")
    assert set(caught.value.errors) == {"title", "decision", "links"}
    release = workspace.create_release(version="1.0.0", title="a")
    decision = workspace.record_decision(title="t", decision="d", links="rel-1")
    assert decision.release_ids == [release.id] and decision.owner == "tester"
    assert workspace.release(release.id).decision_ids == [decision.id]


def test_decision_from_a_checklist_item_links_back(workspace):
    release = workspace.create_release(version="1.0.0", title="a")
    ref = RunRef("release", release.id, "gate")
    decision = workspace.record_decision(title="Key decisions", decision="documented", links=release.key,
                                         item_ref=ref, item_index=5)
    assert workspace.run(ref).items[5].decision_id == decision.id
    assert decision.item.startswith("Key decisions documented in")


def test_edit_keeps_history_and_supersede_links_both_ways(workspace, clock):
    first = workspace.record_decision(title="Use A", decision="A")
    clock.advance(minutes=5)
    workspace.edit_decision(first.id, decision="A, carefully")
    edited = workspace.decision(first.id)
    assert edited.decision == "A, carefully" and edited.history[-1].previous == {"decision": "A"}
    second = workspace.supersede(first.id, title="Use B", decision="B")
    assert second.supersedes == first.id
    old = workspace.decision(first.id)
    assert old.status is DecisionStatus.SUPERSEDED and old.superseded_by == second.id
    assert old.status_label() == f"superseded by DEC-{second.id}"
    with pytest.raises(InputError, match="already superseded"):
        workspace.supersede(first.id, title="Use C", decision="C")


def test_self_supersession_and_cycles_are_refused(workspace):
    a = workspace.record_decision(title="a", decision="a")
    b = workspace.supersede(a.id, title="b", decision="b")
    with pytest.raises(InputError, match="itself"):
        workspace.check_supersede(b.id, b.id)
    with pytest.raises(InputError, match="cycle"):
        workspace.supersede_existing(a.id, b.id)


def test_ui_state_is_per_author(workspace):
    workspace.save_ui_state({"mode": "incident"})
    assert workspace.ui_state() == {"mode": "incident"}
    other = Workspace(workspace.store, workspace.playbook, clock=workspace.clock, author="someone")
    assert other.ui_state() == {}


def test_invalid_documents_are_reported_with_where(db_path, playbook, clock):
    store = Store(db_path)
    with store.transaction() as db:
        db.table("releases").insert({"version": "1.0.0"})
    before = db_path.read_bytes()
    with pytest.raises(StoreCorrupt, match="table 'releases' document 1"):
        Workspace(store, playbook, clock=clock).validate_all()
    assert db_path.read_bytes() == before


def test_demo_data_has_every_stage_and_an_open_incident(demo_workspace):
    stages = {release.stage for release in demo_workspace.releases()}
    assert {Stage.PLANNED, Stage.GATE_PASSED, Stage.STAGING, Stage.PRODUCTION, Stage.VERIFIED, Stage.ROLLED_BACK,
            Stage.CANCELLED} <= stages
    assert demo_workspace.open_incidents()[0].status is IncidentStatus.MITIGATED
