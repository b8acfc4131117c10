"""What nobody foresaw, and what a team's guide cannot do: one line (stderr or screen), never a traceback.

The demo data replays the bundled guide's checklists item by item; a team's guide is refused before anything
is written, and the app does not offer it. A bug anywhere ends the CLI or the app with one line naming the log.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from conftest import REPO

from octotui import cli
from octotui.cli import main
from octotui.storage.backends import open_repository

TEAM_GUIDE = REPO / "tests" / "fixtures" / "team-guide-extras.md"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "octotui", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def records_in(path) -> int:
    from octotui.domain.playbook import load_playbook
    from octotui.services.workspace import Workspace

    workspace = Workspace(open_repository(str(path)), load_playbook())
    try:
        return len(workspace.board_rows()) + len(workspace.decisions())
    finally:
        workspace.store.close()


def test_the_demo_with_a_team_guide_is_one_line_and_writes_nothing(tmp_path):
    db = tmp_path / "team.json"
    result = run("--playbook", str(TEAM_GUIDE), "--db", str(db), "demo")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "this guide's gate checklist is not the bundled guide's; the demo data follows octotui's bundled guide: " \
           "load it without --playbook" in result.stderr
    assert records_in(db) == 0


def test_a_generated_history_with_a_guide_lacking_a_role_is_refused_before_the_first_batch(tmp_path):
    db = tmp_path / "team.json"
    result = run("--playbook", str(TEAM_GUIDE), "--db", str(db), "demo", "--size", "3000")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "octotui: this guide has no rollback checklist (mark one with <!-- octotui: checklist rollback -->)"]
    assert records_in(db) == 0


def test_the_demo_with_the_guide_as_published_still_loads(tmp_path):
    db = tmp_path / "seed.json"
    guide = REPO.parent / "shared" / "seed" / "octoacme-release-and-deployment.md"
    result = run(*(["--playbook", str(guide)] if guide.is_file() else []), "--db", str(db), "demo")
    assert result.returncode == 0, result.stderr
    assert records_in(db) > 0


async def test_the_app_does_not_offer_the_demo_with_a_team_guide(tmp_path, templates, clock):
    from octotui.domain.playbook import load_playbook
    from octotui.services.workspace import Workspace
    from octotui.ui.app import OctoApp
    from octotui.ui.forms import ConfirmScreen

    for guide, offered in ((TEAM_GUIDE, False), (None, True)):
        workspace = Workspace(open_repository(str(tmp_path / f"{offered}.json")), load_playbook(guide), clock=clock,
                              author="tester")
        app = OctoApp(workspace, templates)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen) is offered
        workspace.store.close()


def test_an_unforeseen_error_in_the_cli_is_one_line_naming_the_log(tmp_path, monkeypatch, capsys):
    log_file = tmp_path / "octotui.log"

    def broken(_args):
        raise ZeroDivisionError("a bug in a command")

    monkeypatch.setattr(cli, "run_demo", broken)
    code = main(["--log-file", str(log_file), "--db", str(tmp_path / "x.json"), "demo"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [
        f"octotui: Something went wrong (ZeroDivisionError: a bug in a command); details in {log_file}"]
    assert "Traceback (most recent call last)" in log_file.read_text()


def test_a_bug_in_a_key_handler_ends_the_app_with_one_line_not_a_traceback(tmp_path):
    """Run headless in its own process, as the CLI runs the app: the key `b` is bound to a handler that raises."""
    log_file = tmp_path / "octotui.log"
    script = textwrap.dedent(f"""
        import asyncio
        from octotui.comms.templates import load_templates
        from octotui.domain.playbook import load_playbook
        from octotui.logs import configure
        from octotui.services.workspace import Workspace
        from octotui.storage.backends import open_repository
        from octotui.ui.app import OctoApp
        from octotui import cli

        configure(__import__("pathlib").Path({str(log_file)!r}), "INFO")

        class Buggy(OctoApp):
            BINDINGS = [("b", "bug", "bug")]

            def action_bug(self):
                raise RuntimeError("a bug \\x1b]0;title\\x07 in a handler")

        async def press(pilot):
            await pilot.pause()
            await pilot.press("b")
            await pilot.pause()

        workspace = Workspace(open_repository({str(tmp_path / "db.json")!r}), load_playbook())
        app = Buggy(workspace, load_templates(None), offer_demo=False)
        run = app.run
        app.run = lambda: run(headless=True, auto_pilot=press)
        cli._run(app)  # as `octotui` runs it
        print("return code", app.return_code)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "return code 1" in result.stdout, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr and "\x1b" not in result.stderr, result.stderr
    assert lines[0].startswith("octotui: Something went wrong (RuntimeError: a bug") and f"details in {log_file}" in lines[0]
    assert "Traceback (most recent call last)" in log_file.read_text()


def test_db_copy_of_an_export_data_file_is_refused_and_writes_nothing(tmp_path):
    """`export data` is plain data for people and stock TinyDB (ids as "REL-1"): copying it as if it were a
    database used to write one octotui then refused to open."""
    demo, exported, target = tmp_path / "demo.json", tmp_path / "d.json", tmp_path / "copy.json"
    assert run("--db", str(demo), "demo").returncode == 0
    assert run("--db", str(demo), "export", "data", "-o", str(exported)).returncode == 0
    result = run("db", "copy", str(exported), str(target))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"octotui: {exported}: table 'releases' document 1.id: Input should be a valid integer, unable to parse string "
        "as an integer; not an octotui database this version can read, nothing was copied"]
    assert not target.exists()
    assert run("db", "copy", str(demo), str(target)).returncode == 0 and records_in(target) == records_in(demo)
