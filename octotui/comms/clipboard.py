"""The system clipboard, honestly: a copy counts only when reading it back gives the same text.

pyperclip runs in a child process so a backend can neither print onto the TUI (xclip writes its
errors straight to the terminal) nor hang it (a timeout ends it), and so its claimed success is
checked with a paste.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from octotui.comms.exports import write_private

_CHILD = """
import sys
import pyperclip
text = sys.stdin.buffer.read().decode("utf-8")
try:
    pyperclip.copy(text)
    ok = pyperclip.paste() == text
except Exception as error:
    sys.stderr.write(f"{type(error).__name__}: {error}")
    sys.exit(3)
sys.exit(0 if ok else 4)
"""
TIMEOUT_SECONDS = 3.0


@dataclass
class CopyOutcome:
    native: bool
    osc52: bool
    file: Path | None
    detail: str = ""

    @property
    def reached(self) -> bool:
        return self.native or self.osc52 or self.file is not None

    def message(self) -> str:
        """Where the text went, claiming only what happened: the system clipboard is read back, a file is
        written, an OSC 52 escape is only ever emitted (no terminal answers whether it took it)."""
        parts = ["copied to system clipboard"] if self.native else []
        if self.file is not None:
            parts.append(f"written to {self.file}")
        if self.osc52:
            parts.append("emitted to the terminal (OSC 52, not confirmable)")
        if not parts:
            return "Not copied anywhere" + (f": {self.detail}" if self.detail else "")
        text = "; ".join(parts)
        text = text[0].upper() + text[1:]
        return text + (f" — {self.detail}" if self.detail else "")


def osc52_blocked() -> str:
    """Why an OSC 52 escape would go nowhere, when the app can tell: inside tmux with `set-clipboard off`
    tmux swallows it. "" when it may arrive."""
    if not os.environ.get("TMUX"):
        return ""
    try:
        result = subprocess.run(["tmux", "show-options", "-gv", "set-clipboard"], capture_output=True,
                                timeout=1.0, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return "tmux set-clipboard is off" if result.stdout.decode("utf-8", "replace").strip() == "off" else ""


def system_clipboard_reachable() -> bool:
    """On Linux a clipboard needs a display; without one there is nothing to try."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def copy_native(text: str, command: list[str] | None = None, timeout: float = TIMEOUT_SECONDS) -> tuple[bool, str]:
    """Copy with pyperclip in a child; (confirmed, reason if not)."""
    if command is None and not system_clipboard_reachable():
        return False, "no display"
    try:
        result = subprocess.run(command or [sys.executable, "-c", _CHILD], input=text.encode("utf-8"),
                                capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False, f"backend did not answer in {timeout:.0f} s"
    except OSError as error:
        return False, error.strerror or str(error)
    if result.returncode == 0:
        return True, ""
    reason = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return False, (reason[-1][:120] if reason else "copy could not be confirmed")


def copy_text(text: str, mode: str, fallback_file: Path | None, send_osc52: Callable[[str], object] | None = None, command: list[str] | None = None,
              timeout: float = TIMEOUT_SECONDS) -> CopyOutcome:
    """The copy chain: OSC 52 (unconfirmable; not where tmux swallows it), the system clipboard, else a file.
    Never raises for a place it could not reach: the outcome says why in `detail`."""
    reasons = []
    osc52 = False
    if mode in ("auto", "osc52") and send_osc52 is not None:
        blocked = osc52_blocked()
        if blocked:
            reasons.append(f"OSC 52 not sent: {blocked}")
        else:
            osc52 = bool(send_osc52(text))  # True only where an escape could actually be written
    native = False
    if mode in ("auto", "native"):
        native, detail = copy_native(text, command, timeout)
        if detail and not native:
            reasons.insert(0, f"system clipboard: {detail}")
    file = None
    if not native and fallback_file is None:
        reasons.append("no clipboard file is written in read-only mode")
    elif not native and fallback_file is not None:
        try:
            write_private(fallback_file, text)
            file = fallback_file
        except OSError as error:
            reasons.append(f"cannot write the clipboard file {fallback_file} ({error.strerror or error})")
    if mode in ("osc52", "file") and (osc52 or file is not None):
        reasons = []
    return CopyOutcome(native=native, osc52=osc52, file=file, detail="; ".join(reasons))
