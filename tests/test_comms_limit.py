"""Every stored text has a limit (issue 30 D3): the comms "edit before copying" text too. One edit of
hundreds of MiB once grew the file past what octotui reads, locking the whole team out."""

from __future__ import annotations

import pytest
from test_ui_comms import select_template

from octotui.domain.inputs import MAX_TEXT, InputError
from octotui.ui.forms import EditTextScreen


@pytest.mark.both_backends
def test_the_service_refuses_an_edit_over_the_limit_and_keeps_the_record(demo_workspace):
    saves_before = demo_workspace.store.generation  # one more for each commit, on every backend
    with pytest.raises(InputError, match="20,001 characters; the limit is 20,000"):
        demo_workspace.set_comms_text("incident", 1, "escalation", "x" * (MAX_TEXT + 1))
    assert "escalation" not in demo_workspace.incident(1).comms
    assert demo_workspace.store.generation == saves_before, "nothing was written"
    demo_workspace.set_comms_text("incident", 1, "escalation", "x" * MAX_TEXT)  # the limit itself is fine
    assert len(demo_workspace.incident(1).comms["escalation"]) == MAX_TEXT
    assert demo_workspace.store.generation > saves_before, "a save is counted: the count above means something"


async def until(pilot, condition, pauses: int = 50) -> None:
    """Let the app handle what is queued until `condition()` holds: a count of pauses, not a time budget
    (on a loaded machine a screen push or a save can take a few rounds)."""
    for _ in range(pauses):
        if condition():
            return
        await pilot.pause()
    raise AssertionError("the app never got there")


async def test_the_editor_says_the_limit_next_to_the_field_and_keeps_the_text(demo_workspace, make_app):
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        select_template(app, "escalation")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditTextScreen))
        editor = app.screen
        assert isinstance(editor, EditTextScreen)
        assert "up to 20,000 characters" in str(editor.query_one(".form-hint").render())
        too_long = "y" * (MAX_TEXT + 1)
        editor.query_one("#editor").text = too_long
        await pilot.press("ctrl+s")
        error = editor.query_one("#e-text")
        await until(pilot, lambda: error.display)
        assert app.screen is editor, "refused: the editor stays open"
        assert error.display and "20,001 characters; the limit is 20,000" in str(error.render())
        assert editor.query_one("#editor").text == too_long, "nothing typed is lost"
        assert "escalation" not in demo_workspace.incident(1).comms
        editor.query_one("#editor").text = "short enough"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: demo_workspace.incident(1).comms.get("escalation") == "short enough")
        assert not isinstance(app.screen, EditTextScreen)
