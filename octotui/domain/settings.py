"""Settings from an optional TOML file: cadence, clipboard mode, template overrides."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import platformdirs

from octotui.domain.models import Severity

CLIPBOARD_MODES = ("auto", "native", "osc52", "file")
DEFAULT_CADENCE_MINUTES = {Severity.P0: 15, Severity.P1: 30, Severity.P2: 60, Severity.P3: 0}


class SettingsError(ValueError):
    pass


@dataclass
class Settings:
    cadence_minutes: dict[Severity, int] = field(default_factory=lambda: dict(DEFAULT_CADENCE_MINUTES))
    clipboard: str = "auto"
    templates_dir: Path | None = None

    def update_interval(self, severity: Severity) -> timedelta | None:
        minutes = self.cadence_minutes.get(severity, 0)
        return timedelta(minutes=minutes) if minutes > 0 else None


def default_config_path() -> Path:
    return Path(os.environ.get("OCTOTUI_CONFIG") or Path(platformdirs.user_config_dir("octotui")) / "config.toml")


def load_settings(path: Path | None = None) -> Settings:
    """Read `config.toml` if it exists:

        clipboard = "auto"            # auto | native | osc52 | file
        templates = "~/octoacme/templates"
        [cadence]                     # minutes between status updates; 0 = none
        P0 = 15
    """
    path = path or default_config_path()
    settings = Settings()
    if not path.is_file():
        return settings
    import tomllib  # only when there is a file: it is a noticeable part of start-up otherwise

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"{path}: {error}") from None
    for name, minutes in dict(raw.get("cadence", {})).items():
        if name not in Severity.__members__ or not isinstance(minutes, int) or minutes < 0:
            raise SettingsError(f"{path}: [cadence] {name} = {minutes!r}: expected P0..P3 = whole minutes >= 0")
        settings.cadence_minutes[Severity(name)] = minutes
    if "clipboard" in raw:
        if raw["clipboard"] not in CLIPBOARD_MODES:
            raise SettingsError(f"{path}: clipboard = {raw['clipboard']!r}: expected one of {', '.join(CLIPBOARD_MODES)}")
        settings.clipboard = raw["clipboard"]
    if "templates" in raw:
        settings.templates_dir = Path(str(raw["templates"])).expanduser()
    return settings
