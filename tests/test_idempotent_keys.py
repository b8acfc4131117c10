"""Every command carries an action id: a key whose commit's answer was lost is checked, never applied twice."""

import contextlib

import pytest
from test_ui_checklist import open_checklist, table_rows
from test_ui_live import _until

from octotui.services.workspace import RunRef
from octotui.storage.errors import StoreOutcomeUnknown


def _in_doubt_once(store, landed: bool) -> None:
    """The next unit of work: its commit lands (or not), and either way its answer is lost."""
    real = store.unit_of_work

    @contextlib.contextmanager
    def once(on_wait=None):
        del store.unit_of_work  # one unit of work only
        with real(on_wait) as uow:
            yield uow
            if not landed:
                raise StoreOutcomeUnknown(store.location, "not known whether this change was saved")
        raise StoreOutcomeUnknown(store.location, "not known whether this change was saved")

    store.unit_of_work = once


def _toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pytest.mark.parametrize("landed", [True, False])
async def test_a_key_whose_answer_was_lost_is_checked_and_never_applied_twice(workspace, make_app, landed):
    release = workspace.create_release(version="1.0.0", title="a")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_checklist(app, pilot, release.id)
        await app.commands.wait_idle()
        _in_doubt_once(app.workspace.store, landed)
        await pilot.press("space")
        await _until(pilot, lambda: any(t.startswith("Saved") or "nothing was changed" in t
                                        for t in _toasts(app)))
        said = _toasts(app)
        assert "Not known whether saved — checking…" in said, said
        await app.commands.wait_idle()
        await pilot.pause()
        run = app.workspace.run(RunRef("release", 1, "gate"))
        if landed:
            assert any(t.startswith("Saved") for t in said), said
            assert [event.action for event in run.history] == ["done"], "applied once, never toggled back"
            assert table_rows(app)["REL-1:gate:0"][0] == "[x]", "the screen shows it (refreshed)"
        else:
            assert any(t.startswith("Not saved — nothing was changed") for t in said), said
            assert run.history == [] and table_rows(app)["REL-1:gate:0"][0] != "[x]"
