"""What start-up needs of the configuration before any model is imported: where octotui's files are, the
clipboard modes, and the one kind of error a person's own file (settings, guide, templates) raises.
No pydantic here: a quick start reads this before its first paint."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs


def default_config_path() -> Path:
    return Path(os.environ.get("OCTOTUI_CONFIG") or Path(platformdirs.user_config_dir("octotui")) / "config.toml")


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir("octotui")) / "octotui.json"



def package_root() -> Path:
    return Path(str(resources.files("octotui")))


def data_path(*parts: str) -> Path:
    """`data/` ships inside the wheel as `octotui/data`; a checkout has it at the top level."""
    bundled = package_root() / "data"
    base = bundled if bundled.is_dir() else package_root().parent / "data"
    return base.joinpath(*parts)


def styles_path(*parts: str) -> Path:
    bundled = package_root() / "styles"
    base = bundled if bundled.is_dir() else package_root().parent / "styles"
    return base.joinpath(*parts)


CLIPBOARD_MODES = ("auto", "native", "osc52", "file")

# The settings by name (domain.settings.Settings, kept equal by a test; `db` only in the file, $OCTOTUI_DB is
# the CLI's). OCTOTUI_<NAME> and OCTOTUI_<NAME>__<KEY> are settings; OCTOTUI_CHANNEL_<NAME> adds a channel.
SETTING_NAMES = ("clipboard", "templates", "timezone", "cadence", "signoff", "channels", "routes", "delivery", "bell")


def settings_in_environment() -> bool:
    """Whether a variable sets a setting or a channel: then the settings are checked before any screen (no
    quick start), so that a bad value stays one line on stderr. OCTOTUI_DB, _USER, _CONFIG, _LOG_FILE,
    _LOG_LEVEL and _SERVE_TOKEN are not settings."""
    for name, value in os.environ.items():
        upper = name.upper()
        if value and upper.startswith("OCTOTUI_") and (
                upper.startswith("OCTOTUI_CHANNEL_") or upper[8:].split("__", 1)[0].lower() in SETTING_NAMES):
            return True
    return False


class ConfigProblem(Exception):
    """A mistake in a file the person chose (settings, guide, templates): one line on stderr, exit 2."""
