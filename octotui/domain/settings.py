"""Settings from an optional TOML file, validated by a pydantic model: cadence, clipboard, templates."""

from __future__ import annotations

import os
import stat
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from octotui.domain.channels import ChannelSettings
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
    # A gate override counts once someone other than the release's captain (a signer, when signers are set)
    # accepts it. A team of one can let the captain accept her own: recorded as "self-accepted".
    self_accept_override: bool = False

    def required(self, kind: str) -> int:
        return int(getattr(self, kind, 0))

    def may_sign(self, person: str) -> bool:
        return not self.signers or person in self.signers


class DeliveryOptions(BaseModel):
    """`[delivery]`: how long one destination may take (seconds) before the attempt counts as failed."""

    model_config = ConfigDict(extra="forbid")
    timeout: float = Field(default=30.0, gt=0, le=600)


CHANNEL_ENV = "OCTOTUI_CHANNEL_"  # OCTOTUI_CHANNEL_INCIDENTS="slack://…" adds or replaces a channel


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
    # Where texts are posted besides the clipboard (domain.channels): names -> apprise URLs, templates -> names.
    channels: dict[str, str | list[str]] = Field(default_factory=dict)
    routes: dict[str, str | list[str]] = Field(default_factory=dict)
    delivery: DeliveryOptions = Field(default_factory=DeliveryOptions)

    @property
    def posting(self) -> ChannelSettings:
        return ChannelSettings(channels=self.channels, routes=self.routes, timeout=self.delivery.timeout)
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


MAX_SETTINGS_BYTES = 1 << 20  # a settings file is a few lines; anything this big is not one


def read_settings_file(path: Path) -> str | None:
    """The settings file's text; None when there is none. Anything else at the path (a folder, a FIFO, a device
    such as /dev/zero, an unreadable or huge file) is a `SettingsError`: opened without blocking, its type
    checked on the open descriptor, read with a bound, so it can neither hang nor exhaust memory."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise SettingsError(f"{path}: a part of this path is not a folder") from None
    except OSError as error:
        raise SettingsError(f"{path}: cannot read ({error.strerror or error})") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise SettingsError(f"{path}: is a folder, not a settings file")
        if not stat.S_ISREG(mode):
            raise SettingsError(f"{path}: is not a regular file (a FIFO, device or socket cannot be settings)")
        data = os.read(descriptor, MAX_SETTINGS_BYTES + 1)
        while data and len(data) <= MAX_SETTINGS_BYTES and (chunk := os.read(descriptor, MAX_SETTINGS_BYTES + 1 - len(data))):
            data += chunk
    except OSError as error:
        raise SettingsError(f"{path}: cannot read ({error.strerror or error})") from None
    finally:
        os.close(descriptor)
    if len(data) > MAX_SETTINGS_BYTES:
        raise SettingsError(f"{path}: larger than {MAX_SETTINGS_BYTES // 1024} KiB; not a settings file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SettingsError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def load_settings(path: Path | None = None) -> Settings:
    """Read `config.toml` if it exists; any bad value is `SettingsError("CONFIG:KEY: what is wrong")`."""
    path = path or default_config_path()
    source = read_settings_file(path)
    if source is None:
        return _with_channels(Settings(), path, {})
    import tomllib  # only when there is a file: it is a noticeable part of start-up otherwise

    try:
        raw = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: {error}") from None
    except RecursionError:  # thousands of nested `[`: the parser recurses once per level
        raise SettingsError(f"{path}: not valid TOML (nested too deeply)") from None
    try:
        return _with_channels(Settings.model_validate(raw), path, raw.get("channels"))
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


def _with_channels(settings: Settings, path: Path, from_file: object) -> Settings:
    """Channels from the environment added; every channel, route and URL checked (apprise is imported only
    when there are channels); a file holding credentials must not be readable by others."""
    env = {key[len(CHANNEL_ENV):].lower(): value.split() for key, value in os.environ.items()
           if key.startswith(CHANNEL_ENV) and value.strip()}
    if env:
        settings.channels = {**settings.channels, **env}
    if not settings.channels and not settings.routes:
        return settings
    posting = settings.posting
    where = f"{path}:" if isinstance(from_file, dict) else "CONFIG:"
    for key, problem in posting.problems():
        raise SettingsError(f"{where}{key}: {problem}")
    from octotui.domain.channels import check_urls, holds_secret

    file_channels = from_file if isinstance(from_file, dict) else {}
    try:
        shared = path.stat().st_mode & 0o044 if file_channels else 0
    except OSError:
        shared = 0
    for name in file_channels:
        if shared and name not in env and any(holds_secret(url) for url in posting.channels.get(name, [])):
            raise SettingsError(
                f"{path}:channels.{name}: this URL holds credentials and the file is readable by others: "
                f"chmod 600 {path}, or set it in ${CHANNEL_ENV}{name.upper()} instead")
    wrong = check_urls([url for urls in posting.channels.values() for url in urls])
    for name, urls in posting.channels.items():
        for url in urls:
            if url in wrong:
                raise SettingsError(f"{where if name not in env else 'CONFIG:'}channels.{name}: {wrong[url]}")
    return settings


__all__ = ["Settings", "SettingsError", "load_settings", "CLIPBOARD_MODES", "Literal"]
