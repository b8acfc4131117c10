"""What a person types, validated by pydantic models: every message is fit to show next to its field.

Rules that need stored data (a version already taken, a link to a record that does not exist) are
checked by the services inside the command's unit of work, and raise the same `InputError`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from octotui.domain.quoting import quoted
from octotui.domain.semver import InvalidVersion, ReleaseType, Version
from octotui.domain.text import unstorable_at

MAX_TEXT = 20_000  # a pasted log is fine; a runaway paste is refused with a message
Input = TypeVar("Input", bound=BaseModel)


class InputError(ValueError):
    """Bad input, by field: the UI shows each message next to its field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class NeedsConfirmation(Exception):  # noqa: N818 - a question, not an error
    """The change is allowed only after the person confirms (resolving with work open, ending a window early).
    `careful`: a destructive or untrue-if-wrong choice, asked with No as the default (Enter never confirms it)."""

    def __init__(self, message: str, *, careful: bool = False) -> None:
        super().__init__(message)
        self.careful = careful


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("octotui", message)


def _as_text(value: Any) -> Any:
    return "" if value is None else value


def _text(label: str, *, required: bool = False, limit: int = MAX_TEXT) -> Any:
    def check(value: str) -> str:
        value = value.strip()
        if required and not value:
            raise _refuse(f"{label} is required")
        if len(value) > limit:
            raise _refuse(f"{label} is {len(value):,} characters; the limit is {limit:,}")
        if (position := unstorable_at(value)) is not None:
            raise _refuse(unstorable_message(label, position))
        return value
    return Annotated[str, BeforeValidator(_as_text), AfterValidator(check)]


def _version(value: str) -> str:
    value = value.strip()
    if not value:
        raise _refuse("Version is required (e.g. 1.4.0)")
    try:
        Version.parse(value)
    except InvalidVersion as error:
        raise _refuse(str(error)) from None
    return value


def _optional_date(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _refuse(f"{quoted(value)} is not a date (YYYY-MM-DD)") from None
    return value


def _optional_type(value: Any) -> Any:
    if value in ("", None):
        return None
    try:
        return ReleaseType(value)
    except ValueError:
        raise _refuse("Type must be patch, minor or major") from None


class _Form(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True, validate_default=True)


class ReleaseInput(_Form):
    version: Annotated[str, BeforeValidator(_as_text), AfterValidator(_version)]
    title: _text("Title", required=True)  # type: ignore[valid-type]
    captain: _text("Captain", limit=200) = ""  # type: ignore[valid-type]
    type: Annotated[ReleaseType | None, BeforeValidator(_optional_type)] = None
    target_date: Annotated[date | None, BeforeValidator(_optional_date)] = None


CHOOSABLE_STATUSES = ("proposed", "accepted", "rejected", "deprecated")  # superseded comes from another record


def _status(value: Any) -> Any:
    if value not in CHOOSABLE_STATUSES:
        raise _refuse("Status must be proposed, accepted, rejected or deprecated (superseding is done with S)")
    return value


class DecisionInput(_Form):
    title: _text("Title", required=True)  # type: ignore[valid-type]
    context: _text("Context") = ""  # type: ignore[valid-type]
    decision: _text("The decision", required=True)  # type: ignore[valid-type]
    alternatives: _text("Alternatives") = ""  # type: ignore[valid-type]
    consequences: _text("Consequences") = ""  # type: ignore[valid-type]
    owner: _text("Owner") = ""  # type: ignore[valid-type]
    status: Annotated[Literal["proposed", "accepted", "rejected", "deprecated"], BeforeValidator(_status)] = "accepted"


def _severity(value: Any) -> Any:
    if str(value) not in ("P0", "P1", "P2", "P3"):
        raise _refuse("Severity must be P0, P1, P2 or P3")
    return str(value)


class IncidentInput(_Form):
    title: _text("Title", required=True)  # type: ignore[valid-type]
    severity: Annotated[Literal["P0", "P1", "P2", "P3"], BeforeValidator(_severity)] = "P1"
    impact: _text("Impact") = ""  # type: ignore[valid-type]


class ReasonInput(_Form):
    reason: _text("A reason", required=True)  # type: ignore[valid-type]


class NoteInput(_Form):
    note: _text("The note") = ""  # type: ignore[valid-type]


class TimelineNoteInput(_Form):
    note: _text("A note", required=True)  # type: ignore[valid-type]


class PersonInput(_Form):
    person: _text("A name", required=True, limit=200)  # type: ignore[valid-type]


class TextInput(_Form):
    """A free text field that may be empty (impact, current actions)."""

    text: _text("The text") = ""  # type: ignore[valid-type]


def check_length(field: str, label: str, text: str, limit: int = MAX_TEXT) -> str:
    """A text kept exactly as typed (an edited comms text: its lines and spaces are the point), refused
    when longer than the limit every other field has, or holding what no backend stores (NUL)."""
    if len(text) > limit:
        raise InputError({field: f"{label} is {len(text):,} characters; the limit is {limit:,}"})
    if (position := unstorable_at(text)) is not None:
        raise InputError({field: unstorable_message(label, position)})
    return text


def unstorable_message(label: str, position: int) -> str:
    return (f"{label} holds a character that cannot be stored (a NUL or an unpaired surrogate, "
            f"at character {position + 1:,}); remove it")


def parse_input(model: type[Input], data: dict[str, Any], rename: dict[str, str] | None = None) -> Input:
    """Validate `data` with `model`; every problem becomes `InputError({field: message})`."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        errors: dict[str, str] = {}
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "_form"
            field = (rename or {}).get(field, field)
            message = problem["msg"]
            errors.setdefault(field, message[0].upper() + message[1:] if problem["type"] != "octotui" else message)
        raise InputError(errors) from None
