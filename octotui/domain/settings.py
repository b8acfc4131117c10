"""Settings from an optional TOML file, validated by a pydantic model: cadence, clipboard, templates."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from octotui.domain.config import CLIPBOARD_MODES, ConfigProblem, default_config_path
from octotui.domain.models import Severity

Minutes = Annotated[StrictInt, Field(ge=0, le=1440)]  # a day at most; booleans are not numbers


class SettingsError(ConfigProblem, ValueError):
    pass


class Cadence(BaseModel):
    """Minutes between incident status updates, by severity; 0 = none."""

    model_config = ConfigDict(extra="forbid")
    P0: Minutes = 15
    P1: Minutes = 30
    P2: Minutes = 60
    P3: Minutes = 0


Count = Annotated[StrictInt, Field(ge=0, le=10)]


class SignOffRules(BaseModel):
    """`[signoff]`: who may sign off a release (by OCTOTUI_USER name; empty = anyone but its captain) and how
    many sign-offs each release type needs before Staging."""

    model_config = ConfigDict(extra="forbid")
    signers: list[str] = Field(default_factory=list)
    major: Count = 1
    minor: Count = 0
    patch: Count = 0

    def required(self, kind: str) -> int:
        return int(getattr(self, kind, 0))

    def may_sign(self, person: str) -> bool:
        return not self.signers or person in self.signers


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    clipboard: Literal["auto", "native", "osc52", "file"] = "auto"
    templates_dir: Path | None = Field(default=None, alias="templates")
    cadence: Cadence = Field(default_factory=Cadence)
    signoff: SignOffRules = Field(default_factory=SignOffRules)
    # The zone stakeholders read times in (IANA name, e.g. "Europe/Berlin"); the machine's own zone if unset.
    timezone: str | None = None
    # The database, when not given by --db or $OCTOTUI_DB: a file path or a postgresql:// URL (team mode).
    db: str | None = None
    bell: bool = True  # the terminal bell when a status update becomes overdue (once per overdue)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Berlin' or 'UTC')") from None
        return value

    @property
    def zone(self) -> tzinfo | None:
        if self.timezone is None:
            return None
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)

    @field_validator("templates_dir", mode="before")
    @classmethod
    def _expand(cls, value: object) -> object:
        return Path(value).expanduser() if isinstance(value, str) else value

    @property
    def cadence_minutes(self) -> _CadenceView:
        return _CadenceView(self.cadence)

    def update_interval(self, severity: Severity) -> timedelta | None:
        minutes = getattr(self.cadence, severity.value, 0)
        return timedelta(minutes=minutes) if minutes > 0 else None


class _CadenceView:
    """`settings.cadence_minutes[Severity.P1] = 10`: a mapping view for code that thinks in severities."""

    def __init__(self, cadence: Cadence) -> None:
        self._cadence = cadence

    def __getitem__(self, severity: Severity) -> int:
        return int(getattr(self._cadence, Severity(severity).value))

    def __setitem__(self, severity: Severity, minutes: int) -> None:
        setattr(self._cadence, Severity(severity).value, minutes)


def load_settings(path: Path | None = None) -> Settings:
    """Read `config.toml` if it exists; any bad value is `SettingsError("CONFIG:KEY: what is wrong")`."""
    path = path or default_config_path()
    if not path.is_file():
        return Settings()
    import tomllib  # only when there is a file: it is a noticeable part of start-up otherwise

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"{path}: {error}") from None
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        problem = error.errors()[0]
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        if key == "templates":
            key = "templates"
        value = problem.get("input")
        shown = repr(value)[:40] if not isinstance(value, dict) else "a table"
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown setting"
        elif problem["type"] == "model_type" and key == "cadence":
            message = "must be a table of P0..P3 = minutes, e.g. [cadence] P1 = 30"
        elif key.startswith("cadence."):
            message = f"must be whole minutes from 0 to 1440 (got {shown})"
        raise SettingsError(f"{path}:{key}: {message}") from None


__all__ = ["Settings", "SettingsError", "load_settings", "CLIPBOARD_MODES", "Literal"]
