"""The log a person can attach to a report: standard `logging` to a rotating, private file.

Where: `--log-file PATH`, else `$OCTOTUI_LOG_FILE`, else the platform's user log folder
(`~/.local/state/octotui/log/octotui.log` on Linux). Level: `--log-level`, else `$OCTOTUI_LOG_LEVEL`, else INFO.
At INFO the log holds ids, names of commands, durations and outcomes, never what a person typed; every
record passes a filter that masks anything shaped like a password or token, whatever logged it.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
from pathlib import Path

import platformdirs

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_BYTES = 1_000_000
BACKUPS = 3

log = logging.getLogger("octotui")

# user:password@ in any URL, and key=value pairs whose key says secret (query strings, DSNs, headers).
_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/@\s:]*:)[^@\s]*@")
_SECRET_PARAM = re.compile(r"(?i)\b([a-z_]*(?:password|passwd|pwd|token|secret|apikey|api_key)[a-z_]*=)[^&\s'\"]+")


def mask_secrets(text: str) -> str:
    return _SECRET_PARAM.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


class _MaskSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """Each log file, the first and every rotated one, is created 0600 and never opened through a link."""

    def _open(self):  # type: ignore[no-untyped-def,unused-ignore]  # as the standard library declares it
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK,
                     0o600)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


def default_log_path() -> Path:
    return Path(platformdirs.user_log_dir("octotui")) / "octotui.log"


def chosen_log_path(flag: Path | None) -> Path:
    return flag or Path(os.environ.get("OCTOTUI_LOG_FILE") or default_log_path()).expanduser()


def chosen_level(flag: str | None) -> str | None:
    """The level asked for; None when `$OCTOTUI_LOG_LEVEL` names no level (the caller says so)."""
    level = (flag or os.environ.get("OCTOTUI_LOG_LEVEL") or "INFO").upper()
    return level if level in LEVELS else None


def configure(path: Path, level: str) -> Path:
    """Start logging to PATH; raises OSError when the file cannot be opened (the caller decides what that means)."""
    from octotui.storage.fs import make_private_dir

    make_private_dir(path.parent)  # every folder it creates 0700, not only the last
    handler = _PrivateRotatingFile(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_MaskSecrets())
    for existing in list(log.handlers):
        log.removeHandler(existing)
        existing.close()
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    return path


def current_log_file() -> Path | None:
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None


def unexpected_line(error: BaseException) -> str:
    """One line for a failure nobody foresaw (screen, stderr); its traceback goes to the log."""
    from octotui.domain.text import one_line

    log.error("unexpected error", exc_info=error)
    where = current_log_file()
    return (f"Something went wrong ({type(error).__name__}: {one_line(str(error))[:120]})"
            + (f"; details in {where}" if where else ""))
