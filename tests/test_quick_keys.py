"""Keys that arrive while the app quits, or while a screen or modal is mounting or closing, are ignored or
held: never a traceback (issue 30: `q` then `n` ended the app with `NoMatches: No nodes match '#f-version'`)."""

from __future__ import annotations

import pytest

QUICK = ["n", "e", "i", "t", "D"]


@pytest.mark.parametrize("key", QUICK)
async def test_quit_then_a_form_key_at_once_ends_cleanly(key, demo_workspace, make_app):
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        app.simulate_key("q")  # both keys in the queue before the quit has run: as fast as typing gets
        app.simulate_key(key)
        await pilot.pause()
        await pilot.pause()
    assert app.return_code in (0, None)
    assert app._exception is None, repr(app._exception)


@pytest.mark.parametrize("keys", [
    ["ctrl+q", "n"], ["q", "i", "t"], ["n", "q"],  # a form opening while a quit arrives: q is typed into it
    ["n", "escape", "e", "escape", "i", "escape", "t", "escape", "D", "escape"],  # open and close, no pause
    ["i", "escape", "q", "n"], ["question_mark", "q", "e"], ["5", "e", "escape", "q", "i"],
])
async def test_bursts_of_keys_across_opening_and_closing_screens_never_crash(keys, demo_workspace, make_app):
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        for key in keys:
            app.simulate_key(key)
        for _ in range(4):
            await pilot.pause()
    assert app._exception is None, repr(app._exception)
