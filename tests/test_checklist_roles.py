"""Checklist roles as one type: only the gate is required of a team's guide, a missing role is said where a
flow needs it, and the guide's own checklists are runs like the built-in ones (on both backends)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from octotui.comms.reports import release_report
from octotui.domain.models import ItemState, Stage
from octotui.domain.playbook import load_playbook, parse_playbook
from octotui.domain.roles import ChecklistRole, MissingChecklist
from octotui.domain.settings import Settings, SignOffRules
from octotui.services.workspace import RunRef, Workspace
from octotui.storage.file_store import Store

pytestmark = pytest.mark.both_backends  # the service tests here run on a file and on PostgreSQL

TEAM_GUIDE = REPO / "tests" / "fixtures" / "team-guide-extras.md"
VERIFY, SECURITY = "post_release_verification", "security_review"


@pytest.fixture(scope="module")
def team_playbook():
    return load_playbook(TEAM_GUIDE)


def team_workspace(store, team_playbook, clock) -> Workspace:
    return Workspace(store, team_playbook, clock=clock, author="tester", settings=Settings(signoff=SignOffRules(major=0)))


# -- the guide ----------------------------------------------------------------------------------------------
def test_the_bundled_guide_has_every_role_and_no_extra_checklist(playbook):
    assert playbook.missing == [] and playbook.extras("release") == [] and playbook.extras("incident") == []
    assert sorted(c.key for c in playbook.checklists.values()) == sorted(role.value for role in ChecklistRole)


def test_a_team_guide_without_a_rollback_checklist_loads_with_its_own_checklists(team_playbook):
    assert team_playbook.missing == [ChecklistRole.ROLLBACK]
    assert [(c.name, c.key) for c in team_playbook.extras("release")] == [
        ("Security review", SECURITY), ("Post-release verification", VERIFY)]
    assert [c.name for c in team_playbook.extras("incident")] == ["Customer follow-up"]  # under "Incident response"
    with pytest.raises(MissingChecklist) as missing:
        team_playbook.by_role(ChecklistRole.ROLLBACK)
    assert missing.value.errors == {"checklist": "this guide has no rollback checklist (mark one with "
                                                 "<!-- octotui: checklist rollback -->)"}


def test_checklist_for_says_whose_run_an_extra_checklist_is():
    source = TEAM_GUIDE.read_text().replace(
        "### Customer follow-up\n", "### Customer follow-up\n<!-- octotui: checklist-for release -->\n").replace(
        "## Security review\n", "## Security review\n<!-- octotui: checklist-for incident -->\n")
    source += "\n## Afterwards\n- [ ] Tidy up\n"  # after the incident section, at its level: a release's again
    playbook = parse_playbook(source, "team.md")
    assert [c.name for c in playbook.extras("incident")] == ["Security review"]
    assert [c.name for c in playbook.extras("release")] == ["Post-release verification", "Customer follow-up",
                                                            "Afterwards"]


def test_the_stage_rule_still_holds_for_a_deployment_checklist_the_guide_has():
    source = TEAM_GUIDE.read_text().replace("- [ ] Deploy to production\n", "- [ ] Ship it\n")
    with pytest.raises(Exception, match="has no item that moves a release to Production"):
        parse_playbook(source, "team.md")


# -- the runs, on both backends -----------------------------------------------------------------------------
def test_a_release_runs_the_guides_own_checklists_with_stamps_notes_na_and_history(store, reopen, team_playbook, clock):
    workspace = team_workspace(store, team_playbook, clock)
    release = workspace.create_release(version="1.0.0", title="with extras")
    assert release.run_order() == ["gate", "deployment", SECURITY, VERIFY]
    ref = RunRef("release", release.id, VERIFY)
    workspace.change_item(ref, 0, "toggle")
    workspace.change_item(ref, 0, "note", text="checked the checkout journey")
    workspace.change_item(ref, 1, "na", text="support on holiday")
    workspace.change_item(RunRef("release", release.id, SECURITY), 0, "toggle")
    workspace.change_item(RunRef("release", release.id, SECURITY), 0, "undo")

    again = team_workspace(reopen(store), team_playbook, clock)  # another process on the same database
    run = again.run(ref)
    assert run is not None and run.name == "Post-release verification"
    assert (run.items[0].state, run.items[0].by, run.items[0].at) == (ItemState.DONE, "tester", clock.now())
    assert run.items[0].note == "checked the checkout journey"
    assert (run.items[1].state, run.items[1].na_reason) == (ItemState.NA, "support on holiday")
    assert [event.action for event in run.history] == ["done", "note", "na"]
    security = again.run(RunRef("release", release.id, SECURITY))
    assert security is not None and [e.action for e in security.history] == ["done", "undo"]
    assert security.items[0].state is ItemState.TODO
    stored = again.release(release.id)
    assert stored is not None and stored.progress() == (2, 9)  # the extra runs count in the release's progress
    assert stored.stage is Stage.PLANNED, "an extra checklist never moves the stage"
    assert list(json.loads(stored.model_dump_json())["runs"]) == ["gate", "deployment", SECURITY, VERIFY]

    report = release_report(stored, again)  # the release's whole story lists every run
    assert "## Post-release verification (2/2)" in report and "## Security review (0/2)" in report


def test_an_incident_runs_the_guides_incident_checklists(store, team_playbook, clock):
    workspace = team_workspace(store, team_playbook, clock)
    incident = workspace.start_incident("checkout down")
    assert list(incident.runs) == ["escalation", "customer_follow_up"]
    assert [ref.role for ref in workspace.incident_runs(incident)] == ["escalation", "customer_follow_up"]
    workspace.change_item(RunRef("incident", incident.id, "customer_follow_up"), 0, "toggle")
    run = workspace.run(RunRef("incident", incident.id, "customer_follow_up"))
    assert run is not None and run.items[0].state is ItemState.DONE


def test_a_rollback_on_a_guide_without_one_is_refused_in_one_line_and_writes_nothing(store, team_playbook, clock):
    workspace = team_workspace(store, team_playbook, clock)
    release = workspace.create_release(version="1.0.0", title="shipped")
    for role, count in ((ChecklistRole.GATE, 2), (ChecklistRole.DEPLOYMENT, 2)):
        for index in range(count):
            workspace.change_item(RunRef("release", release.id, role), index, "toggle")
    before = workspace.release(release.id)
    assert before is not None and before.stage is Stage.PRODUCTION
    with pytest.raises(MissingChecklist, match="this guide has no rollback checklist"):
        workspace.start_rollback(release.id, "errors spiked")
    after = workspace.release(release.id)
    assert after is not None and after.stage is Stage.PRODUCTION and "rollback" not in after.runs



def test_a_guide_without_a_deployment_checklist_still_makes_hotfixes(store, clock):
    source = TEAM_GUIDE.read_text().replace(
        "## Deployment Checklist\n- [ ] Deploy to staging\n- [ ] Deploy to production\n- [ ] Monitor dashboards\n", "")
    playbook = parse_playbook(source, "team.md")
    assert playbook.missing == [ChecklistRole.DEPLOYMENT, ChecklistRole.ROLLBACK]
    workspace = team_workspace(store, playbook, clock)
    with pytest.raises(MissingChecklist, match="this guide has no deployment checklist"):
        workspace.create_release(version="1.0.0", title="regular")
    assert workspace.board_rows() == [], "nothing was written"
    hotfix = workspace.create_release(version="1.0.1", title="fix", hotfix=True)
    assert hotfix.run_order() == ["gate", "hotfix", SECURITY, VERIFY]

def test_a_release_is_verified_once_its_work_and_the_guides_own_checklists_are_done(store, team_playbook, clock):
    workspace = team_workspace(store, team_playbook, clock)
    release = workspace.create_release(version="1.0.0", title="shipped")
    for role, count in ((ChecklistRole.GATE, 2), (ChecklistRole.DEPLOYMENT, 3), (SECURITY, 2), (VERIFY, 1)):
        for index in range(count):
            workspace.change_item(RunRef("release", release.id, role), index, "toggle")
    waiting = workspace.release(release.id)
    assert waiting is not None and waiting.stage is Stage.PRODUCTION, "post-release verification is still open"
    assert "| Verified | — |" in release_report(waiting, workspace)
    clock.advance(minutes=5)
    workspace.change_item(RunRef("release", release.id, VERIFY), 1, "toggle")
    done = workspace.release(release.id)
    assert done is not None and done.stage is Stage.VERIFIED and done.reached_at(Stage.VERIFIED) == clock.now()
    assert f"| Verified | {workspace.people_time(clock.now())} |" in release_report(done, workspace)


# -- the command line and the screens (a file is enough: the flows are the same) ----------------------------
@pytest.mark.file_only
def test_check_reports_the_missing_rollback_role_and_the_extra_checklists():
    result = subprocess.run([sys.executable, "-m", "octotui", "--check", "--playbook", str(TEAM_GUIDE)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr  # what --check finds in a guide is said, as the defaults are
    lines = result.stdout.splitlines()
    assert "playbook: missing rollback: this guide has no rollback checklist (mark one with " \
           "<!-- octotui: checklist rollback -->)" in lines
    assert "playbook: 'Post-release verification' (2 items) runs for each release" in lines
    assert "playbook: 'Customer follow-up' (1 item) runs for each incident" in lines


def rows(app) -> dict[str, str]:
    table = app.screen_stack[0].query_one("#checklist")
    return {table.coordinate_to_cell_key((i, 0)).row_key.value: str(table.get_row_at(i)[0]) for i in range(table.row_count)}


@pytest.mark.file_only
async def test_the_extra_run_is_reached_with_brackets_checked_and_still_checked_after_a_restart(
        db_path: Path, team_playbook, clock, make_app):
    workspace = team_workspace(Store(db_path), team_playbook, clock)
    release = workspace.create_release(version="1.0.0", title="with extras")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        await pilot.press("2")
        table = app.screen.query_one("#checklist")
        assert table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value == "REL-1:gate:0"
        await pilot.press("]", "]", "]")  # gate → deployment → security review → post-release verification
        assert table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value == f"REL-1:{VERIFY}:0"
        await pilot.press("space")
        assert rows(app)[f"REL-1:{VERIFY}:0"] == "[x]"
        await pilot.press("[")
        assert table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value == f"REL-1:{SECURITY}:0"

    restarted = make_app(team_workspace(Store(db_path), team_playbook, clock))
    async with restarted.run_test(size=(120, 36)) as pilot:
        restarted.selected_release_id = release.id
        restarted.checklist_owner = ("release", release.id)
        await pilot.press("2")
        assert rows(restarted)[f"REL-1:{VERIFY}:0"] == "[x]"
        assert rows(restarted)[f"REL-1:{VERIFY}:1"] == "[ ]"


@pytest.mark.file_only
async def test_r_on_a_guide_without_a_rollback_checklist_says_so_in_one_line(db_path: Path, team_playbook, clock,
                                                                             make_app):
    workspace = team_workspace(Store(db_path), team_playbook, clock)
    release = workspace.create_release(version="1.0.0", title="shipped")
    for role in (ChecklistRole.GATE, ChecklistRole.DEPLOYMENT):
        for index in range(2):
            workspace.change_item(RunRef("release", release.id, role), index, "toggle")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        for screen in ("1", "2"):  # the board's `r` and the checklist's
            await pilot.press(screen, "r")
            assert len(app.screen_stack) == 1, "no reason form opens for a rollback that cannot start"
        toasts = [str(toast.message) for toast in app._notifications]
        assert toasts.count("this guide has no rollback checklist (mark one with <!-- octotui: checklist rollback -->)") == 2


@pytest.mark.file_only
async def test_new_hotfix_on_a_guide_without_a_hotfix_checklist_says_so_on_the_board_and_the_incident(
        db_path: Path, clock, make_app):
    source = TEAM_GUIDE.read_text().replace(
        "## Hotfix Checklist\n- [ ] Deploy to staging with the fix\n- [ ] Deploy to production with monitoring\n", "")
    playbook = parse_playbook(source, "team.md")
    assert playbook.missing == [ChecklistRole.HOTFIX, ChecklistRole.ROLLBACK]
    workspace = team_workspace(Store(db_path), playbook, clock)
    incident = workspace.start_incident("checkout down")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.active_incident_id = incident.id
        for screen in ("1", "3"):
            await pilot.press(screen, "H")
            assert len(app.screen_stack) == 1, "no release form opens for a hotfix that cannot be made"
        toasts = [str(toast.message) for toast in app._notifications]
        assert toasts.count("this guide has no hotfix checklist (mark one with <!-- octotui: checklist hotfix -->)") == 2


@pytest.mark.file_only
async def test_an_incidents_own_checklist_is_reached_with_a_bracket_and_checked(db_path: Path, team_playbook, clock,
                                                                                make_app):
    workspace = team_workspace(Store(db_path), team_playbook, clock)
    incident = workspace.start_incident("checkout down")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.active_incident_id = incident.id
        app.checklist_owner = ("incident", incident.id)
        await pilot.press("2")
        table = app.screen.query_one("#checklist")
        assert "h:INC-1:customer_follow_up" in table.header_rows
        await pilot.press("]")
        assert table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value == "INC-1:customer_follow_up:0"
        await pilot.press("space")
        assert rows(app)["INC-1:customer_follow_up:0"] == "[x]"
    stored = workspace.incident(incident.id)
    assert stored is not None and stored.runs["customer_follow_up"].items[0].by == "tester"
    assert any("Affected customers contacted" in event.text for event in stored.timeline), "on the incident's timeline"
