"""Nothing outside octotui's own files is touched; every bad path, file or setting is one line, never a traceback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from octotui.comms.exports import write_madr_dir
from octotui.domain.playbook import PlaybookError, parse_playbook
from octotui.domain.settings import SettingsError, load_settings
from octotui.services.workspace import Workspace
from octotui.storage import file_store
from octotui.storage.file_store import Store, StoreUnavailable, StoreWriteFailed, read_tables
from octotui.storage.fs import temp_name, write_atomically

WORKER = str(Path(__file__).with_name("store_worker.py"))


def octotui(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "octotui", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("octotui: "), result.stderr
    return lines[0]


# -- MADR export owns only its own files ----------------------------------------------------------
def test_madr_export_never_deletes_or_overwrites_files_it_did_not_write(workspace, tmp_path):
    folder = tmp_path / "docs" / "decisions"
    folder.mkdir(parents=True)
    mine = folder / "0001-use-postgres.md"
    mine.write_text("mine\n")
    clash = folder / "0002-ship-it.md"
    clash.write_text("hand-written ADR\n")
    workspace.record_decision(title="Ship behind a flag", decision="10% first")
    workspace.record_decision(title="Ship it", decision="now")
    result = write_madr_dir(workspace.decisions_newest_first(), folder)
    assert mine.read_text() == "mine\n" and clash.read_text() == "hand-written ADR\n"
    assert result.clashes == [clash]
    assert (folder / "0001-ship-behind-a-flag.md").exists()
    workspace.edit_decision(1, title="Ship behind a feature flag")
    result = write_madr_dir(workspace.decisions_newest_first(), folder)
    assert result.removed == [folder / "0001-ship-behind-a-flag.md"], "its own renamed file is replaced"
    assert sorted(p.name for p in folder.iterdir()) == ["0001-ship-behind-a-feature-flag.md", "0001-use-postgres.md",
                                                        "0002-ship-it.md"]


def test_madr_export_from_the_cli_reports_clashes(demo_workspace, tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "0001-ship-saved-carts-behind-a-flag.md").write_text("mine\n")
    result = octotui("--db", str(demo_workspace.store.path), "export", "decisions", "--format", "madr", "-o", str(folder))
    assert result.returncode == 1 and "was not written by octotui; left as it is" in result.stderr
    assert (folder / "0001-ship-saved-carts-behind-a-flag.md").read_text() == "mine\n"


# -- exports never overwrite the database, never follow planted links ---------------------------------
def test_export_output_cannot_be_the_database(demo_workspace, tmp_path):
    db = demo_workspace.store.path
    before = db.read_bytes()
    other_spelling = tmp_path / "also-the-db.json"
    other_spelling.symlink_to(db)
    for target in (db, other_spelling):
        line = one_line_error(octotui("--db", str(db), "export", "decisions", "-o", str(target)))
        assert "not written by this export" in line or "is a link; refusing" in line, line
    # Not even --force replaces the database itself.
    line = one_line_error(octotui("--db", str(db), "export", "decisions", "-o", str(db), "--force"))
    assert "refusing to overwrite" in line, line
    assert db.read_bytes() == before


def test_the_safe_writer_never_writes_through_a_planted_link(tmp_path):
    precious = tmp_path / "bashrc"
    precious.write_text("precious\n")
    target = tmp_path / "out.md"
    target.symlink_to(precious)  # a link planted where the export goes: the link is replaced, not followed
    write_atomically(target, b"export\n")
    assert precious.read_text() == "precious\n" and target.read_text() == "export\n" and not target.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_temp_names_are_unique_and_never_opened_through_links(tmp_path, monkeypatch):
    precious = tmp_path / "precious"
    precious.write_text("precious\n")
    target = tmp_path / "out.md"
    planted = temp_name(target)
    planted.symlink_to(precious)
    monkeypatch.setattr("octotui.storage.fs.temp_name", lambda _target: planted)
    with pytest.raises(OSError):
        write_atomically(target, b"x")  # O_EXCL|O_NOFOLLOW: refuses the planted name
    assert precious.read_text() == "precious\n" and not target.exists()


def test_a_link_planted_at_a_lock_name_is_never_followed(tmp_path, playbook):
    """The database is its own lock: no `.lock` file is created, so a planted one leads nowhere."""
    db = tmp_path / "db.json"
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / "db.json.lock").symlink_to(elsewhere)
    line = one_line_error(octotui("--db", str(db), "export", "decisions", env={"OCTOTUI_DB": ""}))
    assert "no database here yet" in line  # export reads only; nothing is created
    Workspace(Store(db), playbook).create_release(version="1.0.0", title="a")
    assert not elsewhere.exists(), "the link's target was not created"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.json", "db.json.lock"]


def test_a_backup_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    db = tmp_path / "db.json"
    db.write_text('{"meta": {"1": {"schema": 1}}}')

    def fail(target, data, protected=()):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(file_store, "write_atomically", fail)
    with pytest.raises(StoreWriteFailed, match="backup"):
        Store(db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.json"], "no half backup that looks finished"
    assert db.read_text() == '{"meta": {"1": {"schema": 1}}}'


# -- symlinked databases and lock files --------------------------------------------------------------
def test_a_symlinked_database_keeps_working_and_stays_a_link(workspace, tmp_path, playbook):
    link = tmp_path / "synced.json"
    link.symlink_to(workspace.store.path)
    through_link = Workspace(Store(link), playbook, author="link")
    through_link.create_release(version="1.0.0", title="via link")
    assert link.is_symlink()
    assert [r.title for r in Workspace(Store(workspace.store.path), playbook).releases()] == ["via link"]
    assert Store(link).path == workspace.store.path, "two spellings, one file, one lock"


def test_two_writers_through_a_link_and_the_real_path_lose_nothing(tmp_path):
    real = tmp_path / "real.json"
    Store(real)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    count = 100
    processes = [subprocess.Popen([sys.executable, WORKER, "pair", str(path), name, str(count)], stdout=subprocess.PIPE,
                                  text=True) for path, name in ((real, "a"), (link, "b"))]
    for process in processes:
        assert process.communicate(timeout=120)[0].strip() == "done"
    items = list(read_tables(real)["items"].values())
    assert len(items) == 2 * count
    assert len(read_tables(real)["shared"]["1"]["seen"]) == 2 * count
    assert link.is_symlink()


def test_deleting_lock_files_while_two_writers_run_loses_nothing(tmp_path):
    """`rm *.lock` or a tmp cleaner cannot let two writers in: the database file is its own lock (an earlier
    design locked `db.json.lock`, and deleting it lost acknowledged changes)."""
    db = tmp_path / "db.json"
    Store(db)
    lock = Path(str(db) + ".lock")
    lock.write_text("")  # as an older octotui left it
    count = 150
    processes = [subprocess.Popen([sys.executable, WORKER, "pair", str(db), name, str(count)], stdout=subprocess.PIPE,
                                  text=True) for name in ("a", "b")]
    stop = threading.Event()
    deleted = 0

    def delete_lock_files() -> None:
        nonlocal deleted
        while not stop.is_set():
            try:
                lock.unlink()
                deleted += 1
            except FileNotFoundError:
                pass
            stop.wait(0.003)

    cleaner = threading.Thread(target=delete_lock_files)
    cleaner.start()
    try:
        for process in processes:
            assert process.communicate(timeout=180)[0].strip() == "done"
    finally:
        stop.set()
        cleaner.join()
    assert deleted >= 1
    tables = read_tables(db)
    assert len(tables["items"]) == 2 * count
    assert sorted(tables["shared"]["1"]["seen"]) == sorted(f"{n}-{i}" for n in "ab" for i in range(count))


# -- special files, long names, unwritable places ------------------------------------------------------
def test_a_fifo_as_the_database_is_refused_at_once(tmp_path):
    fifo = tmp_path / "db.json"
    os.mkfifo(fifo)
    line = one_line_error(octotui("--db", str(fifo), "export", "decisions", timeout=20))
    assert "not a regular file" in line
    with pytest.raises(StoreUnavailable, match="not a regular file"):
        Store(fifo)


def test_a_fifo_as_an_export_output_is_refused(demo_workspace, tmp_path):
    fifo = tmp_path / "out.md"
    os.mkfifo(fifo)
    line = one_line_error(octotui("--db", str(demo_workspace.store.path), "export", "decisions", "-o", str(fifo),
                                  timeout=20))
    assert "not a regular file" in line


def test_a_huge_database_is_refused_with_a_message_not_read(tmp_path):
    db = tmp_path / "db.json"
    Store(db)
    with open(db, "ab") as handle:
        handle.write(b" " * 200)
    with pytest.raises(StoreUnavailable, match="reads databases up to"):
        Store(db, max_file_bytes=100)


def test_a_300_character_file_name_is_one_line(tmp_path):
    line = one_line_error(octotui("--db", str(tmp_path / ("a" * 300 + ".json")), "export", "decisions"))
    assert "File name too long" in line


def test_unwritable_output_folders_are_one_line(demo_workspace):
    db = str(demo_workspace.store.path)
    line = one_line_error(octotui("--db", db, "export", "decisions", "--format", "madr", "-o", "/proc/octotui-madr"))
    assert "cannot write" in line
    line = one_line_error(octotui("--db", db, "export", "decisions", "-o", "/proc/octotui-log.md"))
    assert "cannot write" in line


def test_exports_do_not_wait_for_a_held_lock(demo_workspace):
    import fcntl

    holder = os.open(demo_workspace.store.path, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another octotui in the middle of a save (or stopped there)
    try:
        result = octotui("--db", str(demo_workspace.store.path), "export", "decisions", timeout=8)
    finally:
        os.close(holder)
    assert result.returncode == 0 and "# OctoAcme Decision Log" in result.stdout


# -- temp files, folders ---------------------------------------------------------------------------------
def test_opening_one_database_leaves_another_databases_temp_files_alone(tmp_path):
    Store(tmp_path / "team.json")
    theirs = temp_name(tmp_path / "team.json")
    theirs.write_text("in flight")
    Store(tmp_path / "team")
    assert theirs.exists()


def test_stale_temp_files_are_cleaned_even_with_glob_characters_in_the_name(tmp_path):
    db = tmp_path / "[team].json"
    Store(db)
    leftover = temp_name(db)
    leftover.write_text("{half")
    Store(db)
    assert not leftover.exists()


def test_new_folders_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        Store(tmp_path / "a" / "b" / "db.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b" / "db.json").stat().st_mode) == 0o600


# -- settings -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("toml", "key", "message"), [
    ("cadence = 5", "cadence", "must be a table"),
    ('[cadence]\nP1 = "abc"', "cadence.P1", "whole minutes from 0 to 1440"),
    ("[cadence]\nP1 = [1, 2]", "cadence.P1", "whole minutes"),
    ("[cadence]\nP1 = 1000000000000", "cadence.P1", "whole minutes from 0 to 1440"),
    ("[cadence]\nP1 = true", "cadence.P1", "whole minutes"),
    ("[cadence]\nP1 = -1", "cadence.P1", "whole minutes"),
    ("[cadence]\nP9 = 5", "cadence.P9", "unknown setting"),
    ('clipboard = "carrier pigeon"', "clipboard", "auto"),
    ("colour = 1", "colour", "unknown setting"),
])
def test_each_bad_setting_is_named_with_its_key(tmp_path, toml, key, message):
    config = tmp_path / "config.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert str(caught.value).startswith(f"{config}:{key}: ") and message in str(caught.value)
    line = one_line_error(octotui("--db", str(tmp_path / "db.json"), "export", "--list",
                                  env={"OCTOTUI_CONFIG": str(config)}))
    assert f"{config}:{key}: " in line


def test_good_settings_are_read(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('clipboard = "file"\n[cadence]\nP0 = 5\nP3 = 1440\n')
    settings = load_settings(config)
    assert settings.clipboard == "file" and settings.cadence.P0 == 5 and settings.cadence.P3 == 1440


# -- the guide ------------------------------------------------------------------------------------------
def test_an_unclosed_comment_is_reported_where_it_starts():
    source = "# Guide\n\n## Gate\n<!-- octotui: checklist gate\n- [ ] one\n"
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(source, "guide.md")
    assert caught.value.line == 4 and "comment" in caught.value.message


async def test_madr_export_from_the_decision_log_reports_clashes(demo_workspace, make_app, tmp_path):
    folder = tmp_path / "adr"
    folder.mkdir()
    (folder / "0001-ship-saved-carts-behind-a-flag.md").write_text("hand-written\n")
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4", "M")
        app.screen.query_one("#f-text").value = str(folder)
        await pilot.press("enter")
        assert (folder / "0001-ship-saved-carts-behind-a-flag.md").read_text() == "hand-written\n"
        messages = [str(n.message) for n in app._notifications]
        assert any("Wrote 2 MADR file(s)" in m and "did not write" in m for m in messages), messages


def test_a_copy_whose_fallback_file_cannot_be_written_is_one_line(demo_workspace):
    (demo_workspace.store.path.parent / "octotui-clipboard.md").mkdir()  # something in the way
    line = one_line_error(octotui("--db", str(demo_workspace.store.path), "export", "decisions", "--copy",
                                  env={"DISPLAY": ""}))
    assert "cannot write the clipboard file" in line
