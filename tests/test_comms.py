"""Templates filled from live state: golden files with full, sparse and awkward data; honest clipboard."""

import os
import stat
import sys
from datetime import timedelta

import pytest
from conftest import AWKWARD

from octotui.comms.clipboard import copy_native, copy_text
from octotui.comms.templates import MISSING, TemplateError, fill, load_templates, parse_template, render
from octotui.services.workspace import RunRef

pytestmark = pytest.mark.both_backends  # the service suite runs on both backends

RELEASE_TEMPLATES = ["release-notes", "release-announcement", "rollback-notice"]
INCIDENT_TEMPLATES = ["incident-initial", "incident-update", "incident-resolution", "escalation", "postmortem"]


def test_all_required_templates_exist(templates):
    assert set(RELEASE_TEMPLATES + INCIDENT_TEMPLATES) <= set(templates)


def full_release(workspace):
    release = workspace.create_release(version="2.4.0", title="Saved carts", captain="maria", target_date="2026-11-28")
    workspace.set_release_notes(release.id, {"summary": "Carts survive logout", "notable_changes": "- Saved carts\n- Faster cart page",
                                             "migration_steps": "None", "known_issues": "Safari 15 shows an old badge"})
    return workspace.release(release.id)


def full_incident(workspace, clock):
    incident = workspace.start_incident("Checkout errors", "P1", started_at=clock.now() - timedelta(minutes=20),
                                        impact="3% of checkouts fail")
    workspace.assign_role(incident.id, "comms", "devi")
    workspace.assign_role(incident.id, "tech", "sam")
    workspace.set_current_actions(incident.id, "Rolling out the hotfix")
    clock.advance(minutes=5)
    workspace.set_status(incident.id, "Identified")
    workspace.add_note(incident.id, "Coupon rounding bug found")
    workspace.record_decision(title="Fix forward", decision="Ship 2.4.1 instead of rolling back", links=incident.key)
    workspace.change_item(RunRef("incident", incident.id, "escalation"), 0, "toggle", confirm=True)
    clock.advance(minutes=10)
    workspace.set_status(incident.id, "Mitigated")
    clock.advance(minutes=30)
    workspace.set_status(incident.id, "Resolved", confirm=True)
    return workspace.incident(incident.id)


@pytest.mark.parametrize("name", RELEASE_TEMPLATES)
def test_release_templates_full(workspace, templates, golden, name):
    release = full_release(workspace)
    if name == "rollback-notice":
        for index in range(6):
            workspace.change_item(RunRef("release", release.id, "gate"), index, "toggle")
        for index in range(3):
            workspace.change_item(RunRef("release", release.id, "deployment"), index, "toggle")
        incident = workspace.start_incident("5xx after deploy", "P1", release_id=release.id)
        release = workspace.start_rollback(release.id, f"5xx spike ({incident.key})")
    filled = render(templates[name], release, workspace)
    golden(f"{name}.full.md", filled.text)


@pytest.mark.parametrize("name", RELEASE_TEMPLATES)
def test_release_templates_sparse_mark_what_is_missing(workspace, templates, golden, name):
    release = workspace.create_release(version="0.1.0", title="First")
    filled = render(templates[name], release, workspace)
    golden(f"{name}.sparse.md", filled.text)
    assert filled.missing, "a sparse release must report missing values"
    for key in filled.missing:
        assert MISSING.format(key) in filled.text


@pytest.mark.parametrize("name", INCIDENT_TEMPLATES)
def test_incident_templates_full(workspace, templates, golden, clock, name):
    incident = full_incident(workspace, clock)
    golden(f"{name}.full.md", render(templates[name], incident, workspace).text)


@pytest.mark.parametrize("name", INCIDENT_TEMPLATES)
def test_incident_templates_sparse(workspace, templates, golden, name):
    incident = workspace.start_incident("Something is off", "P3")
    filled = render(templates[name], incident, workspace)
    golden(f"{name}.sparse.md", filled.text)


def scripted_incident(workspace, clock, resolve=True):
    """A P2 that became a P1, was acknowledged, rolled back 2.4.0 and resolved (or left Mitigated, still open):
    every section has content."""
    shipped = workspace.create_release(version="2.3.0", title="Search tuning")
    release = workspace.create_release(version="2.4.0", title="Saved carts")
    for ship in (shipped, release):
        for index in range(6):
            workspace.change_item(RunRef("release", ship.id, "gate"), index, "toggle")
        for index in range(7 if ship is shipped else 4):
            workspace.change_item(RunRef("release", ship.id, "deployment"), index, "toggle", confirm=True)
    incident = workspace.start_incident("Checkout errors", "P2", impact="3% of checkouts fail")
    clock.advance(minutes=3)
    workspace.acknowledge(incident.id)
    workspace.set_severity(incident.id, "P1")
    workspace.set_channel(incident.id, "#inc-checkout")
    workspace.assign_role(incident.id, "comms", "devi")
    workspace.assign_role(incident.id, "tech", "sam")
    clock.advance(minutes=4)
    workspace.start_rollback(release.id, "5xx after deploy", incident_id=incident.id)
    workspace.change_item(RunRef("release", release.id, "rollback"), 0, "toggle")
    workspace.record_decision(title="Roll back first", decision="Roll back 2.4.0, fix after", links=incident.key)
    workspace.add_note(incident.id, "Add a contract test for coupon rounding", followup=True)
    clock.advance(minutes=12)
    workspace.set_status(incident.id, "Mitigated")
    if resolve:
        clock.advance(minutes=20)
        workspace.set_status(incident.id, "Resolved", confirm=True)
    return workspace.incident(incident.id)


