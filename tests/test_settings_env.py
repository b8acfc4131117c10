"""Settings from the environment (pydantic-settings): OCTOTUI_<SETTING>, nested with `__`, winning over
config.toml; a bad value is one line naming its variable, exit 2; the OCTOTUI_* variables that mean something
else are never taken as settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from octotui.cli_common import resolve_db_location
from octotui.domain.settings import SettingsError, load_settings


def _config(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    config.chmod(0o600)
    return config


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "octotui", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_the_environment_wins_over_the_file(tmp_path, monkeypatch):
    config = _config(tmp_path, 'timezone = "UTC"\nclipboard = "osc52"\n[cadence]\nP1 = 20\nP2 = 45\n')
    monkeypatch.setenv("OCTOTUI_CADENCE__P1", "10")
    monkeypatch.setenv("OCTOTUI_TIMEZONE", "Europe/Berlin")
    settings = load_settings(config)
    assert settings.cadence.P1 == 10 and settings.timezone == "Europe/Berlin"
    assert settings.cadence.P2 == 45 and settings.clipboard == "osc52"  # the file's own values stay
    assert settings.cadence.P0 == 15  # and the defaults for what neither sets


def test_nested_values_and_every_kind_of_setting(tmp_path, monkeypatch):
    config = _config(tmp_path, '[signoff]\nsigners = ["kim"]\nminor = 1\n')
    monkeypatch.setenv("OCTOTUI_SIGNOFF__SIGNERS", '["lee","ana"]')
    monkeypatch.setenv("OCTOTUI_SIGNOFF__MAJOR", "2")
    monkeypatch.setenv("OCTOTUI_SIGNOFF__SELF_ACCEPT_OVERRIDE", "true")
    monkeypatch.setenv("OCTOTUI_DELIVERY__TIMEOUT", "5")
    monkeypatch.setenv("OCTOTUI_TEMPLATES", str(tmp_path / "templates"))
    monkeypatch.setenv("OCTOTUI_BELL", "false")
    monkeypatch.setenv("OCTOTUI_CADENCE", '{"P3": 120}')  # a whole table as JSON
    settings = load_settings(config)
    assert settings.signoff.signers == ["lee", "ana"] and settings.signoff.major == 2
    assert settings.signoff.minor == 1 and settings.signoff.self_accept_override is True
    assert settings.delivery.timeout == 5.0 and settings.templates_dir == tmp_path / "templates"
    assert settings.bell is False and settings.cadence.P3 == 120
    # Without a file too.
    assert load_settings(tmp_path / "none.toml").signoff.signers == ["lee", "ana"]


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("OCTOTUI_CADENCE__P1", "x", "OCTOTUI_CADENCE__P1: must be whole minutes from 0 to 1440 (got 'x')"),
    ("OCTOTUI_CADENCE__P1", "5000", "OCTOTUI_CADENCE__P1: must be whole minutes from 0 to 1440 (got 5000)"),
    ("OCTOTUI_TIMEZONE", "Mars/Base", "OCTOTUI_TIMEZONE: Value error, unknown time zone 'Mars/Base'"),
    ("OCTOTUI_SIGNOFF__SIGNERS", "[lee", "OCTOTUI_SIGNOFF__SIGNERS: not valid JSON"),
    ("OCTOTUI_CADENCE__P9", "3", "OCTOTUI_CADENCE__P9: unknown setting"),
    ("OCTOTUI_CLIPBOARD", "pigeon", "OCTOTUI_CLIPBOARD: Input should be 'auto', 'native', 'osc52' or 'file'"),
])
def test_a_bad_value_from_the_environment_is_one_line_naming_it_and_exit_2(tmp_path, variable, value, expected):
    result = _run("--db", str(tmp_path / "db.json"), "export", "decisions",
                  env={variable: value, "OCTOTUI_CONFIG": str(tmp_path / "none.toml")})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"octotui: {expected}"), result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_bad_file_value_is_still_named_by_file_and_key(tmp_path, monkeypatch):
    config = _config(tmp_path, '[cadence]\nP1 = "ten"\n')
    monkeypatch.setenv("OCTOTUI_CADENCE__P2", "10")
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    assert str(error.value) == f"{config}:cadence.P1: must be whole minutes from 0 to 1440 (got 'ten')"
    assert load_settings(_config(tmp_path, "[cadence]\nP1 = 20\n")).cadence.P2 == 10  # once fixed, the variable counts


UNRELATED = {
    "OCTOTUI_USER": "lee",
    "OCTOTUI_LOG_LEVEL": "debug",
    "OCTOTUI_SERVE_TOKEN": "s3cret-token",
    "OCTOTUI_CHANNEL_PAGER": "json://hooks.example/x",
}


def test_the_other_octotui_variables_are_not_settings(tmp_path, monkeypatch):
    config = _config(tmp_path, f'db = "{tmp_path / "from-file.json"}"\n')
    for name, value in UNRELATED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OCTOTUI_CONFIG", str(config))
    monkeypatch.setenv("OCTOTUI_LOG_FILE", str(tmp_path / "octotui.log"))
    monkeypatch.setenv("OCTOTUI_DB", str(tmp_path / "from-env.json"))
    monkeypatch.setenv("OCTOTUI_CADENCE__P1", "10")  # beside them, a setting is read
    settings = load_settings(config)
    assert settings.cadence.P1 == 10
    assert settings.db == str(tmp_path / "from-file.json")  # `db` comes from the file only…
    assert resolve_db_location(None, settings.db) == str(tmp_path / "from-env.json")  # …and $OCTOTUI_DB still wins
    assert settings.posting.channels == {"pager": ["json://hooks.example/x"]}  # OCTOTUI_CHANNEL_<NAME> as before


def test_the_other_variables_do_not_break_a_start(tmp_path):
    db = tmp_path / "db.json"
    config = _config(tmp_path, "")
    assert _run("--db", str(db), "demo", env={"OCTOTUI_CONFIG": str(config)}).returncode == 0
    env = {**UNRELATED, "OCTOTUI_CONFIG": str(config), "OCTOTUI_LOG_FILE": str(tmp_path / "octotui.log"),
           "OCTOTUI_DB": str(db), "OCTOTUI_CADENCE__P1": "10", "OCTOTUI_SIGNOFF__SIGNERS": '["lee","ana"]'}
    result = _run("export", "decisions", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout.strip()
    bad = _run("export", "decisions", env={**env, "OCTOTUI_SIGNOFF__MAJOR": "many"})
    assert bad.returncode == 2 and bad.stderr.startswith("octotui: OCTOTUI_SIGNOFF__MAJOR: "), bad.stderr


def test_channels_and_routes_from_settings_variables(tmp_path, monkeypatch):
    config = _config(tmp_path, '[channels]\nincidents = "json://a.example/x"\n')
    config.chmod(0o644)
    monkeypatch.setenv("OCTOTUI_CHANNELS__PAGER", "json://hooks.example/x")
    monkeypatch.setenv("OCTOTUI_ROUTES", '{"incident-*": ["incidents", "pager"]}')
    settings = load_settings(config)
    assert settings.posting.channels == {"incidents": ["json://a.example/x"], "pager": ["json://hooks.example/x"]}
    assert settings.posting.route("incident-update") == ["incidents", "pager"]
    monkeypatch.setenv("OCTOTUI_CHANNELS__PAGER", "bogus://x")
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    assert str(error.value).startswith("OCTOTUI_CHANNELS__PAGER: ")


def test_the_quick_start_knows_the_settings_names():
    from octotui.domain.config import SETTING_NAMES
    from octotui.domain.settings import NOT_SETTINGS, Settings

    names = {field.alias or name for name, field in Settings.model_fields.items() if name not in NOT_SETTINGS}
    assert set(SETTING_NAMES) == names


@pytest.mark.parametrize(("variable", "value", "quick"), [
    ("OCTOTUI_TIMEZONE", "Europe/Berlin", False),
    ("octotui_cadence__p1", "x", False),
    ("OCTOTUI_CHANNEL_PAGER", "json://hooks.example/x", False),
    ("OCTOTUI_TIMEZONE", "", True),  # empty: unset
    ("OCTOTUI_LOG_LEVEL", "debug", True),
    ("OCTOTUI_SERVE_TOKEN", "s3cret-token-s3cret", True),
    ("OCTOTUI_DB", "/tmp/x.json", True),
])
def test_a_setting_from_the_environment_is_checked_before_any_screen(monkeypatch, variable, value, quick):
    """No quick start (which paints before the settings are read) when a variable sets a setting: a bad one
    stays one line on stderr, and the first screen already shows what it sets."""
    from octotui.domain.config import settings_in_environment

    for name in list(os.environ):
        if name.upper().startswith(("OCTOTUI_CHANNEL", "OCTOTUI_CADENCE", "OCTOTUI_TIMEZONE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv(variable, value)
    assert settings_in_environment() is not quick
