"""Channels and routes in the settings: checked before any screen (one line, exit 2), secrets masked, the
backoff schedule; and posting headless (`octotui send`, `octotui outbox`) with its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from octotui.cli import main
from octotui.domain.channels import ChannelSettings, mask, next_attempt, scrub
from octotui.domain.settings import SettingsError, load_settings
from octotui.services.workspace import Workspace
from octotui.storage.file_store import Store

TOKEN = "xoxTOKEN9876"
OCTOTUI = Path(sys.executable).with_name("octotui")


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Where a passing check of the channels is remembered: this test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.mark.parametrize(("url", "shown"), [
    (f"slack://T1JJ3T3L2/A1BRTD4JD/{TOKEN}/#incidents", "slack://***/#incidents"),
    (f"json://status.example/hook/{TOKEN}", "json://status.example/***"),
    (f"mailto://user:{TOKEN}@mail.example.com?to=status@example.com", "mailto://***@mail.example.com?to=status@example.com"),
    (f"json://127.0.0.1:8080/hook?token={TOKEN}", "json://127.0.0.1:8080/***"),
    ("discord://1234567/" + TOKEN, "discord://***"),
])
def test_a_destination_is_shown_without_its_secrets(url, shown):
    assert mask(url) == shown
    assert TOKEN not in scrub(f"error posting to {url}: {TOKEN}", [url])


def test_routes_match_names_and_globs_once_each():
    channels = ChannelSettings(channels={"incidents": "json://a.example/x", "stakeholders": ["json://b.example/y"]},
                               routes={"incident-*": ["incidents", "stakeholders"], "incident-update": "incidents",
                                       "release-announcement": ["stakeholders"]})
    assert channels.route("incident-update") == ["incidents", "stakeholders"]
    assert channels.route("release-announcement") == ["stakeholders"]
    assert channels.route("postmortem") == []


def test_backoff_schedule():
    first = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_attempt(1, first, first) == first + timedelta(seconds=30)
    assert next_attempt(4, first, first + timedelta(minutes=3)) == first + timedelta(minutes=8)
    assert next_attempt(9, first, first + timedelta(minutes=50)) == first + timedelta(minutes=55)
    assert next_attempt(12, first, first + timedelta(minutes=56)) is None  # an hour is over: given up


def _config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize(("text", "mode", "expected"), [
    ('[channels]\nincidents = "nonsense://what"\n', 0o600, "channels.incidents: apprise cannot use nonsense://***"),
    ('[channels]\nincidents = "not a url"\n', 0o600, "channels.incidents: not an apprise URL"),
    ('[channels]\nincidents = "json://a.example/x"\n[routes]\n"incident-*" = ["incidents", "pager"]\n', 0o600,
     "routes.incident-*: unknown channel 'pager'"),
    (f'[channels]\nincidents = "slack://T1/A1/{TOKEN}/#incidents"\n', 0o644,
     "channels.incidents: this URL holds credentials and the file is readable by others: chmod 600"),
])
def test_a_channel_that_cannot_work_is_one_line_and_exit_2_before_any_screen(tmp_path, monkeypatch, capsys, text, mode,
                                                                             expected):
    config = _config(tmp_path, text, mode)
    monkeypatch.setenv("OCTOTUI_CONFIG", str(config))
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    assert expected in str(error.value) and TOKEN not in str(error.value)
    assert main(["--db", str(tmp_path / "db.json")]) == 2  # the app: refused before it starts
    err = capsys.readouterr().err
    assert err.startswith("octotui: ") and len(err.splitlines()) == 1 and expected in err and TOKEN not in err


def test_channels_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OCTOTUI_CHANNEL_PAGER", f"json://hooks.example/{TOKEN}")
    settings = load_settings(tmp_path / "none.toml")
    assert settings.posting.channels == {"pager": [f"json://hooks.example/{TOKEN}"]}
    monkeypatch.setenv("OCTOTUI_CHANNEL_PAGER", "bogus://x")
    with pytest.raises(SettingsError, match="CONFIG:channels.pager: apprise cannot use"):
        load_settings(tmp_path / "none.toml")
    # A URL in the environment is not in a shared file: a world-readable settings file is fine then.
    config = _config(tmp_path, '[routes]\n"incident-*" = ["pager"]\n', 0o644)
    monkeypatch.setenv("OCTOTUI_CHANNEL_PAGER", f"json://hooks.example/{TOKEN}")
    assert load_settings(config).posting.route("incident-update") == ["pager"]


def test_a_start_with_channels_checked_before_does_not_load_apprise(tmp_path):
    config = _config(tmp_path, '[channels]\nincidents = "json://status.example/hook"\n'
                               f'team = "slack://T1/A1/{TOKEN}/#incidents"\n')
    probe = ("import sys; from octotui.domain.settings import load_settings; from pathlib import Path; "
             f"load_settings(Path({str(config)!r})); print('apprise' in sys.modules)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def loads_apprise() -> bool:
        result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
        return result.stdout.strip() == "True"

    assert loads_apprise()  # the first start checks with apprise (and remembers that it passed)
    assert not loads_apprise()  # the same channels again: the first paint does not pay for apprise
    remembered = " ".join(path.read_text() for path in (tmp_path / "cache" / "octotui").iterdir())
    assert TOKEN not in remembered and "status.example" not in remembered
    assert oct((tmp_path / "cache" / "octotui" / "channels.key").stat().st_mode & 0o777) == "0o600"
    config.write_text('[channels]\nincidents = "nonsense://status.example/hook"\n')  # changed: checked again
    with pytest.raises(SettingsError, match="apprise cannot use nonsense://"):
        load_settings(config)


# -- headless ------------------------------------------------------------------------------------------------
@pytest.fixture
def server():
    http = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    http.start()
    yield http
    http.clear()
    http.stop()


@pytest.fixture
def headless(tmp_path, monkeypatch, playbook, server):
    """A database with an incident and a settings file routing incident templates to a loopback hook."""
    db = tmp_path / "octotui.json"
    workspace = Workspace(Store(db), playbook, author="tester")
    incident = workspace.start_incident("Checkout errors", "P1", impact="Checkout fails for some")
    workspace.set_current_actions(incident.id, "Rolling back")
    workspace.start_incident("Search slow", "P2")  # INC-2: no impact, no current actions yet
    workspace.store.close()
    config = _config(tmp_path, f'[channels]\nincidents = "json://127.0.0.1:{server.port}/hook/{TOKEN}"\n'
                               f'broken = "json://127.0.0.1:1/hook/{TOKEN}"\n'
                               '[routes]\n"incident-*" = ["incidents"]\n[delivery]\ntimeout = 2\n')
    monkeypatch.setenv("OCTOTUI_CONFIG", str(config))
    return db


def test_send_posts_and_exits_0(headless, server, capsys):
    server.expect_request(f"/hook/{TOKEN}").respond_with_data("ok")
    assert main(["send", "incident-update", "--incident", "INC-1", "--db", str(headless)]) == 0
    out, err = capsys.readouterr()
    assert "posted #1 Incident status update to incidents (json://127.0.0.1:" in out and err == ""
    assert len(server.log) == 1 and "Checkout errors" in json.loads(server.log[0][0].get_data())["message"]
    assert main(["outbox", "--db", str(headless)]) == 0
    listing = capsys.readouterr().out
    assert "#1 INC-1 Incident status update" in listing and "delivered" in listing and TOKEN not in listing


def test_send_to_a_failing_channel_exits_4_keeps_it_and_retry_delivers(headless, server, capsys, monkeypatch):
    assert main(["send", "incident-update", "--incident", "INC-1", "--to", "broken", "--db", str(headless)]) == 4
    err = capsys.readouterr().err
    assert err.startswith("octotui: not posted to broken (json://127.0.0.1:1/***):") and "stays in the outbox" in err
    assert TOKEN not in err and len(err.splitlines()) == 1
    assert main(["outbox", "--db", str(headless)]) == 0
    assert "broken (json://127.0.0.1:1/***): failed (" in capsys.readouterr().out
    assert main(["outbox", "retry", "--db", str(headless)]) == 4  # still refused: tried again at once
    assert "not posted to broken" in capsys.readouterr().err


def test_send_with_missing_values_exits_3_and_sends_nothing(headless, server, capsys):
    assert main(["send", "incident-update", "--incident", "INC-2", "--db", str(headless)]) == 3
    err = capsys.readouterr().err
    assert "is missing: impact, current_actions" in err and "nothing was sent" in err
    assert len(server.log) == 0
    assert main(["outbox", "--db", str(headless)]) == 0
    assert "the outbox is empty" in capsys.readouterr().out


def test_dry_run_prints_text_and_masked_destinations(headless, server, capsys):
    assert main(["send", "incident-update", "--incident", "INC-1", "--dry-run", "--db", str(headless)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"to: incidents (json://127.0.0.1:{server.port}/***)\n\n[P1] INC-1 update")
    assert TOKEN not in out and len(server.log) == 0


def test_send_usage_problems_exit_2(headless, capsys):
    assert main(["send", "incident-update", "--incident", "INC-1", "--to", "pager", "--db", str(headless)]) == 2
    assert "unknown channel 'pager'" in capsys.readouterr().err
    assert main(["send", "incident-update", "--db", str(headless)]) == 2
    assert "needs --incident" in capsys.readouterr().err


def test_a_kill_during_a_send_delivers_once_more_at_most(headless, server, tmp_path, playbook):
    """A process killed while the server holds its request: the next start sends it once more, then never."""
    import threading

    from werkzeug import Response

    from octotui.services.outbox import DELIVERED, Outbox

    arrived, requests = threading.Event(), []

    def answer(request):
        requests.append(request.get_data())
        if len(requests) == 1:
            arrived.set()
            threading.Event().wait(5)  # the first request is held: its sender dies meanwhile
        return Response("ok")

    server.expect_request(f"/hook/{TOKEN}").respond_with_handler(answer)
    env = {**os.environ, "OCTOTUI_USER": "tester"}
    child = subprocess.Popen([str(OCTOTUI), "send", "incident-update", "--incident", "INC-1", "--db", str(headless)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert arrived.wait(30), "the send never reached the server"
    finally:
        child.kill()
        child.wait()
    workspace = Workspace(Store(headless), playbook, author="tester", settings=load_settings())
    outbox = Outbox(workspace)
    (message,) = outbox.messages()
    assert message.claim is not None and message.destinations["incidents"].state != DELIVERED
    assert [a.accepted for a in outbox.deliver_due()] == [True]  # its process is gone: picked up at once
    assert outbox.deliver_due() == []
    assert len(requests) == 2
    assert len([e for e in workspace.incident(1).timeline if "posted to incidents" in e.text]) == 1


def test_a_hostile_channel_name_or_route_is_shown_without_controls(tmp_path, capsys, monkeypatch):
    config = _config(tmp_path, '[channels]\n"bad\\u001b[31mname" = "json://a.example/x"\n')
    monkeypatch.setenv("OCTOTUI_CONFIG", str(config))
    assert main(["--db", str(tmp_path / "db.json")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "channels.bad␛[31mname: a channel name is letters" in err
    config = _config(tmp_path, '[channels]\na = "json://a.example/x"\n[routes]\n"x\\u0007y" = ["b"]\n')
    assert main(["--db", str(tmp_path / "db.json")]) == 2
    err = capsys.readouterr().err
    assert "\x07" not in err and "routes.x␇y: unknown channel 'b'" in err


def test_send_posts_a_release_announcement(headless, server, capsys, playbook):
    server.expect_request(f"/hook/{TOKEN}").respond_with_data("ok")
    workspace = Workspace(Store(headless), playbook, author="tester")
    workspace.create_release(version="2.4.0", title="Saved carts")
    workspace.store.close()
    assert main(["send", "release-announcement", "--release", "2.4.0", "--to", "incidents", "--allow-missing",
                 "--db", str(headless)]) == 0
    assert "posted #1 Release announcement to incidents" in capsys.readouterr().out
    assert "2.4.0" in json.loads(server.log[0][0].get_data())["message"]
