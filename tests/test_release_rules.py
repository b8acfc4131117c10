"""Issue 29: the release's rules — stages in order, overrides with a second person, one release in production."""

import pytest

from octotui.domain import lifecycle
from octotui.domain.models import ItemState, Stage
from octotui.domain.semver import Version
from octotui.services.workspace import RunRef

pytestmark = pytest.mark.both_backends


def pass_gate(workspace, release_id):
    for index in range(6):
        workspace.change_item(RunRef("release", release_id, "gate"), index, "toggle")


def test_production_before_staging_asks_and_names_the_skipped_step(workspace):
    release = workspace.create_release(version="1.0.0", title="a")
    pass_gate(workspace, release.id)
    deployment = RunRef("release", release.id, "deployment")
    with pytest.raises(lifecycle.StageSkipped) as asked:
        workspace.change_item(deployment, 3, "toggle")
    assert "Deploy to staging and run smoke tests" in str(asked.value)
    assert workspace.release(release.id).stage is Stage.GATE_PASSED  # nothing moved
    with pytest.raises(lifecycle.StageSkipped):  # a confirmation alone is not a reason
        workspace.change_item(deployment, 3, "toggle", confirm=True)
    workspace.change_item(deployment, 3, "toggle", skip_reason="staging is down; canary in prod instead")
    run = workspace.release(release.id).runs["deployment"]
    assert run.items[2].state is ItemState.NA and run.items[2].na_reason == "staging is down; canary in prod instead"
    assert [(event.item, event.action) for event in run.history] == [(2, "na"), (3, "done")]
    assert workspace.release(release.id).stage is Stage.PRODUCTION


def test_in_order_needs_no_question(workspace):
    release = workspace.create_release(version="1.0.0", title="a")
    pass_gate(workspace, release.id)
    deployment = RunRef("release", release.id, "deployment")
    workspace.change_item(deployment, 2, "toggle")
    workspace.change_item(deployment, 3, "toggle")
    assert workspace.release(release.id).stage is Stage.PRODUCTION


def test_hotfix_production_needs_its_staging_step_too(workspace):
    release = workspace.create_release(version="1.0.1", title="fix", hotfix=True)
    pass_gate(workspace, release.id)
    with pytest.raises(lifecycle.StageSkipped) as asked:
        workspace.change_item(RunRef("release", release.id, "hotfix"), 8, "toggle")
    assert "Deploy to staging and verify fix resolves the issue" in str(asked.value)


def blocked_release(workspace, captain="tester"):
    release = workspace.create_release(version="1.0.0", title="a", captain=captain)
    workspace.change_item(RunRef("release", release.id, "gate"), 0, "toggle")
    return release


def as_person(workspace, reopen, author, settings=None):
    from octotui.services.workspace import Workspace

    return Workspace(reopen(workspace.store), workspace.playbook, clock=workspace.clock, author=author,
                     settings=settings or workspace.settings)


def test_the_captain_cannot_accept_her_own_override(workspace, reopen):
    from octotui.domain.inputs import InputError

    release = blocked_release(workspace)
    with pytest.raises(InputError) as refused:
        workspace.override_gate(release.id, title="Override", decision="ship", status="accepted")
    assert "captain of REL-1" in refused.value.errors["status"]
    decision = workspace.override_gate(release.id, title="Override", decision="ship", status="proposed")
    assert workspace.release(release.id).gate_override is None
    with pytest.raises(InputError):
        workspace.edit_decision(decision.id, status="accepted")  # nor later
    assert workspace.release(release.id).stage is Stage.PLANNED
    ana = as_person(workspace, reopen, "ana")
    ana.edit_decision(decision.id, status="accepted")
    stored = ana.release(release.id)
    assert stored.gate_override == decision.id and stored.stage is Stage.GATE_PASSED
    assert ana.decision(decision.id).history[-1].describe() == "status: proposed → accepted"


def test_only_a_signer_accepts_when_signers_are_set(workspace, reopen):
    from octotui.domain.inputs import InputError
    from octotui.domain.settings import Settings, SignOffRules

    release = blocked_release(workspace)
    decision = workspace.override_gate(release.id, title="Override", decision="ship", status="proposed")
    rules = Settings(signoff=SignOffRules(major=0, signers=["lee"]))
    with pytest.raises(InputError) as refused:
        as_person(workspace, reopen, "ana", rules).edit_decision(decision.id, status="accepted")
    assert "signers: lee" in refused.value.errors["status"]
    as_person(workspace, reopen, "lee", rules).edit_decision(decision.id, status="accepted")
    assert as_person(workspace, reopen, "x").release(release.id).gate_override == decision.id


def test_a_solo_team_may_self_accept_recorded_as_such(workspace, reopen):
    from octotui.domain.settings import Settings, SignOffRules

    release = blocked_release(workspace)
    solo = as_person(workspace, reopen, "tester", Settings(signoff=SignOffRules(major=0, self_accept_override=True)))
    decision = solo.override_gate(release.id, title="Override", decision="ship", status="accepted")
    assert solo.release(release.id).gate_override == decision.id
    assert "self-accepted" in solo.decision(decision.id).history[-1].describe()
    proposed = solo.override_gate(release.id, title="Again", decision="ship", status="proposed")
    assert solo.release(release.id).gate_override == decision.id  # a new proposal leaves the accepted one counting
    solo.edit_decision(proposed.id, status="accepted")
    assert solo.decision(proposed.id).history[-1].describe() == "status: proposed → accepted (self-accepted)"


