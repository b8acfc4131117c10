"""The outbox on both backends, against real servers on the loopback interface: a post is written first,
delivered by a worker, and recorded as posted only where a destination accepted it; failures stay, are
retried with backoff, and never leak a channel's token; one process delivers a message at a time."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from octotui.domain.channels import mask
from octotui.services.outbox import DELIVERED, FAILED, GAVE_UP, PENDING, Outbox, PostRefused
from octotui.storage.base import OUTBOX

pytestmark = pytest.mark.both_backends
TOKEN = "T0KENsecret42"


@pytest.fixture
def server():
    """A webhook endpoint on 127.0.0.1 that answers each request in its own thread (a slow answer never
    holds up the next)."""
    http = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    http.start()
    yield http
    http.clear()
    if http.is_running():
        http.stop()


def hook(server: HTTPServer, path: str = "/hook") -> str:
    return f"json://127.0.0.1:{server.port}{path}/{TOKEN}"


def posted_lines(workspace, incident_id: int) -> list[str]:
    return [e.text for e in workspace.incident(incident_id).timeline if "posted" in e.text and e.kind == "update"]


def setup(workspace, server, *, stakeholders: str | None = None, timeout: float = 5.0):
    workspace.settings.channels = {"incidents": hook(server)}
    if stakeholders is not None:
        workspace.settings.channels["stakeholders"] = stakeholders
    workspace.settings.routes = {"incident-*": list(workspace.settings.channels)}
    workspace.settings.delivery.timeout = timeout
    incident = workspace.start_incident("Checkout errors", "P1", impact="Checkout fails for some")
    return incident


def post_update(workspace, templates, incident, outbox=None):
    outbox = outbox or Outbox(workspace)
    template = templates["incident-update"]
    filled, names_due = outbox.preview(template, incident)
    message = outbox.post(template, incident, filled.text, outbox.destinations_for(template.name),
                          missing=tuple(filled.missing), names_due=names_due)
    return outbox, message, filled, names_due


def test_a_post_is_written_first_then_recorded_as_posted_only_once_accepted(workspace, templates, server, clock):
    server.expect_request("/hook/" + TOKEN, method="POST").respond_with_data("ok")
    incident = setup(workspace, server)
    clock.advance(minutes=20)  # the update is due in 10 min: the post resets it
    outbox, message, filled, names_due = post_update(workspace, templates, incident)
    assert [m.destinations["incidents"].state for m in outbox.messages()] == [PENDING]
    assert posted_lines(workspace, incident.id) == []  # written, not posted: nothing said yet
    assert len(server.log) == 0
    clock.advance(seconds=2)
    attempts = outbox.deliver_due()
    assert [(a.channel, a.accepted) for a in attempts] == [("incidents", True)]
    body = json.loads(server.log[0][0].get_data())
    assert body["message"] == filled.text.strip()  # the exact text confirmed (apprise trims the ends)
    (line,) = posted_lines(workspace, incident.id)
    assert line.startswith("Incident status update posted to incidents at 12:20 UTC")
    fresh = workspace.incident(incident.id)
    # The countdown shows the time the text names, and the text names it.
    assert workspace.next_update_due(fresh) == names_due == clock.now() - timedelta(seconds=2) + timedelta(minutes=30)
    assert workspace.people_time(names_due) in filled.text
    assert fresh.last_update_at == clock.now()
    (stored,) = outbox.messages()
    assert stored.destinations["incidents"].state == DELIVERED and stored.claim is None
    assert outbox.deliver_due() == []  # delivered once, not again


def _slow(release: threading.Event):
    def answer(_request: Request) -> Response:
        release.wait(10)
        return Response("late")
    return answer


FAULTS = {
    "500": lambda s: (s.expect_request("/hook/" + TOKEN).respond_with_data("boom", status=500), hook(s))[1],
    "401": lambda s: (s.expect_request("/hook/" + TOKEN).respond_with_data("no", status=401), hook(s))[1],
    "refused": lambda s: f"json://127.0.0.1:1/hook/{TOKEN}",
    "unresolvable": lambda s: f"json://status.octotui-test.invalid/hook/{TOKEN}",
}


@pytest.mark.parametrize("fault", [*FAULTS, "timeout"])
def test_a_failed_destination_is_not_posted_stays_and_is_retried_with_backoff(workspace, templates, server, clock, fault):
    release = threading.Event()
    if fault == "timeout":
        server.expect_request("/slow/" + TOKEN).respond_with_handler(_slow(release))
        failing = hook(server, "/slow")
    else:
        failing = FAULTS[fault](server)
    server.expect_request("/ok/" + TOKEN).respond_with_data("ok")
    incident = setup(workspace, server, stakeholders=failing, timeout=0.5)
    workspace.settings.channels["incidents"] = hook(server, "/ok")
    try:
        outbox, message, _filled, _due = post_update(workspace, templates, incident)
        attempts = {a.channel: a for a in outbox.deliver_due()}
    finally:
        release.set()
    assert attempts["incidents"].accepted and not attempts["stakeholders"].accepted
    reason = attempts["stakeholders"].reason
    assert reason and TOKEN not in reason
    (line,) = posted_lines(workspace, incident.id)
    assert "incidents" in line and "stakeholders" not in line  # only where it was accepted
    (stored,) = outbox.messages()
    failed = stored.destinations["stakeholders"]
    assert failed.state == FAILED and failed.error == reason and failed.attempts == 1
    assert failed.next_at == clock.now() + timedelta(seconds=30)
    assert all(TOKEN not in text for text in outbox.describe(stored))
    assert outbox.describe(stored)[1].endswith(f"failed ({reason}); next try in 00:30 (12:00 UTC)")
    assert outbox.deliver_due() == []  # not due yet: no request
    # The destination comes back: the retry after 30 s delivers it, recorded once, countdown untouched.
    workspace.settings.channels["stakeholders"] = hook(server, "/ok")
    due_before = workspace.next_update_due(workspace.incident(incident.id))
    clock.advance(seconds=30)
    assert [(a.channel, a.accepted) for a in outbox.deliver_due()] == [("stakeholders", True)]
    lines = posted_lines(workspace, incident.id)
    assert len(lines) == 2 and lines[1].startswith("Incident status update posted to stakeholders at")
    assert workspace.next_update_due(workspace.incident(incident.id)) == due_before


def test_backoff_then_every_five_minutes_for_an_hour_then_given_up(workspace, templates, server, clock):
    incident = setup(workspace, server, stakeholders=f"json://127.0.0.1:1/hook/{TOKEN}")
    workspace.settings.routes = {"incident-*": ["stakeholders"]}
    outbox, message, _filled, _due = post_update(workspace, templates, incident)
    start = clock.now()
    waits = []
    while True:
        (attempt,) = outbox.deliver_due()
        assert not attempt.accepted
        destination = outbox.messages()[0].destinations["stakeholders"]
        if destination.state == GAVE_UP:
            break
        waits.append(destination.next_at - clock.now())
        clock.set(destination.next_at)
    assert waits[:5] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5),
                         timedelta(minutes=5)]
    assert set(waits[4:]) == {timedelta(minutes=5)}
    assert clock.now() - start <= timedelta(hours=1)
    assert outbox.deliver_due() == []
    assert posted_lines(workspace, incident.id) == []


def test_one_process_delivers_a_message_the_other_waits_for_the_claim(workspace, templates, server, clock, reopen,
                                                                      playbook):
    from octotui.services.workspace import Workspace

    server.expect_request("/hook/" + TOKEN).respond_with_data("ok")
    incident = setup(workspace, server)
    first, message, _filled, _due = post_update(workspace, templates, incident)
    other_store = reopen(workspace.store)
    other = Outbox(Workspace(other_store, playbook, clock=clock, author="other", settings=workspace.settings))
    assert message.claim["by"] == first.worker  # claimed by its poster in the unit of work that wrote it
    other.workspace.refresh()
    assert other.claim_due() == []  # not delivered twice by a second octotui that saw it appear
    claimed = first.claim_due()
    assert [m.id for m in claimed] == [message.id]
    other.workspace.refresh()
    assert other.claim_due() == []  # claimed by the first, whose process runs (this one)
    clock.advance(minutes=5)  # the first died without a word: its lease ran out
    other.workspace.refresh()
    assert [m.id for m in other.claim_due()] == [message.id]
    other.record(message, other.attempt(message))
    assert len(server.log) == 1
    workspace.refresh()
    assert first.deliver_due() == []


def test_a_token_in_a_channel_url_appears_nowhere(workspace, templates, server, clock):
    server.expect_request("/hook/" + TOKEN).respond_with_data("no", status=401)
    incident = setup(workspace, server)
    outbox, message, _filled, _due = post_update(workspace, templates, incident)
    (attempt,) = outbox.deliver_due()
    seen = [attempt.reason, *outbox.describe(outbox.messages()[0]), outbox.channels.shown("incidents"),
            mask(hook(server)), json.dumps(workspace.store.snapshot.all(OUTBOX))]
    assert all(TOKEN not in text for text in seen), seen
    with pytest.raises(PostRefused) as refused:
        outbox.destinations_for("incident-update", ["nope"])
    assert TOKEN not in str(refused.value)


def test_hostile_text_goes_out_as_text_and_is_shown_without_controls(workspace, templates, server, clock):
    server.expect_request("/hook/" + TOKEN).respond_with_data("ok")
    incident = setup(workspace, server)
    hostile = "[bold]x[/] \x1b[31mred\x1b]52;c;AAAA\x07 <b>html</b> *md*\n" + "y" * 100_000
    outbox = Outbox(workspace)
    message = outbox.post(templates["incident-update"], incident, hostile, ["incidents"])
    (attempt,) = outbox.deliver_due()
    assert attempt.accepted
    assert json.loads(server.log[0][0].get_data())["message"] == hostile  # sent as it is, as text
    shown = " ".join(outbox.describe(outbox.messages()[0]))
    assert "\x1b" not in shown and "\x07" not in shown
    assert message.id == outbox.messages()[0].id


def test_retry_now_and_give_up_are_recorded(workspace, templates, server, clock):
    server.expect_request("/hook/" + TOKEN).respond_with_data("boom", status=500)
    incident = setup(workspace, server)
    outbox, message, _filled, _due = post_update(workspace, templates, incident)
    outbox.deliver_due()
    assert outbox.deliver_due() == []  # waiting for its 30 s
    assert outbox.retry_now() == 1
    assert len(outbox.deliver_due()) == 1 and len(server.log) == 2
    assert outbox.give_up(message.id) == 1
    (stored,) = outbox.messages()
    assert stored.destinations["incidents"].state == GAVE_UP
    assert "given up by tester" in stored.destinations["incidents"].error
    assert [entry.split(" ", 1)[1] for entry in stored.log] == ["tester: retry now (incidents)",
                                                               "tester: gave up (incidents)"]
    clock.advance(hours=2)
    assert outbox.deliver_due() == [] and len(server.log) == 2


@pytest.fixture
def smtp():
    """An SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it received; `refuse` makes it answer 550."""
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.received: list = []
            self.refuse = False

        async def handle_DATA(self, _server, _session, envelope):
            if self.refuse:
                return "550 mailbox unavailable"
            self.received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"mailto://127.0.0.1:{port}?from=octotui@example.com&to=status@example.com"
    yield inbox
    controller.stop()


def test_email_over_smtp_is_posted_and_a_refusal_is_kept(workspace, templates, server, clock, smtp):
    incident = setup(workspace, server, stakeholders=smtp.url)
    workspace.settings.routes = {"incident-*": ["stakeholders"]}
    smtp.refuse = True
    outbox, message, filled, _due = post_update(workspace, templates, incident)
    (attempt,) = outbox.deliver_due()
    assert not attempt.accepted and smtp.received == []
    assert posted_lines(workspace, incident.id) == []
    smtp.refuse = False
    clock.advance(seconds=30)
    (attempt,) = outbox.deliver_due()
    assert attempt.accepted
    (mail,) = smtp.received
    assert mail.rcpt_tos == ["status@example.com"]
    assert "Checkout errors" in mail.content.decode()
    (line,) = posted_lines(workspace, incident.id)
    assert "posted to stakeholders at" in line
