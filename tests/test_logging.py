"""The log a person attaches to a report: where it goes, what it holds, what it never holds."""

from __future__ import annotations

import logging
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from octotui.logs import configure, current_log_file, log, mask_secrets
from octotui.services.demo import load_demo
from octotui.storage.file_store import Store


def _run(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "octotui", *args], capture_output=True, text=True, env=env, timeout=60)


def test_log_file_is_private_and_names_the_start_with_the_url_masked(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "nested" / "octotui.log"
    result = _run("--log-file", str(log_file), "--db", "postgresql://ana:S3cret@127.0.0.1:1/x?sslpassword=K3y",
                  "export", "decisions")
    assert result.returncode == 2  # nothing listens on port 1
    text = log_file.read_text()
    assert "octotui 0.1.0: export" in text
    assert "S3cret" not in text and "K3y" not in text
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(log_file.parent.parent.stat().st_mode) == 0o700, "every folder it made is private"


def test_an_unwritable_log_file_asked_for_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = _run("--log-file", str(blocker / "octotui.log"), "--db", str(tmp_path / "db.json"), "export", "--list")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot write the log file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_level_in_the_environment_is_one_line(tmp_path: Path) -> None:
    result = _run("--db", str(tmp_path / "db.json"), "export", "--list", env_extra={"OCTOTUI_LOG_LEVEL": "chatty"})
    assert result.returncode == 2 and "OCTOTUI_LOG_LEVEL" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("secret_text", [
    "postgresql://ana:S3cret@db/x",
    "host=db password=S3cret user=ana",
    "postgresql://db/x?sslpassword=S3cret&sslmode=require",
    "json://hook.example/?token=S3cret",
    "POSTGRESQL://ana:S3cret@db/x",
])
def test_the_mask_filter_hides_secrets_whatever_logged_them(tmp_path: Path, secret_text: str) -> None:
    assert "S3cret" not in mask_secrets(secret_text)
    path = configure(tmp_path / "octotui.log", "DEBUG")
    logging.getLogger("octotui.anything").warning("connecting to %s", secret_text)
    for handler in log.handlers:
        handler.flush()
    written = path.read_text()
    assert "connecting to" in written and "S3cret" not in written
    assert current_log_file() == path


async def test_every_command_is_logged_by_name_ids_and_outcome_without_user_text(tmp_path: Path, playbook, clock) -> None:
    from octotui.services.workspace import Workspace
    from octotui.ui.app import OctoApp

    path = configure(tmp_path / "octotui.log", "INFO")
    workspace = Workspace(Store(tmp_path / "db.json"), playbook, clock=clock)
    load_demo(workspace)
    app = OctoApp(workspace, None, offer_demo=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"secret words typed")
        await pilot.press("enter")
        await pilot.pause()
    for handler in log.handlers:
        handler.flush()
    written = path.read_text()
    assert "timeline_note_form.submit ok" in written, written
    assert "INC-" in written
    assert "secret words typed" not in written


async def test_a_database_problem_said_again_each_second_is_logged_once(tmp_path: Path, workspace, make_app) -> None:
    """Each refused refresh raises a new error saying the same thing: the log (and the banner) take it once."""
    from octotui.storage.errors import StoreForeign

    path = configure(tmp_path / "octotui.log", "INFO")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for _ in range(5):
            workspace.problem = StoreForeign(workspace.store.location, "is no longer this database")
            app._problem_changed()
        from octotui.ui.widgets import status_text

        banner = status_text(app, 400).plain
        assert f"DATABASE PROBLEM  {workspace.store.location}: is no longer this database" in banner, banner
        workspace.problem = None
        app._problem_changed()
    for handler in log.handlers:
        handler.flush()
    text = path.read_text()
    assert text.count("database problem: ") == 1, text
    assert text.count("database problem cleared") == 1, text


async def test_a_refused_command_is_logged_with_the_records_it_was_called_on(tmp_path: Path, workspace, make_app) -> None:
    from octotui.domain.refs import RunRef
    from octotui.domain.roles import ChecklistRole

    path = configure(tmp_path / "octotui.log", "INFO")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.run_command_async(workspace.change_item, RunRef("release", 99, ChecklistRole.GATE), 4, "toggle",
                              on_error=lambda _error: True)
        await pilot.pause()
    for handler in log.handlers:
        handler.flush()
    refused = [line for line in path.read_text().splitlines() if "change_item" in line]
    assert refused and "on REL-99:gate, 4 refused (" in refused[-1], refused
