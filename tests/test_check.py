"""The check of every record after start-up, by a child process when the data is a large file: it finds what
the in-process check finds, and the UI process never parses what the board does not show."""

import json
import shutil
import threading

import pytest
from tests_support import resealed

from octotui.domain.refs import ChangeNotice, RecordRef
from octotui.domain.settings import Settings, SignOffRules
from octotui.services import check
from octotui.services.bulk import generate
from octotui.services.check import CheckReport, ChildCheck
from octotui.services.workspace import Workspace
from octotui.storage.errors import StoreCorrupt
from octotui.storage.file_store import Store


@pytest.fixture(scope="module")
def large_file(tmp_path_factory, playbook):
    """About 2,000 records written under the default sign-off rules (one for a major release), compacted."""
    path = tmp_path_factory.mktemp("check") / "large.json"
    generate(Workspace(Store(path), playbook, author="gen"), 2000)
    return path


@pytest.fixture
def copy(large_file, tmp_path):
    path = tmp_path / "copy.json"
    shutil.copy(large_file, path)
    return path


def _damage_a_decision(path):
    """Decision 7's title becomes a number: valid JSON, an invalid record (one table per line: decisions')."""
    lines = path.read_bytes().split(b"\n")
    number = next(n for n, line in enumerate(lines) if line.lstrip(b"{").startswith(b'"decisions"'))
    table = json.loads(b"{" + lines[number].rstrip(b",") + (b"" if lines[number].endswith(b"}}") else b"}"))
    table["decisions"]["7"]["title"] = 3
    lines[number] = json.dumps(table, separators=(",", ":")).encode()[1:-1] + lines[number][-1:]
    path.write_bytes(resealed(b"\n".join(lines)))  # as if octotui wrote it: the record, not the file, is bad


def test_a_clean_file_reports_nothing(copy):
    assert ChildCheck(copy, SignOffRules()).run() == CheckReport()


def test_a_damaged_record_is_reported_as_the_check_here_words_it(copy, playbook):
    _damage_a_decision(copy)
    report = ChildCheck(copy, SignOffRules()).run()
    assert report is not None and report.problem is not None
    with pytest.raises(StoreCorrupt) as here:
        Workspace(Store(copy, read_only=True), playbook).validate_all()
    assert report.problem == here.value.message and "table 'decisions' document 7" in report.problem


def test_rows_stored_under_other_rules_are_reported_and_taken(copy, playbook):
    """Written by someone needing one sign-off for a major release; this session needs three for any release."""
    rules = SignOffRules(major=3, minor=3, patch=3)
    report = ChildCheck(copy, rules).run()
    workspace = Workspace(Store(copy), playbook, settings=Settings(signoff=rules))
    assert report is not None and report.stale == workspace.validate_all() != set()
    fresh = Workspace(Store(copy), playbook, settings=Settings(signoff=rules))
    shown = {row.id: row for row in fresh.board_rows()}
    fresh.take_check(report)
    assert {row.id for row in fresh.board_rows() if row != shown[row.id]} == set(report.stale)
    assert fresh.drain_changed() == ChangeNotice.of(*(RecordRef("release", n) for n in report.stale)), "the board repaints those rows"
    assert fresh.store_board_rows() == len(report.stale)
    assert ChildCheck(copy, rules).run() == CheckReport(), "stored: nothing stale any more"


def test_a_child_that_cannot_say_leaves_the_check_to_the_caller(tmp_path):
    assert ChildCheck(tmp_path / "missing.json", SignOffRules()).run() is None
    (tmp_path / "not-json.json").write_text("{", encoding="utf-8")
    report = ChildCheck(tmp_path / "not-json.json", SignOffRules()).run()
    assert report is not None and "not valid JSON" in (report.problem or "")


def test_stopping_ends_the_child(copy):
    """The app quitting does not wait for a check of a large file."""
    child = ChildCheck(copy, SignOffRules())
    reports = []
    runner = threading.Thread(target=lambda: reports.append(child.run()))
    runner.start()
    child.stop()
    runner.join(timeout=30)
    assert not runner.is_alive() and reports in ([None], [CheckReport()])
    assert child._process is None or child._process.poll() is not None
    assert ChildCheck(copy, SignOffRules()).run() == CheckReport()


async def test_the_app_checks_a_large_file_apart_and_shows_what_it_found(copy, playbook, make_app, monkeypatch):
    """End to end: the board is up, the child finds the damaged decision, the status line says so and keeps
    saying so (it was cleared by the next re-read); saves still work; once another octotui repairs the record
    the check runs again and the line goes. The UI process parsed none of the decisions or events."""
    monkeypatch.setattr(check, "APART_FROM_BYTES", 0)
    _damage_a_decision(copy)
    workspace = Workspace(Store(copy), playbook, author="tester")
    app = make_app(workspace)

    def status() -> str:
        return str(app.screen_stack[0].query_one("#status-text").render())

    async with app.run_test(size=(120, 36)) as pilot:
        async def until(condition) -> None:
            for _ in range(400):  # a bounded number of polls while the child works, not a time budget
                await pilot.pause(0.05)
                if condition():
                    return
            raise AssertionError(status())

        await until(lambda: "DAMAGED RECORD" in status())
        assert "table 'decisions' document 7.title" in status() and "everything else can be used" in status()
        assert {"decisions", "events", "incidents"} <= workspace.store.unread_tables()
        for _ in range(3):  # ticks re-read the file meanwhile: the line stays
            app.poll_store()
            await pilot.pause(0.05)
        assert "DAMAGED RECORD" in status() and workspace.problem is None

        repairer = Store(copy)
        with repairer.unit_of_work() as uow:
            uow.put("decisions", 7, {**uow.get("decisions", 7), "title": "Repaired"})
        await until(lambda: "DAMAGED RECORD" not in status())
        assert workspace.damaged is None and workspace.decision(7).title == "Repaired"