def test_postmortem_for_a_scripted_incident(workspace, templates, clock, golden):
    workspace.settings.timezone = "Europe/Berlin"
    incident = scripted_incident(workspace, clock)
    filled = render(templates["postmortem"], incident, workspace)
    golden("postmortem.scripted.md", filled.text)
    assert filled.missing == []
    assert "Severity: P2 → P1" in filled.text and "REL-2 2.4.0" in filled.text and "Rollback Checklist: 1/7" in filled.text
    follow_ups = filled.text.split("## Follow-up items")[1].split("##")[0]
    assert "contract test for coupon rounding" in follow_ups and "Investigate root cause" in follow_ups
    assert "Assign roles" not in follow_ups and "Assess severity" not in follow_ups, "never what the app saw done"


@pytest.mark.parametrize("name", RELEASE_TEMPLATES + INCIDENT_TEMPLATES)
def test_every_time_in_every_template_names_its_zone(workspace, templates, clock, name):
    import re
    workspace.settings.timezone = "America/New_York"
    # Texts sent while the incident is open carry the next update's time; the others are read after it.
    incident = scripted_incident(workspace, clock, resolve=name not in ("incident-initial", "incident-update", "escalation"))
    release = workspace.release(2)
    owner = release if templates[name].context == "release" else incident
    text = render(templates[name], owner, workspace).text
    times = list(re.finditer(r"\b\d{2}:\d{2}\b(?!:)", text))
    if name in RELEASE_TEMPLATES:
        assert times == [], f"{name}: release texts name dates, not clock times: {text!r}"
    else:
        assert times, f"{name}: no time in the text, so this case would check nothing: {text!r}"
    for match in times:
        assert text[match.end():match.end() + 4] == " EST", f"{name}: {text[match.start() - 11:match.end() + 8]!r}"


@pytest.mark.parametrize("name", RELEASE_TEMPLATES + INCIDENT_TEMPLATES)
def test_awkward_text_is_kept_and_escapes_never_pass(workspace, templates, clock, name):
    release = workspace.create_release(version="1.0.0", title=AWKWARD)
    workspace.set_release_notes(release.id, {"summary": AWKWARD})
    incident = workspace.start_incident(AWKWARD, "P1", impact=AWKWARD)
    owner = workspace.release(release.id) if templates[name].context == "release" else workspace.incident(incident.id)
    text = render(templates[name], owner, workspace).text
    assert "\x1b" not in text and "\x07" not in text
    assert "[bold]x[/] [/]" in text and "مرحبا" in text and "🚀" in text


def test_edited_text_wins_and_is_kept(workspace, templates):
    release = full_release(workspace)
    workspace.set_comms_text("release", release.id, "release-notes", "My own words")
    filled = render(templates["release-notes"], workspace.release(release.id), workspace)
    assert filled.text == "My own words" and filled.edited


def test_templates_cannot_run_code():
    template = parse_template("t", "<!-- octotui: title=T; context=release -->\n${__import__('os')} $title {{ 7*7 }} $$ $5")
    filled = fill(template, {"title": "ok"})
    assert filled.text == "${__import__('os')} ok {{ 7*7 }} $ $5"


def test_team_templates_override_and_bad_ones_are_reported(tmp_path):
    (tmp_path / "release-notes.md").write_text("<!-- octotui: title=Ours; context=release -->\nNotes for $version\n")
    templates = load_templates(tmp_path)
    assert templates["release-notes"].title == "Ours" and "incident-update" in templates
    (tmp_path / "broken.md").write_text("no header\n")
    with pytest.raises(TemplateError, match="broken.md:1"):
        load_templates(tmp_path)


# -- clipboard ----------------------------------------------------------------------------------
FAILING_BACKEND = [sys.executable, "-c", "import sys; sys.stderr.write('Error: Can\\'t open display: (null)'); sys.exit(1)"]
HANGING_BACKEND = [sys.executable, "-c", "import time; time.sleep(30)"]
LYING_BACKEND = [sys.executable, "-c", "import sys; sys.exit(4)"]  # "copied", but paste gave something else


@pytest.mark.parametrize(("backend", "reason"), [(FAILING_BACKEND, "Can't open display"),
                                                 (HANGING_BACKEND, "did not answer"),
                                                 (LYING_BACKEND, "could not be confirmed")])
def test_a_bad_backend_is_not_believed_and_the_file_is_written(tmp_path, capfd, backend, reason):
    sent = []
    outcome = copy_text("hello", "auto", tmp_path / "clip.md", send_osc52=lambda text: sent.append(text) or True,
                        command=backend, timeout=1.0)
    assert sent == ["hello"]
    assert not outcome.native and outcome.osc52 and outcome.file == tmp_path / "clip.md"
    assert (tmp_path / "clip.md").read_text() == "hello"
    assert stat.S_IMODE(os.stat(tmp_path / "clip.md").st_mode) == 0o600
    assert outcome.message().startswith(f"Written to {tmp_path / 'clip.md'}; emitted to the terminal (OSC 52, not confirmable)")
    assert reason in outcome.message()
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == "", "a backend must never write onto the terminal"


def test_a_confirmed_copy_says_copied(tmp_path):
    outcome = copy_text("hello", "auto", tmp_path / "clip.md", send_osc52=lambda text: True,
                        command=[sys.executable, "-c", "import sys; sys.stdin.read()"])
    assert outcome.native and outcome.file is None
    assert outcome.message() == "Copied to system clipboard; emitted to the terminal (OSC 52, not confirmable)"


def test_no_display_means_no_native_attempt():
    assert copy_native("x") == (False, "no display")  # conftest removed DISPLAY


def test_file_mode_only_writes_the_file(tmp_path):
    outcome = copy_text("hello", "file", tmp_path / "clip.md", send_osc52=lambda text: pytest.fail("no OSC 52"))
    assert outcome.message() == f"Written to {tmp_path / 'clip.md'}"
