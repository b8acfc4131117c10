"""Issue 29 item 9: a guide that loses its stages is refused (PATH:LINE); a plain list beside a checklist is kept."""

import subprocess
import sys

import pytest
from conftest import REPO

from octotui.domain.playbook import PlaybookError, parse_playbook

GUIDE = (REPO / "tests" / "fixtures" / "octoacme-release-and-deployment.md").read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(("old", "new", "where", "says"), [
    ("- [ ] Deploy to production (automated pipeline preferred)", "- [ ] Ship to prod (automated pipeline preferred)",
     "## Deployment Checklist", "no item that moves a release to Production"),
    ("- [ ] Deploy to staging and run smoke tests", "- [?] Deploy to staging and run smoke tests",
     "- [?] Deploy to staging", "malformed checkbox '[?]'"),
    ("- [ ] Deploy to staging and run smoke tests", "- [ ] Run smoke tests somewhere", "## Deployment Checklist",
     "no item that moves a release to Staging"),
    ("- [ ] Deploy to production with monitoring", "- [ ] Roll out with monitoring", "### Hotfix Checklist",
     "no item that moves a release to Production"),
])
def test_a_guide_that_loses_a_stage_is_refused_with_path_and_line(old, new, where, says):
    assert old in GUIDE
    broken = GUIDE.replace(old, new, 1)
    with pytest.raises(PlaybookError) as refused:
        parse_playbook(broken, "team.md")
    assert refused.value.line == line_of(broken, where) and says in refused.value.message


def test_check_and_start_up_refuse_it(tmp_path):
    guide = tmp_path / "team.md"
    guide.write_text(GUIDE.replace("- [ ] Deploy to staging and run smoke tests", "- [?] Deploy to staging and run "
                                   "smoke tests"), encoding="utf-8")
    line = line_of(guide.read_text(encoding="utf-8"), "- [?]")
    for args in (["--check"], ["--db", str(tmp_path / "db.json")]):
        result = subprocess.run([sys.executable, "-m", "octotui", *args, "--playbook", str(guide)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stdout
        assert f"{guide}:{line}: malformed checkbox" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "db.json").exists()


def test_a_plain_list_beside_a_checklist_is_kept_as_its_reference_text():
    playbook = parse_playbook(GUIDE, "guide.md")
    reference = playbook.by_role("rollback").reference
    assert reference == [("Rollback & Incident Playbook", [
        "• If a deployment fails or causes a critical issue:", "  • Trigger incident response and notify on-call",
        "  • Rollback to last known-good release if necessary", "  • Triage root cause and capture action items"])]


async def test_the_reference_text_shows_beside_the_rollback_checklist(workspace, make_app):
    from octotui.services.workspace import RunRef

    release = workspace.create_release(version="1.0.0", title="a")
    for index in range(6):
        workspace.change_item(RunRef("release", release.id, "gate"), index, "toggle")
    workspace.change_item(RunRef("release", release.id, "deployment"), 2, "toggle")
    workspace.start_rollback(release.id, "errors")
    app = make_app(workspace)
    async with app.run_test(size=(120, 50)) as pilot:
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        app.restored_row = "REL-1:rollback:0"
        await pilot.press("2")
        detail = str(app.screen.query_one("#item-detail").render())
        assert "From the guide — Rollback & Incident Playbook" in detail
        assert "Trigger incident response and notify on-call" in detail
