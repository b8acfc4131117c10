"""End to end in a real terminal: the installed `octotui` in tmux, driven with send-keys.

tmux runs on a private socket (`tmux -L`), with `set-clipboard on` so OSC 52 copies land in its buffer.
These tests wait for text to appear on the screen (a real terminal has no pilot); nothing asserts on time.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from octotui.storage.file_store import read_tables

OCTOTUI = Path(sys.executable).with_name("octotui")
pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed here (CI installs it)"),
    pytest.mark.skipif(not OCTOTUI.exists(), reason=f"the octotui script is not installed beside {sys.executable}"),
]


class Terminal:
    def __init__(self, tmp_path: Path) -> None:
        self.socket = f"octotui-e2e-{uuid.uuid4().hex[:8]}"
        self.db = tmp_path / "octotui.json"
        config = tmp_path / "tmux.conf"
        # remain-on-exit: if the app ever dies, the pane keeps what it printed for the failure message
        config.write_text("set -g set-clipboard on\nset -g default-terminal xterm-256color\nset -g default-size 120x36\n"
                          "set -g remain-on-exit on\n")
        # No separate start-server: a server with no session exits at once, and a new-session racing that
        # exit fails now and then on a busy machine ("server exited unexpectedly").
        self.tmux("-f", str(config), "new-session", "-d", "-s", "boot", "-x", "120", "-y", "36", "sleep 600", check=True)

    def tmux(self, *args: str, check: bool = False) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {args[0] if args else ''} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self, name: str) -> None:
        command = (f"env OCTOTUI_DB={self.db} OCTOTUI_USER=e2e OCTOTUI_CONFIG=/nonexistent TERM=xterm-256color "
                   f"{OCTOTUI}")
        self.tmux("new-window", "-t", "boot", "-n", name, command, check=True)
        self.window = f"boot:{name}"

    def keys(self, *keys: str, literal: bool = False) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", self.window, *(["-l", key] if literal else [key]))
            time.sleep(0.15)  # let the app take each key in turn, as a person would type

    def type(self, text: str) -> None:
        self.keys(text, literal=True)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.window)

    def wait_for(self, pattern: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if re.search(pattern, text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} never appeared; the screen was:\n{self.screen()}")

    def buffer(self) -> str:
        return self.tmux("show-buffer")

    def pid(self) -> int:
        return int(self.tmux("list-panes", "-t", self.window, "-F", "#{pane_pid}").split()[0])

    def close(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(tmp_path)
    yield term
    term.close()


def test_release_captain_walk(terminal):
    terminal.start("captain")
    terminal.wait_for("Load demo data", timeout=60)  # a first start on a busy CI machine
    terminal.keys("n")  # start empty
    terminal.wait_for("No releases yet")
    terminal.keys("n")
    terminal.wait_for("New release")
    terminal.type("Saved carts [bold]beta[/]")  # focus starts on the title: the version is suggested
    terminal.keys("BTab", "C-u")
    terminal.type("1.4.0")  # a minor step: no sign-off needed by default
    terminal.keys("C-s")
    terminal.wait_for(r"REL-1 +1\.4\.0 .*Saved carts \[bold\]beta\[/\]")
    terminal.keys("Enter")
    terminal.wait_for("Pre-release requirements  0/6")
    terminal.keys("Space", "j", "Space", "j", "Space")
    terminal.wait_for("release notes are still empty")  # “Release notes drafted” with no notes asks first
    terminal.keys("y")
    terminal.wait_for("Pre-release requirements  3/6")
    terminal.keys("j", "Space", "j")
    terminal.keys("x")
    terminal.wait_for("Reason")
    terminal.type("Smoke suite unchanged since 0.9")
    terminal.keys("Enter")
    terminal.wait_for("Pre-release requirements  5/6")
    terminal.keys("j", "Space")
    terminal.wait_for("Record a decision now")
    terminal.keys("y")
    terminal.wait_for("Record a decision")
    terminal.keys("Tab")  # focus starts on Context (the title is prefilled); Tab to Decision
    terminal.type("Ship saved carts behind a flag")
    terminal.keys("C-s")
    terminal.wait_for("DEC-1")
    for _ in range(7):
        terminal.keys("j", "Space")
    terminal.wait_for("Record a decision now")
    terminal.keys("n")  # skipping is allowed, and shown
    terminal.wait_for(r"REL-1 1\.4\.0 Saved carts \[bold\]beta\[/\] +Verified")
    terminal.keys("5")
    terminal.wait_for("Release announcement")
    terminal.keys("Down")  # Release announcement, Release notes, Rollback notice
    terminal.wait_for(r"# Release notes — 1\.4\.0")
    terminal.keys("y")
    terminal.wait_for("Release notes: missing summary")  # asked, not copied with gaps
    terminal.keys("End", "Enter")  # copy anyway
    terminal.wait_for("Release notes: Written to")  # the toast comes once the copy chain has run
    assert "Release name / number: 1.4.0 — Saved carts [bold]beta[/]" in terminal.buffer()
    terminal.keys("q")
    time.sleep(0.5)
    terminal.start("again")
    terminal.wait_for("For: REL-1")  # back on the screen it was left on
    terminal.keys("1")
    text = terminal.wait_for("Verified")
    assert "Saved carts [bold]beta[/]" in text and "13/13" in text
    data = read_tables(terminal.db)
    assert data["decisions"]["1"]["decision"] == "Ship saved carts behind a flag"


def test_on_call_walk_survives_sigkill(terminal):
    terminal.start("oncall")
    terminal.wait_for("Load demo data")
    terminal.keys("n")
    terminal.wait_for("No releases yet")
    terminal.keys("i")
    terminal.wait_for("Start an incident")
    terminal.type("Checkout returns 500")
    terminal.keys("Up", "Enter")  # i, the title, one key for P0, Enter
    started = time.time()
    terminal.wait_for(r"INC-1 P0 ")
    terminal.keys("t")
    terminal.type("Paged the payments team")
    terminal.keys("Enter")
    terminal.keys("t")
    terminal.type("Error rate 3%")
    terminal.keys("Enter")
    for status in ("Identified", "Mitigated", "Monitoring"):
        terminal.keys("s", "Enter")
        terminal.wait_for(f"→ {status}")
    terminal.keys("u")  # the status-update form: the first text an incident sends is its initial notification
    terminal.wait_for("Status update — INC-1")
    terminal.type("Card checkouts fail for 3% of EU customers")
    terminal.keys("Enter")
    terminal.type("Rolling back 2.4.0")
    terminal.keys("Enter")
    terminal.wait_for("Incident initial notification:")
    assert "[P0] INC-1: Checkout returns 500 — Monitoring" in terminal.buffer()
    os.kill(terminal.pid(), signal.SIGKILL)
    terminal.start("restart")
    text = terminal.wait_for(r"INC-1 P0 \d\d:\d\d:\d\d Monitoring")
    shown = re.search(r"INC-1 P0 (\d\d):(\d\d):(\d\d)", text).groups()
    shown_seconds = int(shown[0]) * 3600 + int(shown[1]) * 60 + int(shown[2])
    assert time.time() - started - 3 <= shown_seconds <= time.time() - started + 3, "the clock shows the true elapsed time"
    terminal.keys("3")
    text = terminal.wait_for("Error rate 3%")
    assert "Paged the payments team" in text and "Incident initial notification sent" in text
    assert "Impact: Card checkouts fail" in text


def test_on_call_rolls_back_a_release_for_a_new_p0_in_few_keys(terminal):
    """From launch on the demo data: start a P0, acknowledge, roll back REL-2 2.4.0 for it — the rollback
    part is R, Enter, the reason, Enter, and the checklist opens on the rollback's first item."""
    terminal.start("rollback")
    terminal.wait_for("Load demo data", timeout=60)
    terminal.keys("y")
    terminal.wait_for("Saved carts")
    terminal.keys("i")
    terminal.wait_for("Start an incident")
    terminal.type("Payments API times out")
    terminal.keys("Up", "Enter")
    terminal.wait_for(r"INC-10 P0 ")  # after the demo's INC-1 and its history's INC-2..9
    terminal.keys("a")
    terminal.wait_for("Acknowledged by")
    terminal.keys("R")
    terminal.wait_for("Roll back which release for INC-10")
    terminal.keys("Enter")
    terminal.wait_for("Last known-good: 2.3.0")
    terminal.type("Card payments time out since 2.4.0")
    terminal.keys("Enter")
    text = terminal.wait_for("Next in Rollback Checklist: Identify last known-good release version")
    assert "Rollback Checklist  0/7" in text
    terminal.keys("Space")
    terminal.wait_for("Rollback Checklist  1/7")
    data = read_tables(terminal.db)
    assert data["incidents"]["10"]["release_ids"] == [2] and 10 in data["releases"]["2"]["incident_ids"]
    assert data["releases"]["2"]["run_incidents"] == {"rollback": 10}
    timeline = [doc.get("text", "") for doc in data["events"].values() if doc.get("owner") == "INC-1"]
    assert not any("Card payments time out" in text or "Rollback Checklist" in text for text in timeline)


