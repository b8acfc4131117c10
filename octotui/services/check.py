"""The check of every stored record after start-up, run apart from the UI when the data is a file.

A child process opens the file read-only, validates every record and says what it found: the first damaged
record, and the releases whose stored board row says something else under the session's sign-off rules.
The UI process never parses the whole file: what it parsed would stay behind as heap pinned by whatever the
UI allocated meanwhile (measured: +27 MiB of 50k records' file, kept for the session), and the check runs on
another core instead of holding the UI's interpreter lock for seconds on a large file.
`python -m octotui.services.check_child PATH` with the rules as JSON on stdin; one JSON line on stdout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from pydantic import BaseModel, ValidationError

from octotui.domain.settings import SignOffRules

# A small file is checked in the UI process: starting a child costs more than the check (and the heap left
# behind is a few pages). The team-scale demo is well under it; a year of a busy team's releases is not.
APART_FROM_BYTES = 256 * 1024
TIMEOUT_SECONDS = 600.0


class CheckReport(BaseModel):
    """What a check found: the first damaged record (as StoreCorrupt words it), else the releases whose
    stored row is stale."""

    problem: str | None = None
    stale: frozenset[int] = frozenset()


def worth_a_child(path: Path) -> bool:
    try:
        return os.stat(path).st_size >= APART_FROM_BYTES
    except OSError:
        return False


class ChildCheck:
    """One check by a child process. `run()` waits for its report (None when it could not say: no
    interpreter, killed, timed out, an answer of another shape, the file unreadable to it; the caller then
    checks itself); `stop()`, from any thread, ends it (the app quitting does not wait for it)."""

    def __init__(self, path: Path, rules: SignOffRules) -> None:
        self.path, self.rules = path, rules
        self._process: subprocess.Popen[str] | None = None
        self._stopped = False
        self._lock = threading.Lock()

    def run(self) -> CheckReport | None:
        with self._lock:
            if self._stopped:
                return None
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "octotui.services.check_child", str(self.path)], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            except OSError:
                return None
        try:
            out, _ = self._process.communicate(self.rules.model_dump_json(), timeout=TIMEOUT_SECONDS)
        except (OSError, subprocess.SubprocessError):
            self.stop()
            return None
        if self._process.returncode != 0 or not out.strip():
            return None
        try:
            return CheckReport.model_validate_json(out.strip().splitlines()[-1])
        except ValidationError:
            return None

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._process is not None and self._process.poll() is None:
                self._process.kill()
                self._process.wait()
