"""Faults and hostile input, light versions for the suite (tests/faults/run.py has the heavy runs)."""

import os
import shutil
import string
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octotui.comms.exports import madr_filename
from octotui.domain.clock import parse_when
from octotui.domain.playbook import PlaybookError, parse_playbook
from octotui.domain.semver import InvalidVersion, Version
from octotui.domain.text import one_line, unstorable_at, visible
from octotui.services.workspace import InputError, RunRef, Workspace
from octotui.storage.file_store import SCHEMA_VERSION, Store, StoreCorrupt
from octotui.ui.forms import FormScreen
from octotui.ui.recovery import RecoveryApp
from octotui.ui.widgets import status_text

HOSTILE = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["[bold]x[/] [/]", "[link=http://evil]click[/link]", "\x1b[2J\x1b[H", "\x1b]52;c;SGVsbG8=\x07",
                     "\x00\x01\x7f\x9b", "مرحبا بالعالم", "e\u0301\u0301\u0301", "🚀🔥👩‍💻", "a" * 10_000, "[/]", "\\[x]"]),
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- the core with hostile text: refused with a message or stored exactly ---------------------
@FUZZ
@given(text=st.text(max_size=40))
def test_versions_parse_or_are_refused_with_a_message(text):
    try:
        assert str(Version.parse(text)) == text.strip()
    except InvalidVersion as error:
        assert "SemVer" in str(error)


@pytest.mark.both_backends
@FUZZ
@given(title=HOSTILE, note=HOSTILE, reason=HOSTILE)
def test_release_and_checklist_text_is_stored_exactly_or_refused(workspace, title, note, reason):
    try:
        release = workspace.create_release(version=f"1.0.{len(workspace.releases())}", title=title)
    except InputError as error:
        assert set(error.errors) == {"title"} and (not title.strip() or len(title.strip()) > 20_000
                                                   or unstorable_at(title) is not None)
        return
    assert release.title == title.strip()
    ref = RunRef("release", release.id, "gate")
    try:
        workspace.change_item(ref, 0, "note", text=note)
        assert workspace.run(ref).items[0].note == note.strip()
    except InputError as error:  # no backend stores a NUL: refused with a message, on both alike
        assert "cannot be stored" in error.errors["note"] and unstorable_at(note) is not None
    try:
        workspace.change_item(ref, 1, "na", text=reason)
        assert workspace.run(ref).items[1].na_reason == reason.strip()
    except InputError:
        assert not reason.strip() or unstorable_at(reason) is not None


@FUZZ
@given(fields=st.fixed_dictionaries({name: HOSTILE for name in ("title", "context", "decision", "alternatives",
                                                                 "consequences", "owner")}))
@pytest.mark.both_backends
def test_decision_fields_round_trip_and_export_without_escapes(workspace, fields):
    from octotui.comms.exports import decision_log, madr
    try:
        decision = workspace.record_decision(**fields)
    except InputError as error:
        unstorable = {name for name, value in fields.items() if unstorable_at(value.strip()) is not None}
        assert set(error.errors) <= {"title", "decision"} | unstorable
        return
    assert decision.context == fields["context"].strip()
    for text in (decision_log([decision]), madr(decision)):
        assert "\x1b" not in text and "\x07" not in text and "\x00" not in text
    assert "/" not in madr_filename(decision) and not madr_filename(decision).startswith(".")


@FUZZ
@given(text=st.text(max_size=30))
def test_backdated_times_parse_or_explain(clock, text):
    try:
        moment = parse_when(text, clock.now())
        assert moment <= clock.now()
    except ValueError as error:
        assert str(error)


@FUZZ
@given(lines=st.lists(st.one_of(st.sampled_from(["# H", "## Deployment Checklist", "- [ ] item", "- plain",
                                                   "<!-- octotui: checklist gate -->", "<!--", "-->", ""]),
                                st.text(max_size=30)), max_size=40))
def test_any_playbook_text_parses_or_fails_with_path_and_line(lines):
    try:
        parse_playbook("\n".join(lines), "team.md")
    except PlaybookError as error:
        assert str(error).startswith("team.md:") and error.message


@FUZZ
@given(text=HOSTILE)
def test_display_text_never_carries_control_characters(text):
    shown = one_line(text)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert not any(ord(c) < 32 and c not in "\n\t" for c in visible(text))


