"""The command line: one clear line on stderr and exit 2 for anything a person can get wrong."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from octotui.cli import main
from octotui.cli_common import resolve_db_location
from octotui.services.demo import load_demo


def run(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "octotui", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("octotui 0.")


@pytest.mark.parametrize("args", [["--bogus"], ["--clipboard", "carrier-pigeon"], ["export", "--format", "pdf"]])
def test_bad_flags_are_one_line_and_exit_2(args, tmp_path):
    result = run("--db", str(tmp_path / "db.json"), *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("octotui: ") and "Traceback" not in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--playbook", "/nonexistent/guide.md"], "/nonexistent/guide.md: playbook not found or not a file"),
    (["--templates", "/nonexistent/t"], "/nonexistent/t: templates folder not found"),
])
def test_unreadable_paths(args, message, tmp_path):
    result = run("--db", str(tmp_path / "db.json"), *args)
    assert result.returncode == 2 and result.stderr.strip() == f"octotui: {message}"


def test_db_that_is_a_directory_or_corrupt_or_newer(tmp_path):
    result = run("--db", str(tmp_path), "export", "decisions")
    assert result.returncode == 2 and "is a directory" in result.stderr
    corrupt = tmp_path / "bad.json"
    corrupt.write_text("{nope")
    result = run("--db", str(corrupt), "export", "decisions")
    assert result.returncode == 2 and "not valid JSON" in result.stderr and corrupt.read_text() == "{nope"
    newer = tmp_path / "new.json"
    newer.write_text(json.dumps({"meta": {"1": {"schema": 99}}}))
    result = run("--db", str(newer), "export", "decisions")
    assert result.returncode == 2 and "newer octotui" in result.stderr


def test_db_flag_beats_env_which_beats_default(tmp_path, monkeypatch):
    monkeypatch.setenv("OCTOTUI_DB", str(tmp_path / "env.json"))
    assert resolve_db_location(str(tmp_path / "flag.json")) == str(tmp_path / "flag.json")
    assert resolve_db_location(None, "/from/settings.json") == str(tmp_path / "env.json")
    monkeypatch.delenv("OCTOTUI_DB")
    assert Path(resolve_db_location(None)).name == "octotui.json"
    assert resolve_db_location(None, "postgresql://team@db/octotui") == "postgresql://team@db/octotui"


def test_check_loads_everything_headless(tmp_path):
    result = run("--check")
    assert result.returncode == 0, result.stderr
    assert "5 checklists" in result.stdout and "templates: 8" in result.stdout and "styles: loaded" in result.stdout


@pytest.fixture
def demo_db(tmp_path, workspace):
    load_demo(workspace)
    return str(workspace.store.path)


def test_export_list_and_templates(demo_db, tmp_path):
    listing = run("--db", demo_db, "export", "--list")
    assert listing.returncode == 0 and "incident-update\tincident" in listing.stdout
    update = run("--db", demo_db, "export", "incident-update", "--incident", "INC-1", "--allow-missing")
    assert update.returncode == 0 and update.stdout.startswith("[P1] INC-1 update: Checkout errors after 2.4.0")
    refused = run("--db", demo_db, "export", "release-notes", "--release", "2.4.0")
    assert refused.returncode == 3 and refused.stdout == ""
    assert "is missing: summary, notable_changes" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    notes = run("--db", demo_db, "export", "release-notes", "--release", "2.4.0", "--allow-missing")
    assert notes.returncode == 0 and "Release name / number: 2.4.0 — Saved carts" in notes.stdout
    assert "written with missing values" in notes.stderr and "⟦migration_steps⟧" in notes.stdout
    out = tmp_path / "notes.md"
    blocked = run("--db", demo_db, "export", "release-notes", "--release", "REL-2", "-o", str(out))
    assert blocked.returncode == 3 and not out.exists(), "nothing is written when values are missing"
    written = run("--db", demo_db, "export", "release-notes", "--release", "REL-2", "-o", str(out), "--allow-missing")
    assert written.returncode == 0 and out.read_text() == notes.stdout
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"


def test_export_of_a_text_whose_promise_is_past_exits_3(demo_db):
    """The demo's INC-1 update was due long ago (the demo ran at the frozen clock): never a past time as if
    it were ahead; exit 3 unless --allow-missing, and then the text says it is overdue."""
    for name in ("incident-update", "escalation"):
        refused = run("--db", demo_db, "export", name, "--incident", "INC-1")
        assert refused.returncode == 3 and refused.stdout == "", refused.stderr
        assert "the promised update time 2026-11-26" in refused.stderr and "has passed" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        written = run("--db", demo_db, "export", name, "--incident", "INC-1", "--allow-missing")
        assert written.returncode == 0 and "overdue (was due 2026-11-26 " in written.stdout
        assert "; next update by " in written.stdout and "has passed" in written.stderr


def test_export_of_a_resolution_for_an_open_incident_exits_3(demo_db):
    refused = run("--db", demo_db, "export", "incident-resolution", "--incident", "INC-1")
    assert refused.returncode == 3 and ", not Resolved" in refused.stderr, refused.stderr
    written = run("--db", demo_db, "export", "incident-resolution", "--incident", "INC-1", "--allow-missing")
    assert written.returncode == 0 and "[Resolved]" not in written.stdout and "is resolved" not in written.stdout


def test_export_postmortem_of_the_demo_incident(demo_db):
    result = run("--db", demo_db, "export", "postmortem", "--incident", "INC-1", "--allow-missing")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("# Postmortem: INC-1 — Checkout errors after 2.4.0")
    assert "## Timeline" in text and "2.4.1 — Fix coupon rounding" in text and "Hotfix Checklist" in text and "⟦" not in text.split("## Follow-up items")[1]
    assert "Assign roles" not in text.split("## Follow-up items")[1]


@pytest.mark.parametrize(("args", "message"), [
    (["export", "nope", "--release", "REL-1"], "unknown template 'nope'"),
    (["export", "release-notes", "--release", "9.9.9"], "unknown release '9.9.9'"),
    (["export", "incident-update", "--incident", "INC-42"], "unknown incident 'INC-42'"),
    (["export", "incident-update"], "needs --incident"),
    (["export"], "export needs a template name"),
    (["export", "decisions", "--format", "madr"], "--format madr needs -o DIR"),
])
def test_export_mistakes(demo_db, args, message):
    result = run("--db", demo_db, *args)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_export_decisions(demo_db, tmp_path):
    log = run("--db", demo_db, "export", "decisions")
    assert log.returncode == 0 and log.stdout.startswith("# OctoAcme Decision Log")
    madr = run("--db", demo_db, "export", "decisions", "--format", "madr", "-o", str(tmp_path / "adr"))
    assert madr.returncode == 0 and len(list((tmp_path / "adr").glob("*.md"))) == 3


def test_export_copy_without_any_clipboard_writes_the_file(demo_db):
    result = run("--db", demo_db, "export", "incident-update", "--incident", "INC-1", "--copy", "--allow-missing",
                 env={"DISPLAY": ""})
    assert result.returncode == 0
    fallback = os.path.join(os.path.dirname(demo_db), "octotui-clipboard.md")
    assert "Written to " + fallback in result.stderr
    with open(fallback) as handle:
        assert handle.read().startswith("[P1] INC-1 update")


def test_main_returns_2_not_raises(tmp_path, capsys):
    assert main(["--db", str(tmp_path / "x.json"), "--playbook", str(tmp_path)]) == 2
    assert "playbook not found" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc: a folder where nothing can be created")
def test_a_folder_where_no_file_can_be_created_is_reported_at_once():
    result = run("--db", "/proc/octotui-test.json", "export", "decisions")  # exports only read: nothing is created
    assert result.returncode == 2
    assert result.stderr.strip() == "octotui: /proc/octotui-test.json: no database here yet (start octotui once, or check --db)"
    from octotui.storage.file_store import Store, StoreUnavailable
    with pytest.raises(StoreUnavailable, match="cannot create"):
        Store("/proc/octotui-test.json")  # what the app opens


def test_check_says_what_it_found_in_a_guide_as_published():
    result = run("--check", "--playbook", str(REPO / "tests" / "fixtures" / "octoacme-release-and-deployment.md"))
    assert result.returncode == 0, result.stderr
    assert "found by heading (no annotation): gate, hotfix, rollback, deployment, release-notes" in result.stdout
    assert "octotui's defaults used: escalation, incident-communication" in result.stdout


def test_export_release_report(demo_db, tmp_path):
    out = tmp_path / "report.md"
    result = run("--db", demo_db, "export", "release-report", "--release", "2.4.0", "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text.startswith("# Release report: REL-2 2.4.0 — Saved carts") and "## Pre-release requirements (6/6)" in text
    assert run("--db", demo_db, "export", "release-report").returncode == 2


def test_demo_size_writes_the_same_database_for_the_same_n_and_refuses_a_full_one(tmp_path):
    from octotui.storage.file_store import read_tables

    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for path in (first, second):
        result = run("demo", "--size", "400", "--db", str(path))
        assert result.returncode == 0, result.stderr
    assert "20 releases, 20 incidents and 360 decisions" in result.stderr
    def without_id(tables):  # each database has its own id
        return {**tables, "meta": {key: {k: v for k, v in doc.items() if k != "id"} for key, doc in tables["meta"].items()}}

    assert without_id(read_tables(first)) == without_id(read_tables(second)), "deterministic for a given N"
    again = run("demo", "--size", "10", "--db", str(first))
    assert again.returncode == 2 and "already holds records" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    bad = run("demo", "--size", "-5", "--db", str(tmp_path / "c.json"))
    assert bad.returncode == 2 and "between 0 and 2,000,000" in bad.stderr
    tables = read_tables(first)
    release = next(iter(tables["releases"].values()))
    assert any(doc["owner"] == "REL-1" for doc in tables["events"].values()), "releases carry checklist histories"
    assert release["runs"]["gate"]["items"][0]["state"] in ("done", "na")


def test_demo_without_size_writes_the_small_demo(tmp_path):
    result = run("demo", "--db", str(tmp_path / "d.json"))
    assert result.returncode == 0 and "wrote the demo data" in result.stderr
