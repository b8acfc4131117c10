"""Pilot tests: posting from the comms screen (a confirmation with the exact text and masked destinations,
Enter posts), the outbox pane, retry now / give up, and the loop kept free while a server is slow."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer
from test_ui_comms import ready_incident, select_template
from test_ui_live import _until
from werkzeug import Response

from octotui.services.outbox import DELIVERED, FAILED, GAVE_UP
from octotui.ui.posting import PostConfirmScreen, outbox_runner

TOKEN = "hookTOKEN777"


@pytest.fixture
def server():
    http = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    http.start()
    yield http
    http.clear()
    http.stop()


def channels(workspace, server, **extra):
    workspace.settings.channels = {"incidents": f"json://127.0.0.1:{server.port}/hook/{TOKEN}", **extra}
    workspace.settings.routes = {"incident-*": list(workspace.settings.channels)}
    workspace.settings.delivery.timeout = 2


def screen_text(screen) -> str:
    return "\n".join(str(widget.render()) for widget in screen.query("Static, Checkbox"))


async def test_p_confirms_the_exact_text_and_masked_destinations_then_enter_posts(workspace, make_app, server, clock):
    server.expect_request(f"/hook/{TOKEN}").respond_with_data("ok")
    channels(workspace, server, stakeholders=f"json://127.0.0.1:1/down/{TOKEN}")
    incident = ready_incident(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        select_template(app, "incident-update")
        await pilot.press("p")
        assert isinstance(app.screen, PostConfirmScreen)
        shown = screen_text(app.screen)
        assert f"incidents (json://127.0.0.1:{server.port}/***)" in shown
        assert "stakeholders (json://127.0.0.1:1/***)" in shown and TOKEN not in shown
        text = app.screen.text
        assert text.startswith("[P1] INC-1 update: Checkout errors")
        assert len(server.log) == 0  # nothing leaves before Enter
        await pilot.press("enter")
        await _until(pilot, lambda: len(server.log) == 1 and not outbox_runner(app).busy)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert json.loads(server.log[0][0].get_data())["message"] == text.strip()
        timeline = [e.text for e in workspace.incident(incident.id).timeline]
        assert any(line.startswith("Incident status update posted to incidents at") for line in timeline)
        assert not any("stakeholders" in line for line in timeline)
        (message,) = outbox_runner(app).messages
        assert message.destinations["incidents"].state == DELIVERED
        assert message.destinations["stakeholders"].state == FAILED
        pane = "\n".join(str(option.prompt) for option in app.screen.query_one("#outbox").options)
        assert "incidents (json://127.0.0.1:" in pane and "delivered" in pane
        assert "stakeholders (json://127.0.0.1:1/***): failed (" in pane and TOKEN not in pane
        toasts = " ".join(str(n.message) for n in app._notifications)
        assert "Not posted to stakeholders" in toasts and TOKEN not in toasts
        await pilot.press("g")  # give up the highlighted message's waiting destination (recorded)
        await app.workers.wait_for_complete()
        await pilot.pause()
        (message,) = outbox_runner(app).messages
        assert message.destinations["stakeholders"].state == GAVE_UP and "gave up" in message.log[-1]


async def test_space_untoggles_a_destination_and_escape_posts_nothing(workspace, make_app, server, clock):
    channels(workspace, server, stakeholders=f"json://127.0.0.1:{server.port}/other/{TOKEN}")
    server.expect_request(f"/hook/{TOKEN}").respond_with_data("ok")
    ready_incident(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        select_template(app, "incident-update")
        await pilot.press("p", "escape")
        assert not isinstance(app.screen, PostConfirmScreen) and outbox_runner(app).messages == []
        await pilot.press("p", "space", "enter")  # the first destination (incidents) untoggled
        await _until(pilot, lambda: len(server.log) == 1 and not outbox_runner(app).busy)
        await app.workers.wait_for_complete()
        await pilot.pause()
        (message,) = outbox_runner(app).messages
        assert list(message.destinations) == ["stakeholders"]
        assert server.log[0][0].path == f"/other/{TOKEN}"


async def test_keys_are_handled_while_a_send_waits_on_a_slow_server(workspace, make_app, server, clock):
    held, arrived = threading.Event(), threading.Event()

    def slow(_request):
        arrived.set()
        held.wait(10)
        return Response("ok")

    server.expect_request(f"/hook/{TOKEN}").respond_with_handler(slow)
    channels(workspace, server)
    workspace.settings.delivery.timeout = 15
    ready_incident(workspace)
    app = make_app(workspace)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("5")
            select_template(app, "incident-update")
            await pilot.press("p", "enter")
            await _until(pilot, arrived.is_set)
            ticks = app.ticks
            await pilot.press("1")  # the board, while the server still holds the request
            assert app.current_mode == "board" and outbox_runner(app).busy and not held.is_set()
            await _until(pilot, lambda: app.ticks > ticks)  # the clock keeps ticking too
            held.set()
            await _until(pilot, lambda: not outbox_runner(app).busy)
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert outbox_runner(app).messages[0].destinations["incidents"].state == DELIVERED
    finally:
        held.set()


async def test_without_channels_p_is_not_offered_and_copy_stays(workspace, make_app, clock):
    ready_incident(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        assert not app.screen.query_one("#outbox").display
        await pilot.press("p")
        assert not isinstance(app.screen, PostConfirmScreen)
        await pilot.press("y")
        assert "INC-1 (P1): Checkout errors" in app.clipboard


async def test_the_status_update_form_posts_to_the_routes_channels_and_the_countdown_is_the_time_named(
        workspace, make_app, server, clock):
    server.expect_request(f"/hook/{TOKEN}").respond_with_data("ok")
    channels(workspace, server)
    incident = workspace.start_incident("Checkout errors", "P1")
    clock.advance(minutes=40)  # overdue
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3", "u")
        form = app.screen
        assert form.values()["send"] == "incidents"  # "Post to incidents", next to Copy
        await pilot.press(*"Card checkouts fail", "enter", *"Rolling back", "enter")
        assert isinstance(app.screen, PostConfirmScreen)
        text = app.screen.text
        saved = workspace.incident(incident.id)
        assert saved.impact == "Card checkouts fail" and saved.last_update_at is None  # saved, not yet "sent"
        assert not any("sent" in e.text or "posted" in e.text for e in saved.timeline if e.kind == "update")
        await pilot.press("enter")
        await _until(pilot, lambda: len(server.log) == 1 and not outbox_runner(app).busy)
        await app.workers.wait_for_complete()
        await pilot.pause()
        posted = workspace.incident(incident.id)
        due = workspace.next_update_due(posted)
        assert due == clock.now() + timedelta(minutes=30)
        assert f"Next update time: {workspace.people_time(due)}" in text  # the time the text names
        assert json.loads(server.log[0][0].get_data())["message"] == text.strip()
        (line,) = [e.text for e in posted.timeline if e.kind == "update"]
        assert line == "Incident initial notification posted to incidents at 12:40 UTC; next update by 13:10 UTC"


async def test_the_status_update_form_still_copies_when_copy_is_chosen(workspace, make_app, server, clock):
    channels(workspace, server)
    incident = workspace.start_incident("Checkout errors", "P1")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3", "u")
        app.screen.set_value("send", "copy")
        await pilot.press(*"Card checkouts fail", "enter", *"Rolling back", "enter")
        assert not isinstance(app.screen, PostConfirmScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.clipboard.startswith("[P1] INC-1: Checkout errors")
        (line,) = [e.text for e in workspace.incident(incident.id).timeline if e.kind == "update"]
        assert line.startswith("Incident initial notification sent — ")
        assert outbox_runner(app).messages == [] and len(server.log) == 0


async def test_p_with_missing_values_asks_first_as_copying_does(workspace, make_app, server, clock):
    from octotui.ui.forms import ChoiceScreen, FormScreen

    server.expect_request(f"/hook/{TOKEN}").respond_with_data("ok")
    channels(workspace, server)
    incident = workspace.start_incident("Checkout errors", "P1")
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        select_template(app, "incident-update")
        await pilot.press("p")
        assert isinstance(app.screen, ChoiceScreen) and "missing impact" in app.screen.title_text
        labels = [label for _value, label in app.screen.choices]
        assert labels[0] == "Fill impact, current actions in the status-update form (sends when saved)"
        assert labels[-1].startswith("Post anyway, with the gaps marked")
        await pilot.press("enter")  # fill them in the form, which posts
        assert isinstance(app.screen, FormScreen) and app.screen.values()["send"] == "incidents"
        await pilot.press(*"Card checkouts fail", "enter", *"Rolling back", "enter")
        assert isinstance(app.screen, PostConfirmScreen) and "Impact: Card checkouts fail" in app.screen.text
        assert app.screen.missing == []
        await pilot.press("enter")
        await _until(pilot, lambda: len(server.log) == 1 and not outbox_runner(app).busy)
        await app.workers.wait_for_complete()
        await pilot.pause()
        (line,) = [e.text for e in workspace.incident(incident.id).timeline if e.kind == "update"]
        assert line.startswith("Incident status update posted to incidents at") and "missing" not in line


async def test_a_message_left_mid_send_by_a_killed_octotui_is_delivered_by_the_next_start(workspace, make_app, server,
                                                                                         clock, templates):
    import subprocess

    from octotui.services.outbox import Outbox, this_process
    from octotui.storage.base import OUTBOX

    server.expect_request(f"/hook/{TOKEN}").respond_with_data("ok")
    channels(workspace, server)
    incident = ready_incident(workspace)
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process id that no longer runs: the octotui that was killed mid-send
    outbox = Outbox(workspace)
    message = outbox.post(templates["incident-update"], incident, "the text", ["incidents"])
    with workspace.store.unit_of_work() as uow:  # its claim, as the killed process left it (lease still running)
        doc = uow.get(OUTBOX, message.id)
        doc["claim"] = {"by": "killed", "until": (clock.now() + timedelta(minutes=10)).isoformat(),
                        **this_process(), "pid": gone.pid}
        uow.put(OUTBOX, message.id, doc)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: len(server.log) == 1 and outbox_runner(app).passes >= 1
                     and not outbox_runner(app).busy and not app.commands.pending)
        await pilot.pause()
        assert outbox_runner(app).outbox.messages()[0].destinations["incidents"].state == DELIVERED
        lines = [e.text for e in workspace.incident(incident.id).timeline if e.kind == "update"]
        assert len(lines) == 1


async def test_a_pass_while_an_outcome_waits_to_be_recorded_does_not_send_it_again(workspace, make_app, server, clock,
                                                                                    templates):
    """The command worker is slow to record (another save holds it): the next passes must not resend."""
    server.expect_request(f"/hook/{TOKEN}").respond_with_data("ok")
    channels(workspace, server)
    incident = ready_incident(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        runner = outbox_runner(app)
        await _until(pilot, lambda: runner.passes >= 1 and not runner.busy)
        runner.outbox.post(templates["incident-update"], incident, "the text", ["incidents"])
        gate = threading.Event()
        app.settle_commands = False
        app.run_command_async(gate.wait, 30)  # the command worker is busy: the outcome queues behind this
        try:
            runner.kick()
            await _until(pilot, lambda: len(server.log) == 1 and not runner.busy)
            passes = runner.passes
            for _ in range(3):  # more passes while the outcome is not recorded yet
                runner.kick()
                await _until(pilot, lambda: not runner.busy)
            assert runner.passes == passes + 3 and len(server.log) == 1 and runner.in_flight
            assert runner.outbox.messages()[0].destinations["incidents"].state != DELIVERED  # not recorded yet
        finally:
            gate.set()
        app.settle_commands = True
        await _until(pilot, lambda: not runner.in_flight)
        await pilot.pause()
        assert runner.outbox.messages()[0].destinations["incidents"].state == DELIVERED
        runner.kick()
        await _until(pilot, lambda: not runner.busy)
        assert len(server.log) == 1
