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


class ConfigProblem(Exception):
    """A mistake in a file the person chose (settings, guide, templates): one line on stderr, exit 2."""
