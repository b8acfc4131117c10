"""The system clipboard, honestly: a copy counts only when reading it back gives the same text.

pyperclip runs in a child process so a backend can neither print onto the TUI (xclip writes its
errors straight to the terminal) nor hang it (a timeout ends it), and so its claimed success is
checked with a paste.
"""

from __future__ import annotations

import os
import subprocess
import sys
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

    def message(self) -> str:
        if self.native:
            return "Copied to clipboard" + (" (and sent via OSC 52)" if self.osc52 else "")
        parts = []
        if self.osc52:
            parts.append("Sent to terminal clipboard (OSC 52)")
        if self.file is not None:
            parts.append(f"saved to {self.file}" if parts else f"Saved to {self.file}")
        text = "; also ".join(parts) if len(parts) == 2 else (parts[0] if parts else "Not copied")
        return text + (f" — system clipboard: {self.detail}" if self.detail else "")


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


def copy_text(text: str, mode: str, fallback_file: Path, send_osc52=None, command: list[str] | None = None,
              timeout: float = TIMEOUT_SECONDS) -> CopyOutcome:
    """The copy chain: OSC 52 (unconfirmable), the system clipboard, else a file."""
    osc52 = False
    if mode in ("auto", "osc52") and send_osc52 is not None:
        osc52 = bool(send_osc52(text))  # True only where an escape could actually be written
    native, detail = False, ""
    if mode in ("auto", "native"):
        native, detail = copy_native(text, command, timeout)
    file = None
    if not native:
        write_private(fallback_file, text)
        file = fallback_file
    if mode in ("osc52", "file"):
        detail = ""
    return CopyOutcome(native=native, osc52=osc52, file=file, detail=detail)
