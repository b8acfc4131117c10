"""End to end in a real terminal: start an incident, post its initial notification to a webhook on the
loopback interface, see the request arrive and the outbox and timeline say so."""

from __future__ import annotations

import json
import time

import pytest
from pytest_httpserver import HTTPServer
from test_e2e_tmux import OCTOTUI, Terminal, pytestmark  # noqa: F401 - the same skips and marks

from octotui.storage.file_store import read_tables

TOKEN = "e2eTOKEN31337"


class PostingTerminal(Terminal):
    def start_with(self, name: str, config) -> None:
        command = (f"env OCTOTUI_DB={self.db} OCTOTUI_USER=e2e OCTOTUI_CONFIG={config} TERM=xterm-256color "
                   f"XDG_CACHE_HOME={config.parent / 'cache'} "
                   f"{OCTOTUI}")
        self.tmux("new-window", "-t", "boot", "-n", name, command, check=True)
        self.window = f"boot:{name}"


@pytest.fixture
def server():
    http = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    http.start()
    yield http
    http.clear()
    http.stop()


def test_start_an_incident_post_the_initial_notification_and_see_it_arrive(tmp_path, server):
    server.expect_request(f"/hook/{TOKEN}", method="POST").respond_with_data("ok")
    config = tmp_path / "config.toml"
    config.write_text(f'[channels]\nincidents = "json://127.0.0.1:{server.port}/hook/{TOKEN}"\n'
                      '[routes]\n"incident-*" = ["incidents"]\n')
    config.chmod(0o600)
    terminal = PostingTerminal(tmp_path)
    try:
        terminal.start_with("post", config)
        terminal.wait_for("Load demo data", timeout=60)
        terminal.keys("n")
        terminal.wait_for("No releases yet")
        terminal.keys("i")
        terminal.wait_for("Start an incident")
        terminal.type("Checkout returns 500")
        terminal.keys("Up", "Enter")
        terminal.wait_for(r"INC-1 P0 ")
        terminal.keys("5")
        terminal.wait_for("Outbox")
        terminal.keys("Down")  # Escalation message, then the initial notification
        terminal.keys("p")
        terminal.wait_for("Post anyway")  # missing values ask first, as for copying
        terminal.keys("End", "Enter")
        text = terminal.wait_for("Post “Incident initial notification” for INC-1")
        assert f"incidents (json://127.0.0.1:{server.port}/***)" in text and TOKEN not in text, text
        assert "Missing: impact" in text  # no impact yet: Enter posts it anyway, recorded as such
        terminal.keys("Enter")
        for _ in range(200):  # counted polls of the server's log (a real terminal has no pilot)
            if server.log:
                break
            time.sleep(0.1)
        (request, _response), = server.log
        body = json.loads(request.get_data())
        assert body["message"].startswith("[P0] INC-1: Checkout returns 500")
        screen = terminal.wait_for(r"incidents \(json://127\.0\.0\.1:\d+/\*\*\*\): delivered")
        assert TOKEN not in screen
        terminal.keys("3")
        terminal.wait_for("Incident initial notification post")  # the timeline (cut to the terminal's width)
        events = read_tables(terminal.db)["events"].values()
        (line,) = [e["text"] for e in events if e.get("kind") == "update"]
        assert line.startswith("Incident initial notification posted to incidents at ")
        assert "with missing: impact, current_actions; next update by" in line
    finally:
        terminal.close()
