"""Decision exports: the team's log and MADR files, golden and with awkward text."""

import os
import stat

import pytest
from conftest import AWKWARD

from octotui.comms.exports import decision_log, madr, madr_filename, write_madr_dir

pytestmark = pytest.mark.both_backends  # the service suite runs on both backends


def decisions(workspace, clock):
    release = workspace.create_release(version="2.4.0", title="Saved carts")
    first = workspace.record_decision(title="Ship behind a flag", context="Load unknown", decision="10% first",
                                      alternatives="Big bang\nDelay", consequences="Two code paths", owner="maria",
                                      links=release.key)
    clock.advance(days=1)
    workspace.supersede(first.id, title="Ship to all", context="Load fine at 10%", decision="Enable for everyone",
                        owner="maria", links=release.key)
    workspace.record_decision(title=AWKWARD, context=AWKWARD, decision=AWKWARD, status="proposed")
    return workspace.decisions_newest_first()


def test_decision_log_golden(workspace, clock, golden):
    golden("decision-log.md", decision_log(decisions(workspace, clock)))


def test_madr_golden(workspace, clock, golden):
    for decision in decisions(workspace, clock):
        golden(f"madr/{madr_filename(decision)}", madr(decision))


def test_awkward_text_cannot_break_the_structure(workspace, clock):
    text = decision_log(decisions(workspace, clock))
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert len(headings) == 4 and headings[2:] == ["## DEC-2: Ship to all", "## DEC-1: Ship behind a flag"]
    assert headings[1].startswith("## DEC-3: \\[bold\\]x\\[/\\] \\[/\\] ␛\\[31mred")
    assert headings[1].endswith("🚀<br>\\#\\# line two")
    assert "\x1b" not in text and "\x07" not in text


def test_madr_directory_is_updated_not_duplicated(workspace, clock, tmp_path):
    folder = tmp_path / "adr"
    items = decisions(workspace, clock)
    write_madr_dir(items, folder)
    workspace.edit_decision(items[-1].id, title="Ship behind a feature flag")
    write_madr_dir(workspace.decisions_newest_first(), folder)
    names = sorted(path.name for path in folder.iterdir())
    assert names[0] == "0001-ship-behind-a-feature-flag.md" and len(names) == 3
    assert all(stat.S_IMODE(os.stat(folder / name).st_mode) == 0o600 for name in names)