# -- forms through Pilot with hostile text --------------------------------------------------------
async def test_hostile_text_through_the_forms_is_saved_and_shown_literally(workspace, make_app):
    samples = ["[bold]x[/] [/]", "[link=http://evil]click[/link]", "\x1b[2Jclear", "مرحبا 🚀 e\u0301", "b" * 5_000]
    app = make_app(workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        for number, sample in enumerate(samples):
            await pilot.press("n")
            form = app.screen
            form.query_one("#f-version").value = f"1.{number}.0"
            form.query_one("#f-title").value = sample
            await pilot.press("ctrl+s")
            assert not isinstance(app.screen, FormScreen)
        board = app.screen.query_one("#board")
        titles = {board.get_row_at(i)[3].plain for i in range(board.row_count)}
        assert "[bold]x[/] [/]" in titles
        assert any(title.startswith("[link=http://evil]") for title in titles)
        assert "␛[2Jclear" in titles, "escape shown as a visible symbol, never sent to the terminal"
        assert all(len(title) < 200 for title in titles), "long text is truncated, not wrapped into chaos"
        assert {r.title for r in workspace.releases()} == {s.strip() for s in samples}


# -- disk and file trouble in the running app --------------------------------------------------------
async def test_read_only_database_shows_a_banner_and_refuses_changes(workspace, make_app, monkeypatch):
    release = workspace.create_release(version="1.0.0", title="a")
    monkeypatch.setattr(os, "access", lambda *_args, **_kwargs: False)
    read_only = Workspace(Store(workspace.store.path), workspace.playbook, clock=workspace.clock)
    monkeypatch.undo()
    before = workspace.store.path.read_bytes()
    app = make_app(read_only)
    async with app.run_test(size=(120, 36)) as pilot:
        assert "READ-ONLY" in status_text(app).plain
        app.selected_release_id, app.checklist_owner = release.id, ("release", release.id)
        await pilot.press("2", "space")
        await pilot.pause()
        assert any("read-only" in n.message for n in app._notifications)
    assert workspace.store.path.read_bytes() == before


async def test_folder_removed_while_running_keeps_the_form_and_says_why(tmp_path, playbook, clock, make_app):
    folder = tmp_path / "data"
    workspace = Workspace(Store(folder / "db.json"), playbook, clock=clock)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        shutil.rmtree(folder)
        await pilot.press("n", *"typed title", "ctrl+s")  # focus starts on the title: the version is prefilled
        form = app.screen
        assert isinstance(form, FormScreen), "nothing typed is lost"
        assert "disappeared" in str(form.query_one("#e-_form").render())
        assert form.query_one("#f-title").value == "typed title"
        app.poll_store()
        await pilot.pause()
        status = str(app.screen_stack[0].query_one("#status-text").render())
        assert "DATABASE PROBLEM" in status and "disappeared" in status, "a banner says what and where"


async def test_recovery_moves_a_corrupt_file_aside(tmp_path):
    path = tmp_path / "db.json"
    path.write_text("{broken")
    with pytest.raises(StoreCorrupt) as caught:
        Store(path)
    app = RecoveryApp(caught.value)
    async with app.run_test() as pilot:
        await pilot.press("m")
    assert app.return_value is True
    moved = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1 and moved[0].read_text() == "{broken" and not path.exists()
    app = RecoveryApp(caught.value)
    async with app.run_test() as pilot:
        await pilot.press("q")
    assert app.return_value is False


async def test_clock_jumping_back_never_shows_a_negative_clock(workspace, make_app, clock):
    workspace.start_incident("x", "P1")
    clock.advance(hours=-3)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        assert app.screen.query_one("#clock").value == "00:00:00"
        clock.advance(hours=3, minutes=1)
        app.screen.tick()
        assert app.screen.query_one("#clock").value == "00:01:00"


def test_cli_paths_cannot_escape_the_chosen_output(demo_workspace, tmp_path):
    import subprocess
    import sys
    db = str(demo_workspace.store.path)
    result = subprocess.run([sys.executable, "-m", "octotui", "--db", db, "export", "../../../tmp/evil",
                             "--release", "REL-1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown template" in result.stderr
    demo_workspace.record_decision(title="../../etc/passwd", decision="x")
    out = tmp_path / "adr"
    subprocess.run([sys.executable, "-m", "octotui", "--db", db, "export", "decisions", "--format", "madr", "-o",
                    str(out)], check=True, capture_output=True, timeout=60)
    assert sorted(p.parent for p in out.rglob("*.md")) == [out] * 4
    assert all(set(p.name) <= set(string.ascii_lowercase + string.digits + "-.") for p in out.iterdir())


def test_huge_and_invalid_files_are_reported_not_rewritten(tmp_path, playbook):
    path = tmp_path / "db.json"
    path.write_text(f'{{"meta": {{"1": {{"schema": {SCHEMA_VERSION}}}}}, "decisions": {{"1": {{"title": 3}}}}}}')
    before = path.read_bytes()
    workspace = Workspace(Store(path), playbook)
    with pytest.raises(StoreCorrupt, match="table 'decisions' document 1"):
        workspace.validate_all()
    assert path.read_bytes() == before
    assert Path(path).stat().st_mode & 0o777 in (0o600, 0o644)
    _ = timedelta  # keep import used for readers of the clock helpers above
