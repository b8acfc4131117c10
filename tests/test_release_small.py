"""Issue 29 item 11: the smaller things, each with its test."""

import subprocess
import sys

import pytest

from octotui.comms.exports import write_madr_dir
from octotui.comms.templates import render
from octotui.domain.inputs import InputError
from octotui.services.records import describe_event
from octotui.services.workspace import RunRef


def shipped(workspace, version="2.4.0"):
    release = workspace.create_release(version=version, title="Saved carts")
    for index in range(6):
        workspace.change_item(RunRef("release", release.id, "gate"), index, "toggle")
    for index in (2, 3):
        workspace.change_item(RunRef("release", release.id, "deployment"), index, "toggle")
    return workspace.release(release.id)


@pytest.mark.both_backends
def test_a_rolling_back_announcement_says_rolling_back(workspace, templates):
    release = shipped(workspace)
    workspace.start_rollback(release.id, "errors")
    text = render(templates["release-announcement"], workspace.release(release.id), workspace).text
    assert "Subject: Rolling back 2.4.0" in text and "is being rolled back" in text


def test_export_list_needs_no_database(tmp_path):
    missing = tmp_path / "nowhere" / "db.json"
    result = subprocess.run([sys.executable, "-m", "octotui", "--db", str(missing), "export", "--list"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "release-announcement" in result.stdout and "release-report" in result.stdout
    assert not missing.parent.exists()


@pytest.mark.both_backends
def test_madr_export_says_when_a_foreign_file_shares_a_number(workspace, tmp_path):
    decision = workspace.record_decision(title="Adopt SemVer", decision="yes")
    (tmp_path / "0001-mine.md").write_text("my own notes\n")
    result = write_madr_dir([decision], tmp_path)
    assert [path.name for path in result.written] == ["0001-adopt-semver.md"]
    assert [(theirs.name, ours.name) for theirs, ours in result.shared_numbers] == [("0001-mine.md", "0001-adopt-semver.md")]
    assert (tmp_path / "0001-mine.md").read_text() == "my own notes\n"


@pytest.mark.both_backends
def test_guide_links_are_shown_as_their_text_in_the_timeline_and_dialogs(workspace):
    release = workspace.create_release(version="1.0.0", title="a")
    incident = workspace.start_incident("errors", "P1", release_id=release.id)
    ref = RunRef("release", release.id, "gate")
    run = workspace.change_item(ref, 5, "toggle")  # Key decisions documented in [Decision Log](./...)
    line = describe_event(run, run.history[-1])
    assert "Decision Log" in line and "](" not in line
    timeline = workspace.incident(incident.id).timeline
    assert any("Decision Log" in event.text for event in timeline)
    assert not any("](./" in event.text for event in timeline)
    decision = workspace.record_decision(title="x", decision="y", item_ref=ref, item_index=5)
    assert decision.item == "Key decisions documented in Decision Log"


@pytest.mark.both_backends
def test_error_messages_show_the_value_up_to_60_characters(workspace):
    typed = "2026-11-31 is the day we agreed with the payments team last week"
    try:
        workspace.create_release(version="1.0.0", title="a", target_date=typed)
    except InputError as error:
        message = error.errors["target_date"]
    assert typed[:59] in message and typed not in message


async def test_palette_release_report_from_comms_reports_the_release_shown_there(workspace, make_app):
    other = workspace.create_release(version="1.0.0", title="on the checklist")
    shown = workspace.create_release(version="2.0.0", title="shown in comms")
    app = make_app(workspace)
    copied = []
    app.copy_text = lambda text, label: copied.append(label)
    async with app.run_test(size=(120, 40)) as pilot:
        app.checklist_owner = ("release", other.id)
        app.selected_release_id = shown.id
        await pilot.press("5")
        assert "REL-2" in str(app.screen.query_one("#comms-context").render())
        app.run_command(None, "app.release_report")
        await pilot.pause()
    assert copied == ["Release report REL-2"]


async def test_decision_titles_at_80x24_keep_room(workspace, make_app):
    workspace.record_decision(title="Rollback before root cause during peak hours", decision="y", links="")
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        table = app.screen.query_one("#decisions")
        title = table.get_row_at(0)[2].plain
        widths = [column.get_render_width(table) for column in table.columns.values()]
        assert sum(widths) <= 80
        assert table.columns[list(table.columns)[2]].width >= 30 and title.startswith("Rollback before root cause")


@pytest.mark.both_backends
def test_the_decision_history_says_old_and_new(workspace, reopen):
    from octotui.services.workspace import Workspace
    from octotui.ui.screens.decisions import decision_text

    release = workspace.create_release(version="1.0.0", title="a", captain="tester")
    workspace.change_item(RunRef("release", release.id, "gate"), 0, "toggle")
    override = workspace.override_gate(release.id, title="Override", decision="ship", status="proposed")
    ana = Workspace(reopen(workspace.store), workspace.playbook, clock=workspace.clock, author="ana",
                    settings=workspace.settings)
    ana.edit_decision(override.id, status="accepted")
    ana.supersede(override.id, title="Withdrawn: gate must be met", decision="meet it", links=release.key)
    text = decision_text(ana.decision(override.id)).plain
    assert "ana changed status: proposed → accepted" in text
    assert "ana changed status: accepted → superseded by DEC-2" in text
