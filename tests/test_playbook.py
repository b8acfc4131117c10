"""The guide as data: every seed item word for word, flags parsed from the words, malformed guides refused."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SEED

from octotui.domain.playbook import PlaybookError, data_path, load_playbook, parse_playbook

FIXTURE_SEED = REPO / "tests" / "fixtures" / "octoacme-release-and-deployment.md"


def seed_text() -> str:
    # CI clones have ../shared beside the repo; the fixture is a byte-for-byte copy checked against it.
    if SEED.exists():
        assert SEED.read_text() == FIXTURE_SEED.read_text(), "tests/fixtures seed copy drifted from shared/seed"
        return SEED.read_text()
    return FIXTURE_SEED.read_text()


def seed_lists() -> dict[str, list[str]]:
    """The seed's lists by heading, read independently of the parser under test."""
    lists: dict[str, list[str]] = {}
    heading = None
    for line in seed_text().splitlines():
        if match := re.match(r"^#+\s+(.*)$", line):
            heading = match.group(1).strip()
        elif heading and (match := re.match(r"^- (?:\[ \] )?(.*)$", line)):
            lists.setdefault(heading, []).append(match.group(1))
    return lists


@pytest.mark.parametrize("heading", ["Pre-release requirements", "Deployment Checklist", "Hotfix Checklist",
                                     "Rollback Checklist"])
def test_every_seed_checklist_item_comes_out_word_for_word(playbook, heading):
    assert [item.text for item in playbook.checklists[heading].items] == seed_lists()[heading]


def test_release_notes_fields_match_the_seed(playbook):
    expected = [label.rstrip(":") for label in seed_lists()["Release Notes Template"]]
    assert [field.label for field in playbook.fields["release-notes"]] == expected


@pytest.mark.both_backends
def test_seed_items_reach_a_release_run_word_for_word(workspace):
    release = workspace.create_release(version="1.0.0", title="x")
    texts = [item.text for role in ("gate", "deployment") for item in release.runs[role].items]
    lists = seed_lists()
    assert texts == lists["Pre-release requirements"] + lists["Deployment Checklist"]


def test_our_two_linked_sections_exist(playbook):
    escalation = playbook.by_role("escalation")
    assert escalation.name == "Incident Escalation Checklist"
    assert len(escalation.items) >= 8
    labels = [field.label for field in playbook.fields["incident-communication"]]
    assert labels == ["Incident ID", "Severity", "Status", "Impact", "Start time", "Incident commander",
                      "Current actions", "Next update time"]


def test_item_flags_come_from_the_words(playbook):
    deployment = {item.text: item for item in playbook.by_role("deployment").items}
    assert deployment["Deployment window scheduled (if needed)"].optional
    assert deployment["Backup or snapshot (if applicable)"].optional
    assert not deployment["Run post-deploy verifications"].optional
    decision_items = [item.text for item in playbook.by_role("deployment").items if item.mentions_decision_log]
    assert decision_items == ["Document any deployment decisions in [Decision Log](./octoacme-decision-log.md)"]
    hotfix = {item.text: item for item in playbook.by_role("hotfix").items}
    window = hotfix["Verify fix in production and monitor for 30+ minutes"].timing
    assert (window.kind, window.seconds) == ("window", 1800)
    deadline = hotfix["Schedule post-incident retrospective within 48 hours"].timing
    assert (deadline.kind, deadline.seconds) == ("deadline", 48 * 3600)
    assert hotfix["Deploy to staging and verify fix resolves the issue"].stage == "staging"
    assert hotfix["Backport fix to main development branch if needed"].followup == "release"


def test_durations_come_from_the_text_not_constants(tmp_path):
    source = data_path("playbook.md").read_text().replace("monitor for 30+ minutes", "monitor for 45+ minutes")
    playbook = parse_playbook(source)
    item = next(i for i in playbook.by_role("hotfix").items if i.timing and i.timing.kind == "window")
    assert item.timing.seconds == 45 * 60


GOOD = data_path("playbook.md").read_text()
# Only the gate is required of a team's guide: without its marker and heading, no checklist does its job.
NO_GATE = GOOD.replace("<!-- octotui: checklist gate -->\n", "").replace("## Pre-release requirements", "## Before we ship")
NO_HOTFIX = GOOD.replace("<!-- octotui: checklist hotfix -->\n", "").replace("### Hotfix Checklist", "### Urgent fixes") \
    .replace("## Hotfix Process", "## Urgent process")


