"""Helpers for driving `octotui serve` in Chromium: the tests (test_web.py) and the screenshots use them."""

from __future__ import annotations

import hashlib
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "test-token-" + "x" * 20
HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
HOSTILE_UPDATE = "<script>alert(2)</script> **calm** <svg onload=alert(3)>"
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)")
DEADLINE = 120.0  # seconds before a wait fails (eight octotuis starting on a loaded 2-core machine take a while)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sessions_of(db: Path) -> list[int]:
    """The octotui processes running on this database (each tab's session names it on its command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--read-only" in cmdline and str(db).encode() in cmdline:
                found.append(int(entry.name))
    return found


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Served:
    def __init__(self, db: Path, *flags: str) -> None:
        self.db = db
        self.port = free_port()
        env = {**os.environ, "OCTOTUI_SERVE_TOKEN": TOKEN}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "octotui", "--db", str(db), "serve", "--port", str(self.port), *flags],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True, start_new_session=True)
        self.url = self._read_url()
        self.base = f"http://127.0.0.1:{self.port}"

    def _read_url(self) -> str:
        end = time.monotonic() + DEADLINE
        assert self.process.stdout is not None
        while time.monotonic() < end:
            ready, _, _ = select.select([self.process.stdout], [], [], end - time.monotonic())
            line = self.process.stdout.readline() if ready else ""
            match = re.search(r"open (http://\S+)", line)
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                break
        raise AssertionError(f"the server did not start: {self.process.stderr.read() if self.process.stderr else ''}")

    def stop(self, *, whole_group: bool = False) -> int:
        """Ctrl+C: to the server alone (it has to end every session itself), or as a terminal sends it, to
        the whole process group (the sessions get it too)."""
        if self.process.poll() is None:
            if whole_group:
                os.killpg(self.process.pid, signal.SIGINT)
            else:
                self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=DEADLINE)



class Screen:
    """What the page's terminal has been sent, as text."""

    def __init__(self, page) -> None:
        self.page = page
        self.text = ""
        page.on("websocket", self._watch)

    def _watch(self, websocket) -> None:
        websocket.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        data = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        if data.startswith("["):  # a JSON envelope (pong, open_url…), not terminal output
            return
        self.text += ANSI.sub("", data)

    def wait_for(self, words: str) -> None:
        end = time.monotonic() + DEADLINE
        while words not in self.text:
            assert time.monotonic() < end, f"{words!r} never appeared; the page got: {self.text[-2000:]!r}"
            self.page.wait_for_timeout(100)  # lets Playwright deliver the next frames (a poll, not a timing)

    def press(self, key: str, then: str) -> None:
        self.text = ""
        self.page.keyboard.press(key)
        self.wait_for(then)


def launch(playwright):
    """Debian's Chromium, headless (no browser download); no sandbox when run as root (CI)."""
    return playwright.chromium.launch(executable_path=CHROMIUM,
                                      args=["--no-sandbox"] if os.geteuid() == 0 else [])
