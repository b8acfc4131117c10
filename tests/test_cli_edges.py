"""The command line's edges: URLs (any case, other schemes, passwords masked, masking never raises), bad
settings files, closed or full stdout. One line on stderr, exit 2 for bad input, never a traceback, and
nothing created on disk for a location that is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from octotui.cli import main
from octotui.storage.backends import is_postgres_url, masked, secrets_in
from octotui.storage.file_store import Store


def run(*args, env=None, cwd=None, stdout=subprocess.PIPE, timeout=60):
    return subprocess.run([sys.executable, "-m", "octotui", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd)


def one_line_exit(result, code: int) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code and len(lines) == 1 and lines[0].startswith("octotui: "), result.stderr
    return lines[0]


# -- URLs -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["POSTGRESQL://ana:S3cret@h/db", "Postgres://ana:S3cret@h/db",
                                 "postgresql://ana:S3cret@h/db", "PoStGrEs://h/db"])
def test_schemes_are_case_insensitive(url):
    assert is_postgres_url(url)


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://a@h/db?sslpassword=S3cret", "postgresql://a@h/db?sslpassword=***"),
    ("postgresql://a:S3cret@h/db?password=S3cret&sslpassword=S3cret&sslmode=require",
     "postgresql://a:***@h/db?password=***&sslpassword=***&sslmode=require"),
    ("postgresql://a@h/db?PASSWORD=S3cret&api_token=S3cret&client_secret=S3cret",
     "postgresql://a@h/db?PASSWORD=***&api_token=***&client_secret=***"),
    ("POSTGRESQL://ana:S3cret@db.example/octotui", "POSTGRESQL://ana:***@db.example/octotui"),
    ("postgresql://[::1:S3cret@h/db", "postgresql://[:***@h/db"),  # not a valid URL; masking still works
    ("mysql://u:S3cret@h/db", "mysql://u:***@h/db"),
])
def test_every_password_like_part_is_masked_and_masking_never_raises(url, expected):
    assert masked(url) == expected
    assert any("S3cret" in secret for secret in secrets_in(url))


@pytest.mark.parametrize("text", ["postgresql://[", "://", "postgresql://%zz:%@[/?password=%", "\x00://x", ""])
def test_masking_odd_text_never_raises(text):
    assert isinstance(masked(text), str) and isinstance(secrets_in(text), list)


@pytest.mark.parametrize("url", ["POSTGRESQL://ana:S3cret@127.0.0.1:1/octotui", "Postgres://ana:S3cret@127.0.0.1:1/x"])
def test_an_upper_case_postgres_url_is_the_team_database_not_a_path(url, tmp_path):
    result = run("--db", url, "export", "decisions", cwd=tmp_path)
    line = one_line_exit(result, 2)
    assert "S3cret" not in result.stderr and "ana:***@" in line and "cannot connect" in line
    assert list(tmp_path.iterdir()) == []  # no folder named after the password


@pytest.mark.parametrize("url", ["mysql://u:S3cret@h/db", "MySQL://u:S3cret@h/db", "sqlite://x:S3cret@/db.json",
                                 "file://u:S3cret@/tmp/x.json"])
def test_an_unsupported_url_is_refused_never_taken_as_a_path(url, tmp_path):
    result = run("--db", url, "export", "decisions", cwd=tmp_path)
    line = one_line_exit(result, 2)
    assert "unsupported database URL" in line and "S3cret" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["postgresql://[::1:S3cret@h/db", "postgresql://u:S3cret@h:port/db",
                                 "postgresql://u:S3c@ret@127.0.0.1:1/db"])
def test_an_unparsable_postgres_url_is_one_line(url, tmp_path):
    line = one_line_exit(run("--db", url, "export", "decisions", cwd=tmp_path), 2)
    assert "not a valid URL" in line and "S3c" not in line and "ret" not in line.replace("secret", ""), line


# -- paths ------------------------------------------------------------------------------------------------
def test_an_unknown_users_home_is_one_line(tmp_path):
    line = one_line_exit(run("--db", "~nouser-octotui-edges/x.json", "export", "decisions", cwd=tmp_path), 2)
    assert "~nouser-octotui-edges/x.json" in line


def test_an_empty_db_is_an_error_not_the_default(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    line = one_line_exit(run("--db", "", "export", "decisions", env=env, cwd=tmp_path), 2)
    assert "--db is empty" in line and not (tmp_path / "data").exists()
    line = one_line_exit(run("db", "copy", "", str(tmp_path / "x.json"), env=env, cwd=tmp_path), 2)
    assert "SOURCE is empty" in line and not (tmp_path / "data").exists()


def test_a_dangling_symlink_does_not_create_its_targets_folders(tmp_path):
    link = tmp_path / "db.json"
    link.symlink_to(tmp_path / "nowhere" / "deeper" / "db.json")
    line = one_line_exit(run("--db", str(link), "demo"), 2)
    assert "symbolic link" in line and not (tmp_path / "nowhere").exists()


# -- settings files ---------------------------------------------------------------------------------------
def settings_case(kind: str, tmp_path: Path) -> str:
    if kind == "folder":
        return str(tmp_path)
    if kind == "fifo":
        fifo = tmp_path / "config.toml"
        os.mkfifo(fifo)
        return str(fifo)
    if kind == "device":
        return "/dev/zero"
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "\n")
    return str(deep)


@pytest.mark.parametrize(("kind", "message"), [("folder", "is a folder"), ("fifo", "not a regular file"),
                                               ("device", "not a regular file"), ("nested", "nested too deeply")])
def test_a_settings_path_that_is_not_a_settings_file_is_reported(kind, message, tmp_path):
    config = settings_case(kind, tmp_path)
    result = run("--db", str(tmp_path / "db.json"), "export", "decisions", env={"OCTOTUI_CONFIG": config}, timeout=20)
    line = one_line_exit(result, 2)
    assert message in line and config in line


def test_the_app_reports_a_settings_folder_before_any_screen(tmp_path):
    result = run("--db", str(tmp_path / "db.json"), env={"OCTOTUI_CONFIG": str(tmp_path)}, timeout=30)
    assert "is a folder, not a settings file" in one_line_exit(result, 2)


# -- stdout -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "db.json"
    assert main(["--db", str(db), "demo"]) == 0
    return db


def test_a_full_stdout_is_one_line_exit_1(demo_file):
    with open("/dev/full", "w") as full:
        result = run("--db", str(demo_file), "export", "decisions", stdout=full)
    assert "No space left" in one_line_exit(result, 1)


def test_a_closed_stdout_is_one_line_exit_1(demo_file):
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = run("--db", str(demo_file), "export", "decisions", stdout=write_end)
    finally:
        os.close(write_end)
    assert "Broken pipe" in one_line_exit(result, 1)


def test_allow_missing_onto_the_database_refuses_without_claiming_it_wrote(demo_file):
    result = run("--db", str(demo_file), "export", "release-notes", "--release", "REL-1", "--allow-missing",
                 "-o", str(demo_file))
    line = one_line_exit(result, 2)
    assert "written with missing values" not in result.stderr and str(demo_file) in line


# -- an upper-case scheme on a real PostgreSQL (libpq itself reads only lower case) -------------------------
def test_an_upper_case_url_reaches_the_team_database(pg_url, capsys):
    upper = pg_url.replace("postgresql://", "POSTGRESQL://", 1)
    assert main(["db", "upgrade", "--db", upper]) == 0
    assert main(["--db", upper, "demo"]) == 0
    assert main(["--db", upper.replace("POSTGRESQL://", "Postgres://", 1), "export", "decisions"]) == 0
    out = capsys.readouterr()
    assert "# OctoAcme Decision Log" in out.out and "wrote the demo data" in out.err


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_template_that_is_not_a_file_is_one_line_not_a_hang(kind, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    odd = folder / "incident-update.md"
    os.mkfifo(odd) if kind == "fifo" else odd.mkdir()
    Store(tmp_path / "db.json").close()
    result = run("--db", str(tmp_path / "db.json"), "--templates", str(folder), "export", "decisions", timeout=20)
    assert "incident-update.md: not a regular file" in one_line_exit(result, 2)
