"""One display boundary: whatever stored records, the guide, settings or the environment hold, no escape
sequence of theirs reaches the terminal — on any screen, modal, toast or the palette."""

from __future__ import annotations

import re

import pytest

from octotui.domain.models import Severity
from octotui.domain.playbook import data_path, parse_playbook
from octotui.services.workspace import RunRef, Workspace
from octotui.storage.file_store import Store

OSC52 = "\x1b]52;c;SGFja2Vk\x1b\\"  # would replace the clipboard, ST-terminated
HOSTILE = f"mallory{OSC52}\x1b[5n\x9b31m\x07\x1bP1;2|x\x1b\\"
FORBIDDEN = ("\x1b]", "\x1bP", "\x1b\\", "\x07", "\x1b[5n")
C1 = re.compile("[\x80-\x9f]")


def terminal_output(app) -> str:
    """What the app would write to the terminal for its screens now (the compositor's full update)."""
    out = ""
    for screen in {id(s): s for s in (app.screen_stack[0], app.screen)}.values():
        out += screen._compositor.render_update(full=True).render_segments(app.console)
    return out


def assert_clean(app, where: str) -> None:
    out = terminal_output(app)
    found = [sequence for sequence in FORBIDDEN if sequence in out] + C1.findall(out)
    assert not found, f"{where}: {found!r} reached the terminal"


def hostile_workspace(db_path, clock) -> Workspace:
    guide = data_path("playbook.md").read_text(encoding="utf-8").replace(
        "## Pre-release requirements", f"## Pre-release requirements {OSC52}")
    workspace = Workspace(Store(db_path), parse_playbook(guide, "hostile.md"), clock=clock, author=HOSTILE)
    release = workspace.create_release(version="1.0.0", title=HOSTILE, captain=HOSTILE)
    gate = RunRef("release", release.id, "gate")
    workspace.change_item(gate, 0, "toggle")
    workspace.change_item(gate, 1, "na", text=HOSTILE)
    workspace.change_item(gate, 2, "note", text=HOSTILE)
    incident = workspace.start_incident(HOSTILE, Severity.P1, release_id=release.id, impact=HOSTILE)
    workspace.assign_role(incident.id, "comms", HOSTILE)
    workspace.set_current_actions(incident.id, HOSTILE)
    workspace.add_note(incident.id, HOSTILE)
    workspace.record_decision(title=HOSTILE, decision=HOSTILE, context=HOSTILE, owner=HOSTILE, alternatives=HOSTILE,
                              consequences=HOSTILE, links="REL-1, INC-1")
    workspace.set_release_notes(release.id, {spec.key: HOSTILE for spec in workspace.playbook.fields["release-notes"]
                                             if spec.key != "date"})  # a date must be a date
    workspace.set_comms_text("incident", incident.id, "incident-update", HOSTILE)
    return workspace


STEPS = [
    ("board", ("1",)), ("checklist", ("2",)), ("item history", ("enter",)), ("close", ("escape",)),
    ("N/A form", ("j", "x")), ("leave N/A form", ("escape",)), ("undo toast", ("u",)),
    ("incident", ("3",)), ("status choice", ("s",)), ("close status", ("escape",)),
    ("roles choice", ("o",)), ("close roles", ("escape",)),
    ("status-update form", ("u",)), ("leave update form", ("escape",)), ("in full", ("d",)), ("close in full", ("escape",)),
    ("link choice", ("l",)), ("close link choice", ("escape",)), ("milestone choice", ("m",)), ("close milestones", ("escape",)),
    ("decisions", ("4",)), ("decision detail", ("enter",)), ("close detail", ("escape",)),
    ("comms", ("5",)), ("an edited update", ("down",)), ("release notes", ("down", "down", "down")),
    ("help", ("question_mark",)), ("close help", ("escape",)),
    ("edit release form", ("1", "e")), ("leave form", ("escape",)), ("palette", ("ctrl+p",)),
    ("palette search", tuple("release")),
]


async def test_hostile_text_everywhere_never_reaches_the_terminal(db_path, clock, make_app):
    app = make_app(hostile_workspace(db_path, clock))
    async with app.run_test(size=(120, 36)) as pilot:
        app.selected_release_id, app.checklist_owner = 1, ("release", 1)
        for where, keys in STEPS:
            await pilot.press(*keys)
            await pilot.pause()
            assert_clean(app, where)


async def test_hostile_text_is_shown_as_visible_symbols(db_path, clock, make_app):
    app = make_app(hostile_workspace(db_path, clock))
    async with app.run_test(size=(160, 40)) as pilot:
        app.selected_release_id, app.checklist_owner = 1, ("release", 1)
        await pilot.press("2")
        out = terminal_output(app)
        assert "mallory␛]52;c;SGFja2Vk␛" in out  # who checked the item, shown literally


async def test_the_check_can_fail_without_the_boundary(db_path, clock, make_app, monkeypatch):
    app = make_app(hostile_workspace(db_path, clock))
    monkeypatch.setattr(type(app), "get_line_filters", lambda self: [])
    async with app.run_test(size=(120, 36)) as pilot:
        app.selected_release_id, app.checklist_owner = 1, ("release", 1)
        await pilot.press("2")
        with pytest.raises(AssertionError, match="reached the terminal"):
            assert_clean(app, "checklist without the boundary")


async def test_markup_and_huge_titles_in_every_new_incident_modal(workspace, make_app):
    """Selects and choice lists hold stored titles: `[/]` must be shown, not parsed (it would raise)."""
    from conftest import AWKWARD

    release = workspace.create_release(version="2.4.0", title=AWKWARD)
    for index in range(6):
        workspace.change_item(RunRef("release", release.id, "gate"), index, "toggle")
    for index in range(4):
        workspace.change_item(RunRef("release", release.id, "deployment"), index, "toggle")
    workspace.start_incident("[bold]x[/] [/] " + "y" * 5000, Severity.P1, impact=AWKWARD)
    app = make_app(workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")  # the rollback form: the incident select shows the title
        assert app.screen.query_one("#f-incident").display
        assert_clean(app, "rollback form")
        await pilot.press("escape", "3", "R")
        assert_clean(app, "rollback choice")
        await pilot.press("escape", "u")
        assert_clean(app, "update form")
        await pilot.press("escape", "d")
        assert "[bold]x[/] [/]" in terminal_output(app)
        assert app.is_running
