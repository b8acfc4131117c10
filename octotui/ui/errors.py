"""The one presenter of a failed command: what a person reads for each kind of failure, and the log for the rest.

Forms show a refusal next to the field they name (InputError) and use `not_saved_text` for the rest; everything
else (a key, the palette, a worker) reaches `present`. An unexpected exception is one line naming the log file,
where its traceback is: never a traceback on screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from octotui.domain.text import one_line
from octotui.storage.errors import NotFound, StoreError, StoreOutcomeUnknown

if TYPE_CHECKING:
    from octotui.ui.handle import Octo


def not_saved_text(error: BaseException) -> str | None:
    """Why nothing was saved, for the failures a person can act on; None for anything else."""
    if isinstance(error, StoreError):  # the store's own words may already begin "not saved:": said once, here
        message = error.message
        return message[len("not saved: "):] if message.lower().startswith("not saved: ") else message
    if isinstance(error, NotFound):  # a KeyError whose message already names the record
        return one_line(str(error.args[0]) if error.args else "the record does not exist (any more)")
    if isinstance(error, KeyError):  # a lookup by id: say which
        return f"{one_line(str(error.args[0]) if error.args else 'the record')[:60]} was not found (any more)"
    return None


def present(app: Octo, error: BaseException) -> None:
    """A refused or failed command, as a toast."""
    from octotui.domain.inputs import InputError, NeedsConfirmation  # a command ran: pydantic is loaded
    from octotui.services.records import GateBlocked

    if isinstance(error, InputError):
        app.notify("; ".join(error.errors.values()), severity="warning", timeout=6)
    elif isinstance(error, GateBlocked | NeedsConfirmation):  # a question the flow did not ask (StaleChoice too)
        app.notify(str(error), severity="warning")
    elif isinstance(error, StoreOutcomeUnknown) and error.action_id is not None:
        app.notify("Not known whether saved — checking…", severity="warning", timeout=10)
        check_outcome(app, error.action_id)
    elif (text := not_saved_text(error)) is not None:
        app.notify(f"{text} — nothing was changed", title="Not saved", severity="error", timeout=10)
    else:
        from octotui.logs import unexpected_line

        app.notify(f"{unexpected_line(error)} — nothing was changed", title="Not saved", severity="error", timeout=15)


CHECK_AGAIN_SECONDS = 1.0


def check_outcome(app: Octo, action_id: str) -> None:
    """A command's outcome was lost with the connection: once the store answers, say whether it was saved.
    Only checked, through the command worker: the command itself is never run again."""
    from octotui.services import actions

    def checked(saved: bool) -> None:
        if saved:  # the check re-read the store: the screens refresh with what it changed
            app.notify("Saved (checked after the connection came back)")
        else:
            app.notify("Not saved — nothing was changed", title="Not saved", severity="error", timeout=10)

    def check_failed(error: BaseException) -> bool:
        if isinstance(error, StoreError) and not app.commands.closed:  # still cut off: keep asking
            app.set_timer(CHECK_AGAIN_SECONDS, lambda: check_outcome(app, action_id))
            return True
        return False

    app.commands.submit(actions.saved, app.workspace, action_id, on_success=checked, on_error=check_failed)
