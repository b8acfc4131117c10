"""`octotui export metrics` and `octotui export data`: the shapes the issue names, and bad input as one line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import AWKWARD, FROZEN_AT
from tinydb import TinyDB

from octotui.cli import main
from octotui.domain.clock import FrozenClock
from octotui.domain.models import Severity
from octotui.services.demo import load_demo
from octotui.services.workspace import Workspace
from octotui.storage.file_store import Store

PERIOD = ["--since", "2026-11-01", "--until", "2026-12-01"]


@pytest.fixture
def demo_db(tmp_path: Path, playbook) -> Path:
    path = tmp_path / "demo.json"
    workspace = Workspace(Store(path), playbook, clock=FrozenClock(FROZEN_AT), author="maria")
    load_demo(workspace)
    workspace.start_incident(AWKWARD, Severity.P2)  # a hostile title in the record
    workspace.store.close()
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "octotui", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ})


def test_metrics_json_has_the_issue_shape(demo_db: Path, capsys) -> None:
    assert main(["export", "metrics", "--db", str(demo_db), *PERIOD, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["since"] == "2026-11-01T00:00:00+00:00" and document["until"] == "2026-12-01T00:00:00+00:00"
    # November: three deployments of the demo's last three days and five of the history's weeks before them.
    assert document["deployments"] == 8
    assert document["deploys_per_week"] == round(8 / (30 / 7), 2)
    assert set(document["lead_time_hours"]) == {"median", "p90"}
    assert document["change_failure_rate"] == 0.5
    assert document["recovery_time_hours"] == {"median": 1.43, "count": 3, "unfinished": 0}
    assert set(document["incidents"]) == {"P0", "P1", "P2", "P3"}
    assert document["incidents"]["P2"]["count"] == 2  # one of the history's, and the hostile one: open, unacknowledged
    assert document["incidents"]["P2"]["mtta_minutes"] == {"median": 7.0, "mean": 7.0, "missing": 1}
    assert [week["week"] for week in document["weekly"]] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47",
                                                             "2026-W48", "2026-W49"]
    assert document["weekly"][4] == {"week": "2026-W48", "deployments": 3, "failures": 2}


def test_metrics_markdown_and_csv(demo_db: Path, capsys) -> None:
    assert main(["export", "metrics", "--db", str(demo_db), *PERIOD]) == 0
    markdown = capsys.readouterr().out
    assert "| Deployments | 8 |" in markdown and "## Definitions" in markdown and "Change failure rate" in markdown
    assert main(["export", "metrics", "--db", str(demo_db), *PERIOD, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["metric", "value"] and ["deployments", "8"] in rows
    assert ["incidents.P0.mtta_minutes.median", ""] in rows  # nothing to measure: empty, not NaN
    assert ["2026-W48", "3", "2"] in rows


def test_a_period_without_data_is_an_honest_empty_report(demo_db: Path, capsys) -> None:
    assert main(["export", "metrics", "--db", str(demo_db), "--since", "2020-01-01", "--until", "2020-02-01"]) == 0
    markdown = capsys.readouterr().out
    assert "No deployments in this period" in markdown and "nan" not in markdown.lower()
    assert main(["export", "metrics", "--db", str(demo_db), "--since", "2020-01-01", "--until", "2020-02-01",
                 "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["deployments"] == 0 and document["change_failure_rate"] is None


@pytest.mark.parametrize(("args", "says"), [
    (["--since", "2026-12-01", "--until", "2026-11-01"], "must be before --until"),
    (["--since", "2026-11-01", "--until", "2026-11-01"], "must be before --until"),
    (["--since", "yesterday"], "--since 'yesterday': not a date"),
    (["--until", "2026-13-45"], "--until '2026-13-45': not a date"),
    (["--format", "madr"], "metrics are md, csv or json"),
])
def test_bad_periods_are_one_line_and_exit_2(demo_db: Path, args: list[str], says: str) -> None:
    result = run("export", "metrics", "--db", str(demo_db), *args)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("octotui: ") and says in lines[0]


def test_export_data_opens_in_stock_tinydb(demo_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "backup.json"
    assert main(["export", "data", "--db", str(demo_db), "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert text.isascii()  # no byte of anyone's text can act on a terminal it is printed to
    database = TinyDB(target)
    releases = {doc["id"]: doc for doc in database.table("releases").all()}
    assert len(releases) == 38
    shipped = releases["REL-2"]  # 2.4.0: in Production, linked to INC-1
    for name in ("id", "version", "type", "stage", "created_at", "production_at", "rolled_back_at", "cancelled_at",
                 "incident_ids"):
        assert name in shipped
    assert shipped["version"] == "2.4.0" and shipped["stage"] == "Production" and shipped["incident_ids"] == ["INC-1"]
    assert shipped["production_at"] is not None and shipped["rolled_back_at"] is None
    assert len(shipped["runs"]["deployment"]["history"]) > 0  # every checklist event, nested
    assert releases["REL-3"]["rolled_back_at"] is not None and releases["REL-7"]["cancelled_at"] is not None
    incidents = {doc["id"]: doc for doc in database.table("incidents").all()}
    first = incidents["INC-1"]
    for name in ("id", "severity", "status", "started_at", "acknowledged_at", "mitigated_at", "resolved_at",
                 "release_ids", "updates", "timeline"):
        assert name in first
    assert first["release_ids"] == ["REL-2", "REL-8"]
    assert [set(update) for update in first["updates"]] == [{"at", "due_at"}] * 2
    assert [doc["title"] for doc in incidents.values()].count(AWKWARD) == 1  # kept exactly, escaped in the file
    resolved = [doc for doc in incidents.values() if doc["status"] == "Resolved"]
    assert resolved and all(doc["resolved_at"] and doc["acknowledged_at"] for doc in resolved)
    decisions = database.table("decisions").all()
    assert len(decisions) == 3 and all(doc["id"].startswith("DEC-") for doc in decisions)
    database.close()
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_export_dash_means_standard_output(demo_db: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["export", "data", "--db", str(demo_db), "-o", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["releases"]
    assert not (tmp_path / "-").exists(), "`-o -` is standard output, never a file named `-`"


def _exit_code(demo_db: Path, target: Path, capsys, *extra: str) -> tuple[int, str]:
    try:
        code = main(["export", "data", "--db", str(demo_db), "-o", str(target), *extra])
    except SystemExit as exited:
        code = int(exited.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("force", [(), ("--force",)])
def test_export_never_follows_or_replaces_a_symlink(demo_db: Path, tmp_path: Path, capsys, force) -> None:
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("someone's text\n")
    link = tmp_path / "link"
    link.symlink_to(theirs)
    code, err = _exit_code(demo_db, link, capsys, *force)
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(link) in err
    assert link.is_symlink() and theirs.read_text() == "someone's text\n"


@pytest.mark.parametrize("force", [(), ("--force",)])
def test_export_refuses_a_fifo_and_a_folder(demo_db: Path, tmp_path: Path, capsys, force) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, err = _exit_code(demo_db, fifo, capsys, *force)
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(fifo) in err
    assert fifo.exists() and not fifo.is_file()
    folder = tmp_path / "folder"
    folder.mkdir()
    code, err = _exit_code(demo_db, folder, capsys, *force)
    assert code == 2 and len(err.strip().splitlines()) == 1 and list(folder.iterdir()) == []


def test_export_refuses_an_existing_file_unless_forced(demo_db: Path, tmp_path: Path, capsys) -> None:
    existing = tmp_path / "existing.json"
    existing.write_text("someone's text\n")
    code, err = _exit_code(demo_db, existing, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "exists and was not written by this export; pass --force to replace it" in err
    assert existing.read_text() == "someone's text\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temp file left behind"
    code, _ = _exit_code(demo_db, existing, capsys, "--force")
    assert code == 0 and json.loads(existing.read_text())["releases"]
    assert oct(os.stat(existing).st_mode & 0o777) == "0o600"
