"""Sent means delivered somewhere (issue 28): the record of an update follows the copy, names where the text
went, and a copy that reached nothing records nothing and keeps the countdown."""

from __future__ import annotations

import os
import stat
import sys
from datetime import timedelta

import pytest

from octotui.comms.clipboard import CopyOutcome, copy_text
from octotui.domain.inputs import NeedsConfirmation  # noqa: F401  (the form raises it; imported for readers)
from octotui.services.delivery import DeliveredPlace, NotDelivered, places_from_copy, record_delivered
from octotui.ui.forms import ConfirmScreen, FormScreen


def ready_incident(workspace):
    incident = workspace.start_incident("Checkout errors", "P1", impact="3% of checkouts fail")
    workspace.set_current_actions(incident.id, "Rolling back 2.4.0")
    workspace.assign_role(incident.id, "comms", "devi")
    workspace.assign_role(incident.id, "tech", "sam")
    return incident


def updates(workspace, incident_id):
    return [e for e in workspace.incident(incident_id).timeline if e.kind == "update"]


async def settle(app, pilot):
    await app.workers.wait_for_complete()
    await pilot.pause()


def nowhere(workspace):
    """No system clipboard (no display), no OSC 52 (native mode), and the fallback file cannot be written."""
    workspace.settings = workspace.settings.model_copy(update={"clipboard": "native"})
    workspace.store.path.with_name("octotui-clipboard.md").mkdir()


async def test_a_copy_that_reached_nothing_records_nothing_and_says_why(workspace, make_app, clock):
    incident = ready_incident(workspace)
    nowhere(workspace)
    clock.advance(minutes=40)  # overdue: it must stay overdue
    due_before = workspace.next_update_due(workspace.incident(incident.id))
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        for _ in range(4):  # the report: four presses made four "sent" lines
            await pilot.press("y")
            await settle(app, pilot)
        saved = workspace.incident(incident.id)
        assert updates(workspace, incident.id) == [], "nothing reached anyone: nothing is recorded as sent"
        assert saved.last_update_at is None and workspace.next_update_due(saved) == due_before
        assert "UPDATE OVERDUE" in str(app.screen.query_one("#incident-clocks").render())
        run = saved.runs["escalation"]
        assert all(item.state.value == "todo" for item in run.items if item.auto == "update"), "no auto-tick"
        toasts = [str(n.message) for n in app._notifications]
        assert toasts and all("NOT sent" in toast for toast in toasts[-4:]), toasts
        assert "no display" in toasts[-1] and "cannot write" in toasts[-1]
        assert "Sent to terminal clipboard" not in " ".join(toasts)


async def test_the_record_names_where_the_text_went_and_follows_the_copy(workspace, make_app, clock):
    incident = ready_incident(workspace)
    workspace.settings = workspace.settings.model_copy(update={"clipboard": "file"})
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "y")
        await settle(app, pilot)
        fallback = workspace.store.path.with_name("octotui-clipboard.md")
        [line] = updates(workspace, incident.id)
        assert line.text.startswith(f"Incident initial notification sent — written to {fallback}; next update by")
        assert fallback.read_text(encoding="utf-8") == app.clipboard
        due = workspace.next_update_due(workspace.incident(incident.id))
        assert f"Next update time: {workspace.people_time(due)}" in fallback.read_text(encoding="utf-8")
        assert [str(n.message) for n in app._notifications][-1].startswith(f"Incident initial notification: written to {fallback}")


async def test_the_status_update_form_records_only_after_the_copy(workspace, make_app, clock):
    incident = ready_incident(workspace)
    nowhere(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "u")
        app.screen.set_value("current_actions", "Fix on staging")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        saved = workspace.incident(incident.id)
        assert saved.current_actions == "Fix on staging", "what was typed is kept"
        assert updates(workspace, incident.id) == [] and saved.last_update_at is None


async def test_the_status_update_form_asks_about_missing_values_as_y_does(workspace, make_app, clock):
    incident = workspace.start_incident("Checkout errors", "P1", impact="3% of checkouts fail")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "u")
        assert isinstance(app.screen, FormScreen)
        await pilot.press("enter", "enter")  # impact → current actions (empty) → save
        assert isinstance(app.screen, ConfirmScreen), "a gap is never sent unasked"
        assert "current actions" in str(app.screen.question)
        assert app.screen.focused.id == "no", "as with y, Enter goes back to fill the gap"
        await pilot.press("enter")
        assert isinstance(app.screen, FormScreen), "back to the form, nothing lost"
        await settle(app, pilot)
        assert updates(workspace, incident.id) == [] and "⟦" not in app.clipboard


async def test_resolving_from_the_status_update_form_is_never_confirmed_by_enter(workspace, make_app, clock):
    from octotui.domain.models import IncidentStatus

    incident = ready_incident(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "u")
        app.screen.set_value("status", IncidentStatus.RESOLVED.value)
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen) and "Resolve although" in str(app.screen.question)
        await pilot.press("enter")
        await settle(app, pilot)
        assert workspace.incident(incident.id).open and isinstance(app.screen, FormScreen)


@pytest.mark.both_backends
def test_record_delivered_refuses_an_empty_list_and_records_nothing(workspace):
    from octotui.comms.templates import load_templates

    incident = ready_incident(workspace)
    before = workspace.incident(incident.id).timeline
    with pytest.raises(NotDelivered):
        record_delivered(workspace, incident.id, load_templates()["incident-update"], [])
    assert workspace.incident(incident.id).timeline == before


@pytest.mark.both_backends
def test_record_delivered_names_each_place_and_keeps_the_promise_it_is_given(workspace, clock):
    from octotui.comms.templates import load_templates

    incident = ready_incident(workspace)
    promised = clock.now() + timedelta(minutes=15)
    places = [DeliveredPlace("channel", "#inc-checkout"), DeliveredPlace("terminal", confirmed=False)]
    saved = record_delivered(workspace, incident.id, load_templates()["incident-update"], places, promised=promised)
    assert saved.timeline[-2].text == ("Incident status update sent — posted to #inc-checkout; emitted to the "
                                       "terminal (OSC 52, not confirmable); next update by 12:15 UTC")
    assert workspace.next_update_due(saved) == promised


def test_the_clipboard_chain_never_raises_and_never_claims_an_osc52_arrival(tmp_path):
    blocked = tmp_path / "clip.md"
    blocked.mkdir()
    outcome = copy_text("hello", "auto", blocked, send_osc52=lambda text: True)
    assert outcome.osc52 and outcome.file is None and not outcome.native
    assert outcome.message().startswith("Emitted to the terminal (OSC 52, not confirmable)")
    assert "Sent to terminal clipboard" not in outcome.message() and "cannot write" in outcome.message()
    assert places_from_copy(outcome) == [DeliveredPlace("terminal", confirmed=False)]
    nothing = copy_text("hello", "native", blocked)
    assert not nothing.reached and places_from_copy(nothing) == []
    assert nothing.message().startswith("Not copied anywhere: system clipboard: no display; cannot write")
    assert CopyOutcome(native=True, osc52=False, file=None).message() == "Copied to system clipboard"


def test_inside_tmux_with_set_clipboard_off_no_osc52_is_claimed(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "tmux"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nprint('off')\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TMUX", "/tmp/incident-fake-tmux,1,0")
    sent = []
    outcome = copy_text("hello", "auto", tmp_path / "clip.md", send_osc52=lambda text: sent.append(text) or True)
    assert sent == [] and not outcome.osc52 and outcome.file == tmp_path / "clip.md"
    assert "tmux set-clipboard is off" in outcome.message()
