"""SemVer 2.0.0: parsing, precedence, and the release type a version implies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache, total_ordering
from typing import Any

from octotui.domain.quoting import quoted

# The official regular expression from semver.org, without the optional leading "v".
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


class ReleaseType(StrEnum):
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"


class InvalidVersion(ValueError):
    pass


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _SEMVER.match(text.strip()) if len(text) < 256 else None
        if not match:
            raise InvalidVersion(f"{quoted(text.strip())} is not a SemVer version (MAJOR.MINOR.PATCH, e.g. 1.4.0)")
        major, minor, patch, pre, build = match.groups()
        return cls(int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (), build or "")

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + self.build
        return text

    def precedence(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        # A version without a prerelease ranks above any prerelease of it; numeric identifiers
        # rank below alphanumeric ones and compare as numbers. Build metadata is ignored.
        pre = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence() < other.precedence()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence() == other.precedence()

    def __hash__(self) -> int:
        return hash(self.precedence())

    def bump(self, kind: ReleaseType) -> Version:
        if kind is ReleaseType.MAJOR:
            return Version(self.major + 1, 0, 0)
        if kind is ReleaseType.MINOR:
            return Version(self.major, self.minor + 1, 0)
        if self.prerelease:
            return Version(self.major, self.minor, self.patch)
        return Version(self.major, self.minor, self.patch + 1)


def implied_type(new: Version, previous: Version | None) -> ReleaseType:
    """The release type a new version implies, compared with the latest one before it."""
    if previous is None:  # a first release: the step its own numbers show (2.4.0 continues a 2.x line)
        if new.patch:
            return ReleaseType.PATCH
        if new.minor or new.major == 0:
            return ReleaseType.MINOR
        return ReleaseType.MAJOR
    if new.major != previous.major:
        return ReleaseType.MAJOR
    if new.minor != previous.minor:
        return ReleaseType.MINOR
    return ReleaseType.PATCH


@lru_cache(maxsize=1 << 16)
def precedence_of(text: str) -> Any:
    """A version text's SemVer precedence (None if it is not a version), kept: a board's few thousand versions
    are read again on every keystroke of a release form (its type warning) and every sort."""
    try:
        return Version.parse(text).precedence()
    except InvalidVersion:
        return None


def latest(versions: list[str]) -> Version | None:
    best = max((text for text in versions if precedence_of(text) is not None), key=precedence_of, default=None)
    return None if best is None else Version.parse(best)


def suggest_next(versions: list[str], kind: ReleaseType = ReleaseType.MINOR) -> str:
    top = latest(versions)
    return str(top.bump(kind)) if top else "0.1.0"
