"""The display boundary on every path out of the app that is not a screen: exports to stdout and to files,
the `--copy` fallback file, and one-line errors. Hostile stored text (escape sequences, C1, NUL, bidi
controls) comes out as visible symbols; newlines and tabs of multi-line texts stay."""

from __future__ import annotations

import json
import re

import pytest
from fixtures.hostile import BIDI, HOSTILE, OSC0, OSC52
from fixtures.hostile import build as build_hostile

from octotui.cli import main
from octotui.domain.playbook import data_path
from octotui.domain.text import has_controls, one_line, visible
from octotui.services.workspace import Workspace
from octotui.storage.file_store import Store

# What must not reach a terminal or a file meant for people: C0 but tab/newline, DEL, C1, bidi controls.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def raw_in(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in RAW.findall(text)})


def test_visible_shows_bidi_controls_as_symbols_and_keeps_lines():
    assert raw_in(visible(HOSTILE)) == []
    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible("\u202eevil") == "\ufffdevil" and has_controls("x\u2066y")
    assert one_line("a\u2028b\nc") == "a\ufffdb c"


@pytest.fixture
def hostile_db(tmp_path, clock):
    return build_hostile(tmp_path / "hostile.json", clock)


TEMPLATES = sorted(path.stem for path in data_path("templates").glob("*.md"))


def export_args(name: str) -> list[str]:
    if name in ("decisions", "release-report") or name.startswith(("release", "rollback")):
        return [name, "--release", "1.0.0"] if name != "decisions" else [name]
    return [name, "--incident", "INC-1"]


@pytest.mark.parametrize("name", [*TEMPLATES, "decisions", "release-report"])
def test_hostile_text_through_every_export_to_stdout_file_and_copy(name, hostile_db, tmp_path, capsys):
    args = ["--db", str(hostile_db), "export", *export_args(name), "--allow-missing"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert out.out.strip() and raw_in(out.out) == [] and raw_in(out.err) == []
    assert "mal␀lory␛]52;c;SGFja2Vk␛" in out.out or name == "escalation"  # shown, not dropped

    target = tmp_path / f"{name}.md"
    assert main([*args, "-o", str(target)]) == 0
    assert raw_in(target.read_text(encoding="utf-8")) == []

    assert main(["--clipboard", "file", *args, "--copy"]) == 0
    fallback = hostile_db.with_name("octotui-clipboard.md")
    assert raw_in(fallback.read_text(encoding="utf-8")) == []
    assert raw_in(capsys.readouterr().err) == []


def test_an_edited_text_keeps_its_lines_and_tabs(hostile_db, capsys):
    assert main(["--db", str(hostile_db), "export", "incident-update", "--incident", "INC-1", "--allow-missing"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("line one mal␀lory␛]52") and "\n\tindented line" in out


def test_madr_files_are_clean(hostile_db, tmp_path, capsys):
    folder = tmp_path / "madr"
    assert main(["--db", str(hostile_db), "export", "decisions", "--format", "madr", "-o", str(folder)]) == 0
    files = list(folder.iterdir())
    assert files and all(raw_in(path.read_text(encoding="utf-8")) == [] for path in files)


def test_render_returns_an_edited_text_through_the_boundary(hostile_db, clock, templates):
    from octotui.comms.templates import render
    from octotui.domain.playbook import load_playbook

    workspace = Workspace(Store(hostile_db), load_playbook(), clock=clock)
    filled = render(templates["incident-update"], workspace.incident(1), workspace)
    assert filled.edited and raw_in(filled.text) == [] and "\n\tindented line" in filled.text


def toml_string(text: str) -> str:
    return json.dumps(text)  # \uXXXX escapes are TOML escapes too: the file holds the controls as TOML reads them


@pytest.mark.parametrize("config", [
    f"{toml_string(OSC52 + BIDI)} = 1\n",  # an unknown key, echoed
    f"[cadence]\n{toml_string('P1' + OSC0 + chr(0x202E))} = 5\n",  # a key inside a table
    f"[{toml_string(OSC0)}]\nx = 1\n",  # a table name
    f"timezone = {toml_string('Europe/' + OSC52 + chr(0x2066))}\n",  # a value echoed in the message
    f"templates = {toml_string('/nonexistent/' + OSC0 + chr(0x202E))}\n",  # a path from the settings
])
def test_settings_keys_tables_and_paths_in_errors_pass_the_boundary(config, tmp_path, monkeypatch, capsys):
    path = tmp_path / "config.toml"
    path.write_text(config, encoding="utf-8")
    Store(tmp_path / "db.json").close()  # a database to export from: the settings are what is wrong
    monkeypatch.setenv("OCTOTUI_CONFIG", str(path))
    assert main(["--db", str(tmp_path / "db.json"), "export", "decisions"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("octotui: ") and err.count("\n") == 1 and raw_in(err) == []
    assert "no database here" not in err


@pytest.mark.parametrize("flag", ["--playbook", "--templates"])
def test_paths_in_errors_pass_the_boundary(flag, tmp_path, capsys):
    assert main(["--db", str(tmp_path / "db.json"), flag, f"/nonexistent/{OSC52}{OSC0}{BIDI}", "export", "decisions"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("octotui: /nonexistent/␛]52") and err.count("\n") == 1 and raw_in(err) == []


def test_a_database_path_in_an_error_passes_the_boundary(tmp_path, capsys):
    folder = tmp_path / f"db{OSC0}\u202e"
    folder.mkdir()
    assert main(["--db", str(folder), "export", "decisions"]) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and raw_in(err) == []


async def test_bidi_controls_and_nul_never_reach_the_terminal_on_any_screen(hostile_db, clock, make_app):
    from test_display_boundary import terminal_output

    from octotui.domain.playbook import load_playbook

    app = make_app(Workspace(Store(hostile_db), load_playbook(), clock=clock))
    bidi_or_nul = re.compile("[\x00\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
    async with app.run_test(size=(160, 40)) as pilot:
        app.selected_release_id, app.checklist_owner = 1, ("release", 1)
        for keys in (("1",), ("2",), ("3",), ("d",), ("escape", "4"), ("enter",), ("escape", "5"), ("down",),
                     ("e",), ("escape",)):
            await pilot.press(*keys)
            out = terminal_output(app)
            assert not bidi_or_nul.findall(out), f"{keys}: {sorted(set(bidi_or_nul.findall(out)))!r} reached the terminal"


async def test_the_recovery_screen_shows_a_hostile_path_as_symbols(tmp_path):
    from test_display_boundary import terminal_output

    from octotui.storage.errors import StoreCorrupt
    from octotui.ui.recovery import RecoveryApp

    bad = tmp_path / f"db{OSC52}{BIDI}.json"
    bad.write_text("{nope")
    app = RecoveryApp(StoreCorrupt(bad, "line 1 column 2: not valid JSON"))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        out = terminal_output(app)
        styles_removed = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out)  # the compositor's own cursor and colour codes
        assert "␛" in styles_removed and raw_in(styles_removed) == []
        await pilot.press("m")
        said = "".join(str(getattr(renderable, "plain", renderable)) for renderable in app._exit_renderables)
    assert "Moved the unreadable database" in said and raw_in(said) == []
