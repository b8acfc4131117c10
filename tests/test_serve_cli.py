"""`octotui serve` on the command line: bad input is one line and exit 2, before anything listens."""

import pytest

from octotui.cli import main


@pytest.mark.parametrize(("argv", "says"), [
    (["serve", "--port", "abc"], "is not a port"),
    (["serve", "--port", "70000"], "is not a port"),
    (["serve", "--max-sessions", "0"], "is not a number of sessions"),
    (["serve", "--token", "short"], "at least 16 printable characters"),
])
def test_bad_flags_are_one_line(argv, says, demo_workspace, capsys):
    assert main(["--db", str(demo_workspace.store.path), *argv]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and says in error, error


def test_a_database_that_is_not_there_is_one_line(tmp_path, capsys):
    assert main(["--db", str(tmp_path / "none.json"), "serve", "--token", "t" * 20]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no database here yet" in error, error
    assert list(tmp_path.iterdir()) == [], "nothing created"


def test_without_the_web_extra_it_names_the_extra(demo_workspace, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "octotui.web.serve", None)  # as if textual-serve were not installed
    assert main(["--db", str(demo_workspace.store.path), "serve"]) == 2
    assert capsys.readouterr().err.strip() == "octotui: octotui serve needs the web extra: pip install 'octotui[web]'"