@pytest.mark.parametrize(("source", "line", "message"), [
    ("# Nothing here\n\nJust prose.\n", 3, "no checklists found"),
    (GOOD.replace("- [ ] Identify last known-good release version\n", "").replace(
        "- [ ] Notify team and stakeholders of impending rollback\n", "").replace(
        "- [ ] Execute rollback via deployment pipeline or manual process\n", "").replace(
        "- [ ] Verify service health and functionality after rollback\n", "").replace(
        "- [ ] Update status page or communication channels\n", "").replace(
        "- [ ] Document rollback decision and next steps in [Decision Log](./octoacme-decision-log.md)\n", "").replace(
        "- [ ] Investigate root cause and plan proper fix <!-- followup: postmortem -->\n", ""), None,
     "marked as checklist 'rollback' but has no items"),
    (GOOD + "\n## Deployment Checklist\n- [ ] again\n", None, "duplicate checklist name 'Deployment Checklist'"),
    (GOOD.replace("<!-- octotui: checklist gate -->", "<!-- octotui: checklist gates -->"), None, "unknown checklist role 'gates'"),
    (NO_GATE, 1, "no checklist is marked `<!-- octotui: checklist gate -->`"),
    (GOOD + "\n## Extra\n<!-- octotui: checklist-for board -->\n- [ ] x\n", None, "unknown checklist-for 'board'"),
    (GOOD + "\n## Gate\n- [ ] x\n", None, "checklist 'Gate' would be named 'gate', as 'Pre-release requirements' is"),
    (GOOD.replace("## Purpose", "## Hotfix\n- [ ] x\n\n## Purpose"), None, "would be named 'hotfix', a built-in role's name"),
    (GOOD.replace("<!-- octotui: checklist rollback -->", "<!-- octotui: checklist rollback -->\n"
                  "<!-- octotui: checklist-for incident -->"), None, "`checklist-for` is for a checklist without a role"),
    (GOOD.replace("<!-- stage: staging -->", "<!-- stage: moon -->", 1), None, "unknown stage 'moon'"),
])
def test_malformed_guides_are_refused_with_path_and_line(source, line, message):
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(source, "team.md")
    text = str(caught.value)
    assert text.startswith("team.md:")
    assert message in text
    if line is not None:
        assert caught.value.line == line


def test_duplicate_heading_error_points_at_the_second_heading():
    source = GOOD + "\n## Deployment Checklist\n- [ ] again\n"
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(source, "team.md")
    lines = source.splitlines()
    first = lines.index("## Deployment Checklist")
    assert caught.value.line == lines.index("## Deployment Checklist", first + 1) + 1


def test_unreadable_and_invalid_utf8_files(tmp_path):
    with pytest.raises(PlaybookError, match="cannot read"):
        load_playbook(tmp_path / "missing.md")
    with pytest.raises(PlaybookError, match="is a directory"):
        load_playbook(tmp_path)
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"# Title\n\n- [ ] ok\n- [ ] \xff\xfe broken\n")
    with pytest.raises(PlaybookError) as caught:
        load_playbook(bad)
    assert str(caught.value) == f"{bad}:4: is not valid UTF-8"


def test_cli_reports_a_malformed_playbook_on_one_line_and_exits_2(tmp_path):
    bad = tmp_path / "team.md"
    bad.write_text(NO_GATE)
    result = subprocess.run([sys.executable, "-m", "octotui", "--db", str(tmp_path / "db.json"), "--playbook", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"octotui: {bad}:1: no checklist is marked `<!-- octotui: checklist gate -->` and no heading names it"]
    assert not (tmp_path / "db.json").exists(), "no database is touched before the playbook is valid"


def test_a_team_guide_of_the_same_shape_loads(tmp_path):
    team = tmp_path / "team.md"
    team.write_text(GOOD.replace("Smoke tests prepared", "Smoke tests prepared and reviewed"))
    playbook = load_playbook(Path(team))
    assert "Smoke tests prepared and reviewed" in [i.text for i in playbook.by_role("gate").items]


def test_the_guide_as_published_loads_without_annotations():
    """The company's file exactly as published: each job found by its heading; what it lacks comes from
    octotui's own defaults, and says so."""
    playbook = load_playbook(FIXTURE_SEED)
    roles = {checklist.role: checklist for checklist in playbook.checklists.values()}
    assert set(roles) == {"gate", "deployment", "hotfix", "rollback", "escalation"}
    assert roles["gate"].name == "Pre-release requirements" and len(roles["gate"].items) == 6
    assert roles["rollback"].name == "Rollback Checklist", "not “Rollback & Incident Playbook”, a plain list"
    stages = {item.stage: item.text for item in roles["deployment"].items if item.stage}
    assert stages == {"staging": "Deploy to staging and run smoke tests",
                      "production": "Deploy to production (automated pipeline preferred)"}
    assert [item.followup for item in roles["hotfix"].items if item.followup] == ["release"]
    assert playbook.defaults == ["escalation", "incident-communication"]
    assert "release-notes" in playbook.fields and sorted(playbook.inferred) == [
        "deployment", "gate", "hotfix", "release-notes", "rollback"]


def test_an_annotation_still_wins_over_a_heading():
    source = FIXTURE_SEED.read_text().replace("## Deployment Checklist\n", "## Deployment Checklist\n\n## Ship it\n"
                                              "<!-- octotui: checklist deployment -->\n- [ ] Stage it <!-- stage: staging -->\n"
                                              "- [ ] Push the button <!-- stage: production -->\n", 1)
    playbook = parse_playbook(source, "team.md")
    assert playbook.by_role("deployment").name == "Ship it"


def test_octotui_authored_sections_say_they_are_octotuis_default():
    bundled = data_path("playbook.md").read_text(encoding="utf-8")
    assert "Written by OctoAcme" not in bundled
    assert bundled.count("octotui's default, not OctoAcme's words") == 2
