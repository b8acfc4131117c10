"""One presenter for every failed command (ui.errors): what a person reads, and the log for the unforeseen."""

from __future__ import annotations

from octotui.logs import configure, log
from octotui.storage.errors import NotFound
from octotui.ui.errors import not_saved_text


def test_a_store_refusal_says_not_saved_once():
    from octotui.storage.errors import StoreWriteFailed

    failed = StoreWriteFailed("/tmp/x.json", "not saved: no permission to write; the previous file is intact")
    assert not_saved_text(failed) == "no permission to write; the previous file is intact"


def test_a_lookup_by_id_that_fails_says_which_id():
    assert not_saved_text(KeyError("REL-12")) == "REL-12 was not found (any more)"
    assert not_saved_text(NotFound("INC-3 does not exist (any more)")) == "INC-3 does not exist (any more)"
    assert not_saved_text(ValueError("x")) is None


async def test_an_unexpected_error_is_one_line_naming_the_log_where_its_traceback_is(workspace, make_app, tmp_path):
    path = configure(tmp_path / "octotui.log", "INFO")

    def broken() -> None:
        raise ZeroDivisionError("division by zero in a command")

    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.run_command_async(broken)
        await pilot.pause()
        toasts = [str(toast.message) for toast in app._notifications]
    for handler in log.handlers:
        handler.flush()
    assert any("Something went wrong (ZeroDivisionError" in text and f"details in {path}" in text
               and "Traceback" not in text for text in toasts), toasts
    written = path.read_text()
    assert "Traceback (most recent call last)" in written and "division by zero in a command" in written


async def test_a_missing_record_is_named_in_the_toast(workspace, make_app):
    def gone() -> None:
        raise KeyError("DEC-41")

    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.run_command_async(gone)
        await pilot.pause()
        toasts = [str(toast.message) for toast in app._notifications]
    assert any("DEC-41 was not found" in text for text in toasts), toasts
