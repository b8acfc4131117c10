"""A release lifecycle a captain can trust: every stage move allowed or refused by one table, sign-off,
owners and due times, versions that follow production, and the release report."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from octotui.comms.reports import release_report
from octotui.domain import lifecycle
from octotui.domain.inputs import InputError, NeedsConfirmation
from octotui.domain.models import DecisionStatus, ItemState, Stage
from octotui.domain.settings import SignOffRules
from octotui.services.workspace import GateBlocked, RunRef, Workspace

pytestmark = pytest.mark.both_backends  # the service suite runs on both backends

GATE_ITEMS, DEPLOY_TO_STAGING, DEPLOY_TO_PRODUCTION, DEPLOYMENT_ITEMS = 6, 2, 3, 7


def at_stage(workspace, stage: Stage, version: str):
    """A release brought to `stage` through its checklists (the only way a stage is reached)."""
    release = workspace.create_release(version=version, title=f"to {stage.value}")
    gate, work = RunRef("release", release.id, "gate"), RunRef("release", release.id, "deployment")
    if stage is Stage.CANCELLED:
        return workspace.cancel_release(release.id, "not needed")
    if stage is Stage.PLANNED:
        return workspace.release(release.id)
    for index in range(GATE_ITEMS):
        workspace.change_item(gate, index, "toggle")
    steps = {Stage.GATE_PASSED: 0, Stage.STAGING: DEPLOY_TO_STAGING + 1, Stage.PRODUCTION: DEPLOY_TO_PRODUCTION + 1}
    for index in range(steps.get(stage, DEPLOYMENT_ITEMS)):
        workspace.change_item(work, index, "toggle", confirm=True)
    if stage in (Stage.ROLLING_BACK, Stage.ROLLED_BACK):
        workspace.start_rollback(release.id, "errors")
        if stage is Stage.ROLLED_BACK:
            for index in range(7):
                workspace.change_item(RunRef("release", release.id, "rollback"), index, "toggle")
    return workspace.release(release.id)


ALLOWED = {  # stage -> the moves allowed from it
    Stage.PLANNED: {"cancel", "change"},
    Stage.GATE_PASSED: {"cancel", "change"},
    Stage.STAGING: {"cancel", "change", "rollback"},
    Stage.PRODUCTION: {"change", "rollback"},
    Stage.VERIFIED: {"reopen", "rollback"},
    Stage.ROLLING_BACK: {"change"},
    Stage.ROLLED_BACK: {"reopen"},
    Stage.CANCELLED: {"reopen"},
}


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("move", ["cancel", "reopen", "rollback", "change"])
def test_every_stage_move_is_allowed_or_refused_by_the_table(workspace, stage, move):
    release = at_stage(workspace, stage, "1.0.0")
    assert release.stage is stage
    why_not = lifecycle.allowed(release, move)
    assert (why_not is None) == (move in ALLOWED[stage]), why_not
    command = {"cancel": lambda: workspace.cancel_release(release.id, "a reason"),
               "reopen": lambda: workspace.reopen_release(release.id, "a reason"),
               "rollback": lambda: workspace.start_rollback(release.id, "a reason"),
               "change": lambda: workspace.change_item(RunRef("release", release.id, "gate"), 0, "note", text="n")}[move]
    if move in ALLOWED[stage]:
        command()
    else:
        with pytest.raises(InputError):
            command()


def test_cancel_needs_a_reason_and_a_shipped_release_is_never_cancelled(workspace):
    planned = at_stage(workspace, Stage.PLANNED, "1.0.0")
    with pytest.raises(InputError, match="reason"):
        workspace.cancel_release(planned.id, "  ")
    shipped = at_stage(workspace, Stage.PRODUCTION, "1.1.0")
    with pytest.raises(InputError, match="never cancelled — roll it back, or supersede it"):
        workspace.cancel_release(shipped.id, "changed our mind")


def test_locked_until_reopened_with_a_reason_then_locked_again_when_reached_again(workspace, clock):
    release = at_stage(workspace, Stage.VERIFIED, "1.0.0")
    clock.advance(minutes=5)
    work = RunRef("release", release.id, "deployment")
    with pytest.raises(InputError, match="locked"):
        workspace.change_item(work, 6, "toggle")
    workspace.reopen_release(release.id, "verification was wrong")
    workspace.change_item(work, 6, "toggle")  # unchecked: back to Production, editable
    assert workspace.release(release.id).stage is Stage.PRODUCTION
    clock.advance(minutes=5)
    workspace.change_item(work, 6, "toggle")
    assert lifecycle.is_locked(workspace.release(release.id)), "verified again: locked again"
    reopen = [e for e in workspace.release(release.id).lifecycle if e.action == "reopen"]
    assert reopen[0].reason == "verification was wrong" and reopen[0].from_stage == "Verified"


def test_a_cancelled_version_is_reused_only_after_confirming(workspace):
    cancelled = at_stage(workspace, Stage.CANCELLED, "2.5.1")
    with pytest.raises(NeedsConfirmation, match="2.5.1 belonged to REL-1, which was cancelled"):
        workspace.create_release(version="2.5.1", title="again")
    again = workspace.create_release(version="2.5.1", title="again", confirm=True)
    assert again.id != cancelled.id and workspace.release(cancelled.id).stage is Stage.CANCELLED
    # Two live releases never share a version (PostgreSQL's unique index found this path): the cancelled one
    # comes back only once its version is free again.
    with pytest.raises(InputError, match="2.5.1 is now the version of REL-2"):
        workspace.reopen_release(cancelled.id, "we need it after all")
    workspace.cancel_release(again.id, "wrong one")
    workspace.reopen_release(cancelled.id, "we need it after all")
    assert workspace.release(cancelled.id).stage is Stage.PLANNED


def test_a_proposed_override_is_pending_and_counts_once_accepted(workspace):
    release = at_stage(workspace, Stage.PLANNED, "1.0.0")
    decision = workspace.override_gate(release.id, title="Ship without the scan", decision="Scan later",
                                       status="proposed")
    release = workspace.release(release.id)
    assert release.gate_override is None and release.gate_override_pending == decision.id
    assert release.stage is Stage.PLANNED
    with pytest.raises(GateBlocked, match=f"override pending DEC-{decision.id}"):
        workspace.change_item(RunRef("release", release.id, "deployment"), DEPLOY_TO_STAGING, "toggle")
    workspace.edit_decision(decision.id, status="accepted")
    assert workspace.release(release.id).gate_override == decision.id
    workspace.change_item(RunRef("release", release.id, "deployment"), DEPLOY_TO_STAGING, "toggle")
    assert workspace.release(release.id).stage is Stage.STAGING
    workspace.edit_decision(decision.id, status="rejected")
    assert workspace.release(release.id).gate_override is None
    assert workspace.decision(decision.id).status is DecisionStatus.REJECTED


def test_sign_off_rules(workspace, clock):
    workspace.settings.signoff = SignOffRules(signers=["lee", "ana"], major=1)
    release = workspace.create_release(version="3.0.0", title="API v3", captain="tester", type="major")
    for index in range(GATE_ITEMS):
        workspace.change_item(RunRef("release", release.id, "gate"), index, "toggle")
    with pytest.raises(GateBlocked, match="awaiting 1 sign-off"):
        workspace.change_item(RunRef("release", release.id, "deployment"), DEPLOY_TO_STAGING, "toggle")
    with pytest.raises(InputError, match="captain"):
        workspace.sign_off(release.id)
    workspace.author = "sam"
    with pytest.raises(InputError, match="may not sign off"):
        workspace.sign_off(release.id)
    workspace.author = "lee"
    workspace.sign_off(release.id, "reviewed the migration plan")
    with pytest.raises(InputError, match="already signed off"):
        workspace.sign_off(release.id)
    assert workspace.signoffs_missing(workspace.release(release.id)) == 0
    workspace.change_item(RunRef("release", release.id, "deployment"), DEPLOY_TO_STAGING, "toggle")
    assert workspace.release(release.id).stage is Stage.STAGING
    minor = workspace.create_release(version="3.1.0", title="minor", type="minor")
    assert workspace.signoffs_missing(minor) == 0, "patch and minor need none by default"


def test_owner_due_and_overdue_items_with_history(workspace, clock):
    release = at_stage(workspace, Stage.PLANNED, "1.0.0")
    gate = RunRef("release", release.id, "gate")
    workspace.change_item(gate, 1, "assign", text="lee")
    workspace.change_item(gate, 1, "due", due=clock.now() + timedelta(hours=2))
    workspace.change_item(gate, 1, "toggle")
    item = workspace.run(gate).items[1]
    assert item.owner == "lee" and item.due == clock.now() + timedelta(hours=2) and item.state is ItemState.DONE
    workspace.change_item(gate, 2, "due", due=clock.now() + timedelta(minutes=5))
    clock.advance(minutes=10)
    assert [i.text for i in workspace.run(gate).overdue(clock.now())] == ["Release notes drafted"]
    actions = [event.action for event in workspace.run(gate).history]
    assert actions == ["assign", "due", "done", "due"]
    workspace.change_item(gate, 1, "undo")
    workspace.change_item(gate, 1, "undo")
    assert workspace.run(gate).items[2].due is None, "undo restores what was there"


def test_unchecking_someone_elses_check_asks_and_names_them(workspace):
    release = at_stage(workspace, Stage.PLANNED, "1.0.0")
    gate = RunRef("release", release.id, "gate")
    workspace.author = "lee"
    workspace.change_item(gate, 0, "toggle")
    workspace.author = "tester"
    with pytest.raises(NeedsConfirmation, match="was checked by lee"):
        workspace.change_item(gate, 0, "toggle")
    workspace.change_item(gate, 0, "toggle", confirm=True)
    assert workspace.run(gate).items[0].state is ItemState.TODO


def test_unchecking_what_someone_just_checked_elsewhere_asks_instead_of_racing(workspace, reopen, playbook):
    ana = workspace
    ben = Workspace(reopen(workspace.store), playbook, author="ben")
    release = ana.create_release(version="1.0.0", title="a")
    ref = RunRef("release", release.id, "gate")
    ben.refresh()
    ana.author = "ana"
    ana.change_item(ref, 0, "toggle")
    with pytest.raises(NeedsConfirmation, match="ana"):  # ben's screen still showed it open: he is asked
        ben.change_item(ref, 0, "toggle")
    ben.refresh()
    assert ben.run(ref).items[0].state == ItemState.DONE and len(ben.run(ref).history) == 1


def test_two_people_toggling_one_item_at_once_both_land(workspace, reopen, playbook):
    people = [Workspace(workspace.store, playbook, author="ana"), Workspace(reopen(workspace.store), playbook, author="ben")]
    release = people[0].create_release(version="1.0.0", title="a")
    ref = RunRef("release", release.id, "gate")
    for person in people:
        person.refresh()
    barrier = threading.Barrier(2)

    def toggle(person: Workspace) -> None:
        barrier.wait()
        person.change_item(ref, 0, "toggle", confirm=True)  # unchecking another's check asks first: both said yes

    threads = [threading.Thread(target=toggle, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for person in people:
        person.refresh()
    runs = [person.run(ref) for person in people]
    assert runs[0].items[0].state == runs[1].items[0].state == ItemState.TODO, "checked then unchecked"
    assert sorted(event.author for event in runs[0].history) == ["ana", "ben"]
    assert runs[0].history == runs[1].history


def test_release_notes_drafted_asks_while_the_notes_are_empty(workspace):
    release = at_stage(workspace, Stage.PLANNED, "1.0.0")
    gate = RunRef("release", release.id, "gate")
    question = workspace.notes_question(gate, 2)
    assert question is not None and "Summary, Notable changes, Known issues" in question
    assert workspace.notes_question(gate, 0) is None
    workspace.set_release_notes(release.id, {"summary": "s", "notable_changes": "one\ntwo", "known_issues": "None"})
    assert workspace.notes_question(gate, 2) is None
    assert workspace.release(release.id).notes["notable_changes"] == "- one\n- two"
    with pytest.raises(InputError, match="next tuesday.*is not a date"):
        workspace.set_release_notes(release.id, {"date": "next tuesday"})


def test_versions_follow_production_and_the_line_in_flight(workspace):
    assert workspace.suggest_version() == "1.0.0", "a first release"
    assert workspace.suggest_type("2.4.0").value == "minor", "2.4.0 on an empty board continues a line"
    at_stage(workspace, Stage.VERIFIED, "2.3.0")
    live = at_stage(workspace, Stage.PRODUCTION, "2.4.0")
    at_stage(workspace, Stage.PLANNED, "3.0.0")
    at_stage(workspace, Stage.CANCELLED, "2.5.1")
    at_stage(workspace, Stage.ROLLED_BACK, "2.2.1")
    version, why = workspace.suggest_hotfix_version()
    assert version == "2.4.1" and "2.4.0" in why and "production" in why
    hotfix = workspace.create_release(version=version, title="fix", hotfix=True)
    assert workspace.suggest_backport(hotfix) == ("3.0.1", "backport into the 3.0.0 line (REL-3, Planned)")
    assert workspace.last_known_good(live).version == "2.3.0"
    assert workspace.type_warning("3.0.0", "patch") == "3.0.0 after 2.4.1 is a major step; saving as patch anyway"
    assert workspace.type_warning("2.4.2", "patch") == ""


def test_release_report_with_awkward_text(workspace, clock, golden):
    from conftest import AWKWARD

    release = at_stage(workspace, Stage.GATE_PASSED, "1.0.0")
    workspace.update_release(release.id, version="1.0.0", title=AWKWARD, captain="maria")
    gate = RunRef("release", release.id, "gate")
    workspace.change_item(gate, 3, "toggle")
    workspace.change_item(gate, 3, "na", text="covered by | the platform")
    workspace.change_item(gate, 4, "undo")
    workspace.set_release_notes(release.id, {"summary": AWKWARD, "notable_changes": "a\nb"})
    incident = workspace.start_incident("5xx", "P1", release_id=release.id)
    workspace.author = "lee"
    workspace.sign_off(release.id, "looks good")
    text = release_report(workspace.release(release.id), workspace)
    golden("release-report.md", text)
    assert "\x1b" not in text and "covered by \\| the platform" in text and "looks good" in text
    assert f"{incident.key} P1 Investigating" in text
