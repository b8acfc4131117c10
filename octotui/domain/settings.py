"""Settings from an optional TOML file and `OCTOTUI_*` environment variables, one pydantic-settings model:
cadence, clipboard, templates, … The environment wins over the file; nested keys join with `__`
(`OCTOTUI_CADENCE__P1=10`, `OCTOTUI_SIGNOFF__SIGNERS='["lee","ana"]'`)."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as SourceError

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


ENV_PREFIX = "OCTOTUI_"
# OCTOTUI_* variables that mean something else: never read as settings. $OCTOTUI_DB is the CLI's own
# (`--db` > $OCTOTUI_DB > `db =` in the file), so the `db` setting comes from the file only.
NOT_SETTINGS = frozenset({"db"})

# The file's values while `load_settings` builds the model: the lowest-priority source (below the environment).
_FILE_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("_FILE_VALUES", default=None)
# Off while `load_settings` checks the file alone, so that the file's mistakes are named by file and key.
_READ_ENVIRONMENT: ContextVar[bool] = ContextVar("_READ_ENVIRONMENT", default=True)


class _FileSource(PydanticBaseSettingsSource):
    """config.toml, already read and parsed by `load_settings` (its own safe read and one-line errors)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ hands over the whole table

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_VALUES.get() or {})


class _EnvSource(EnvSettingsSource):
    """`OCTOTUI_<SETTING>` and `OCTOTUI_<TABLE>__<KEY>`; whole numbers given as text become numbers (the
    model's minutes and counts are strict, so that a file's `P1 = "10"` or `P1 = true` stays an error)."""

    def __call__(self) -> dict[str, Any]:
        return super().__call__() if _READ_ENVIRONMENT.get() else {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name in NOT_SETTINGS:
            return None, field_name, False
        return super().get_field_value(field, field_name)

    def explode_env_vars(self, field_name: str, field: FieldInfo, env_vars: Mapping[str, str | None]) -> dict[str, Any]:
        if field_name in NOT_SETTINGS:
            return {}
        exploded = super().explode_env_vars(field_name, field, env_vars)
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            fields = {name.lower(): info for name, info in model.model_fields.items()}
            for key, value in exploded.items():
                inner = fields.get(key.lower())
                if inner is not None and inner.annotation is int and isinstance(value, str) \
                        and value.strip().lstrip("-").isdigit():
                    exploded[key] = int(value)
        return exploded


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", populate_by_name=True, env_prefix=ENV_PREFIX,
                                      env_nested_delimiter="__", case_sensitive=False, env_file=None,
                                      env_prefix_target="all", env_ignore_empty=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Arguments, then the environment, then config.toml; no .env file, no secrets folder.
        return init_settings, _EnvSource(settings_cls), _FileSource(settings_cls)

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
    """Read `config.toml` if it exists, then the `OCTOTUI_*` environment (which wins). A bad value in the file
    is `SettingsError("CONFIG:KEY: what is wrong")`; one from the environment names its variable:
    `SettingsError("OCTOTUI_CADENCE__P1: what is wrong")`."""
    path = path or default_config_path()
    source = read_settings_file(path)
    raw: dict[str, Any] = {}
    if source is not None:
        import tomllib  # only when there is a file: it is a noticeable part of start-up otherwise

        try:
            raw = tomllib.loads(source)
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(f"{path}: {error}") from None
        except RecursionError:  # thousands of nested `[`: the parser recurses once per level
            raise SettingsError(f"{path}: not valid TOML (nested too deeply)") from None
    token = _FILE_VALUES.set(raw)
    try:
        if source is not None:
            _file_alone(path)
        settings = Settings()
    except ValidationError as error:  # the file alone is valid: the environment's value is wrong
        key, message = _describe(error)
        raise SettingsError(f"{_variable(error.errors()[0]['loc'])}: {message}") from None
    except SourceError as error:  # a variable's value is not the JSON its setting needs (a list, a table)
        raise SettingsError(f"{_variable_of(error)}: not valid JSON (a list is written [\"a\", \"b\"], "
                            "a table {\"key\": value})") from None
    finally:
        _FILE_VALUES.reset(token)
    return _with_channels(settings, path, raw.get("channels") if source is not None else {})


def _file_alone(path: Path) -> None:
    """The file's values without the environment: a mistake there is named by file and key."""
    token = _READ_ENVIRONMENT.set(False)
    try:
        Settings()
    except ValidationError as error:
        key, message = _describe(error)
        raise SettingsError(f"{path}:{key}: {message}") from None
    finally:
        _READ_ENVIRONMENT.reset(token)


def _describe(error: ValidationError) -> tuple[str, str]:
    """The first problem as (dotted key, what is wrong), in the words the settings file has always used."""
    problem = error.errors()[0]
    key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
    value = problem.get("input")
    shown = repr(value)[:40] if not isinstance(value, dict) else "a table"
    message = problem["msg"]
    if problem["type"] == "extra_forbidden":
        message = "unknown setting"
    elif problem["type"] == "model_type" and key == "cadence":
        message = "must be a table of P0..P3 = minutes, e.g. [cadence] P1 = 30"
    elif key.startswith("cadence."):
        message = f"must be whole minutes from 0 to 1440 (got {shown})"
    return key, message


def _setting_variables() -> dict[str, str]:
    """OCTOTUI_* variables as they are spelled, by their upper-case name (names are case-insensitive)."""
    return {name.upper(): name for name in os.environ if name.upper().startswith(ENV_PREFIX)}


def _variable(loc: tuple[int | str, ...]) -> str:
    """The variable that gave the value at `loc`: the longest OCTOTUI_A__B__C that is set, else the table's."""
    parts = [str(part).upper() for part in loc if not isinstance(part, int)]
    present = _setting_variables()
    for end in range(len(parts), 0, -1):
        name = ENV_PREFIX + "__".join(parts[:end])
        if name in present:
            return present[name]
    return ENV_PREFIX + "__".join(parts[:1] or ["…"])


def _variable_of(error: SourceError) -> str:
    """pydantic-settings says `error parsing value for field "signoff" from source "…"`: the field's variable."""
    import re

    field = re.search(r'field "([^"]+)"', str(error))
    if field is None:
        return ENV_PREFIX + "…"
    table = field.group(1).upper()
    present = _setting_variables()
    nested = sorted(name for name in present if name.startswith(f"{ENV_PREFIX}{table}__"))
    return present[nested[0]] if nested and ENV_PREFIX + table not in present else present.get(ENV_PREFIX + table, ENV_PREFIX + table)


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
    # Channels an OCTOTUI_CHANNELS… variable set or replaced: their mistakes name the variable, not the file.
    from_variables = {name for name, urls in posting.channels.items() if name not in env
                      and urls != ([given] if isinstance(given := file_channels.get(name), str) else given)}
    try:
        shared = path.stat().st_mode & 0o044 if file_channels else 0
    except OSError:
        shared = 0
    for name in file_channels:
        if shared and name not in env and name not in from_variables \
                and any(holds_secret(url) for url in posting.channels.get(name, [])):
            raise SettingsError(
                f"{path}:channels.{name}: this URL holds credentials and the file is readable by others: "
                f"chmod 600 {path}, or set it in ${CHANNEL_ENV}{name.upper()} instead")
    wrong = check_urls([url for urls in posting.channels.values() for url in urls])
    for name, urls in posting.channels.items():
        for url in urls:
            if url in wrong and name in from_variables:
                raise SettingsError(f"{_variable(('channels', name))}: {wrong[url]}")
            if url in wrong:
                raise SettingsError(f"{where if name not in env else 'CONFIG:'}channels.{name}: {wrong[url]}")
    return settings


__all__ = ["Settings", "SettingsError", "load_settings", "CLIPBOARD_MODES", "Literal"]
