"""One action registry: every key of every screen is in the help and in the palette, with the same words.

The comparison reads what a person sees (the screen's bindings, the help table, the palette), not the
registry, so it holds whatever produces them."""

import pytest
from textual.binding import Binding

from octotui.ui.help import HelpScreen

MODES = ("board", "checklist", "incident", "decisions", "comms", "reports")


def help_rows(app) -> list[tuple[str, str, str]]:
    table = app.screen.query_one("#help-keys")
    return [tuple(getattr(cell, "plain", str(cell)) for cell in table.get_row_at(index)) for index in range(table.row_count)]


def bound_keys(app) -> set[str]:
    """Every key the current mode's screen and the app bind (with a description), shown as the help shows it."""
    screen = app.screen_stack[0]
    keys = set()
    for binding in [*type(screen).BINDINGS, *type(app).BINDINGS]:
        if isinstance(binding, Binding) and binding.description:
            keys |= {app.get_key_display(Binding(key.strip(), "")) for key in binding.key.split(",")}
    return keys


@pytest.mark.parametrize("mode", MODES)
async def test_every_key_is_in_the_help_and_the_palette_with_the_same_words(demo_workspace, make_app, mode):
    app = make_app(demo_workspace)
    async with app.run_test(size=(140, 50)) as pilot:
        await app.switch_mode(mode)
        await pilot.pause()
        palette = {command.title: command.help for command in app.get_system_commands(app.screen)}
        keys = bound_keys(app)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app)
        in_help = {key: (words, what) for keys_shown, words, what in rows for key in keys_shown.split(", ")}
        missing_from_help = sorted(keys - set(in_help))
        assert missing_from_help == []
        not_in_palette = sorted(f"{key}: {in_help[key][0]}" for key in keys if in_help[key][0] not in palette)
        assert not_in_palette == [], "every key's action is in the palette by the words the help uses"
        other_words = sorted(key for key in keys if palette[in_help[key][0]] != in_help[key][1])
        assert other_words == [], "the help and the palette describe an action alike"


async def test_checklist_history_and_sections_are_in_the_palette(demo_workspace, make_app):
    """They had keys (enter, [, ]) but no palette entry."""
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.switch_mode("checklist")
        await pilot.pause()
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"checklist: item history", "checklist: next section", "checklist: previous section"} <= titles


def test_the_registry_has_one_entry_per_id_and_every_write_is_marked():
    from octotui.ui import actions

    assert len({action.id for action in actions.ACTIONS}) == len(actions.ACTIONS)
    words = {}
    for action in actions.ACTIONS:
        assert action.words.count(": ") == 1 and action.description, action.id
        # Two entries may share words only when they do the same thing (the same action, read-only or not).
        assert words.setdefault(action.words, action.writes) == action.writes, action.words
    assert {"release.new", "checklist.toggle", "incident.start", "comms.edit", "app.load_demo"} <= {
        action.id for action in actions.ACTIONS if action.writes}
    assert not ({"comms.copy", "decision.copy_log", "app.help", "view.board"}
                & {action.id for action in actions.ACTIONS if action.writes}), "copying and looking never write"