@pytest.mark.parametrize("how", ["superseded", "rejected", "deprecated", "superseded-existing"])
def test_a_withdrawn_override_stops_counting_at_once(workspace, reopen, how):
    release = blocked_release(workspace)
    decision = workspace.override_gate(release.id, title="Override", decision="ship", status="proposed")
    ana = as_person(workspace, reopen, "ana")
    ana.edit_decision(decision.id, status="accepted")
    assert ana.release(release.id).stage is Stage.GATE_PASSED
    ana.change_item(RunRef("release", release.id, "deployment"), 2, "toggle")  # in Staging on the override
    if how == "superseded":
        ana.supersede(decision.id, title="Withdrawn: gate must be met", decision="meet it", links=release.key)
    elif how == "superseded-existing":
        other = ana.record_decision(title="Withdrawn", decision="meet it")
        ana.supersede_existing(other.id, decision.id)
    else:
        ana.edit_decision(decision.id, status=how)
    stored = ana.release(release.id)
    assert stored.gate_override is None and stored.override_withdrawn
    row = ana.row(release.id)
    assert "override withdrawn — gate not met" in row.flags() and "gate overridden" not in row.flags()
    from octotui.services.workspace import GateBlocked

    with pytest.raises(GateBlocked):  # no further: production waits for the gate
        ana.change_item(RunRef("release", release.id, "deployment"), 3, "toggle")
    for index in range(1, 6):  # the gate met by its checklist: on it goes
        ana.change_item(RunRef("release", release.id, "gate"), index, "toggle")
    assert not ana.release(release.id).override_withdrawn
    ana.change_item(RunRef("release", release.id, "deployment"), 3, "toggle")
    assert ana.release(release.id).stage is Stage.PRODUCTION


def ship(workspace, version, *, confirm=False):
    release = workspace.create_release(version=version, title=f"r {version}")
    pass_gate(workspace, release.id)
    for index in (2, 3):
        workspace.change_item(RunRef("release", release.id, "deployment"), index, "toggle", confirm=confirm)
    return workspace.release(release.id)


def test_in_production_is_the_latest_deployment_and_a_downgrade_asks_and_is_recorded(workspace, clock):
    from octotui.domain import versioning
    from octotui.domain.inputs import NeedsConfirmation

    old = ship(workspace, "2.3.0")
    clock.advance(hours=1)
    current = ship(workspace, "2.4.0")
    clock.advance(hours=1)
    lower = workspace.create_release(version="2.3.5", title="late patch")
    assert "below 2.4.0 in production (REL-2)" in workspace.type_warning("2.3.5", "patch")
    pass_gate(workspace, lower.id)
    workspace.change_item(RunRef("release", lower.id, "deployment"), 2, "toggle")
    with pytest.raises(NeedsConfirmation) as asked:
        workspace.change_item(RunRef("release", lower.id, "deployment"), 3, "toggle")
    assert "downgrade from 2.4.0" in str(asked.value)
    assert workspace.release(lower.id).stage is Stage.STAGING  # nothing moved
    workspace.change_item(RunRef("release", lower.id, "deployment"), 3, "toggle", confirm=True)
    rows = workspace.board_rows()
    assert versioning.in_production(rows).id == lower.id  # the latest deployment, not the highest version
    assert set(versioning.replaced_by(rows)) == {old.id, current.id}
    assert "downgrade from 2.4.0 (REL-2)" in workspace.row(lower.id).flags()
    assert workspace.release(lower.id).lifecycle[-1].action == "downgrade"
    from octotui.comms.reports import release_report

    assert "Deployed as a downgrade from 2.4.0 (REL-2)" in release_report(workspace.release(lower.id), workspace)
    # last known-good of the downgrade is what ran before it, by deployment history
    assert workspace.last_known_good(workspace.release(lower.id)).version == "2.4.0"
    assert workspace.suggest_hotfix_version()[0] == "2.3.6"  # the hotfix patches what production runs


def test_the_type_suggestion_and_its_warning_agree(workspace):
    ship(workspace, "2.4.0")
    workspace.create_release(version="3.0.0", title="next major")  # in flight
    suggested = workspace.suggest_version()
    kind = workspace.suggest_type(suggested)
    assert (suggested, kind.value) == ("3.1.0", "minor")
    assert workspace.type_warning(suggested, kind.value) == ""
    assert "major step" in workspace.type_warning("4.0.0", "minor")


def test_a_release_form_keystroke_parses_the_typed_version_not_the_whole_board(workspace, monkeypatch):
    """The type warning runs on each keystroke, on the event loop: the board's versions are parsed once, not
    each time (at 30k records it held the loop ~150 ms per keystroke)."""
    for number in range(30):
        workspace.create_release(version=f"1.{number}.0", title=f"r{number}")
    assert workspace.type_warning("1.29.1", "minor") != ""  # a patch step chosen as minor: said
    parsed: list[str] = []
    original = Version.parse.__func__

    def counting(cls, text):
        parsed.append(text)
        return original(cls, text)

    monkeypatch.setattr(Version, "parse", classmethod(counting))
    assert workspace.type_warning("1.29.2", "minor") != ""
    assert len(parsed) <= 3, parsed  # the typed version and the base it steps from