def test_a_check_on_the_row_the_checklist_opened_on_repaints_at_once(terminal):
    """The row under the cursor when the checklist opens had its cell renderables cached; a check must show."""
    terminal.start("repaint")
    terminal.wait_for("Load demo data", timeout=60)
    terminal.keys("y")
    terminal.wait_for(r"REL-6 +3\.0\.0")
    terminal.keys("Enter")  # REL-6, first row: opens on its first open item
    terminal.wait_for("Pre-release requirements  0/6")
    terminal.keys("Space")
    text = terminal.wait_for(r"\[x\]  All acceptance criteria met and PRs merged")
    assert "Pre-release requirements  1/6" in text


def test_with_set_clipboard_off_and_no_fallback_file_nothing_is_recorded_as_sent(terminal):
    """Issue 28's walk: tmux swallows OSC 52 (`set-clipboard off`), there is no display, and the fallback
    file cannot be written. `y` says the update was NOT sent and why, and records nothing."""
    terminal.tmux("set-option", "-g", "set-clipboard", "off", check=True)
    terminal.db.with_name("octotui-clipboard.md").mkdir()  # where the fallback file would go: not writable
    terminal.start("clipboard-off")
    terminal.wait_for("Load demo data", timeout=60)
    terminal.keys("y")
    terminal.wait_for("Saved carts")
    terminal.keys("3")
    terminal.wait_for("UPDATE OVERDUE|Next update")
    before = read_tables(terminal.db)

    def updates(data):
        return [doc for doc in data["events"].values() if doc.get("owner") == "INC-1" and doc.get("kind") == "update"]

    terminal.keys("y")
    text = terminal.wait_for("NOT sent")
    assert "set-clipboard" in text and "Nothing recorded" in " ".join(text.split())
    assert "Sent to terminal clipboard" not in text
    after = read_tables(terminal.db)
    assert len(updates(after)) == len(updates(before)), "nothing reached anyone: no update recorded"
    assert after["incidents"]["1"]["last_update_at"] == before["incidents"]["1"]["last_update_at"]
    assert terminal.buffer() == "", "tmux's buffer stayed empty, as the app said"
