"""Which version comes next, read from the board's rows: what production runs, the line in flight, a free
patch, the type a step implies, and who already holds a version. Pure: rows in, answers out."""

from __future__ import annotations

from collections.abc import Iterable

from octotui.domain.board import BoardRow, Stage, version_key
from octotui.domain.semver import InvalidVersion, ReleaseType, Version, implied_type, latest, suggest_next

LIVE = (Stage.PRODUCTION, Stage.VERIFIED)
IN_FLIGHT = (Stage.PLANNED, Stage.GATE_PASSED, Stage.STAGING)


def newest(rows: Iterable[BoardRow]) -> BoardRow | None:
    return max(rows, key=lambda row: version_key(row.version), default=None)


def in_production(rows: Iterable[BoardRow]) -> BoardRow | None:
    """The release production runs now: the newest version in Production or Verified."""
    return newest(row for row in rows if row.stage in LIVE)


def in_flight(rows: Iterable[BoardRow]) -> BoardRow | None:
    """The newest release line still on its way (Planned to Staging)."""
    return newest(row for row in rows if row.stage in IN_FLIGHT)


def last_known_good(rows: Iterable[BoardRow], release_id: int, version: str) -> BoardRow | None:
    """What a rollback goes back to: the newest earlier version that shipped and stayed."""
    mine = version_key(version)
    return newest(row for row in rows if row.id != release_id and row.stage in LIVE and version_key(row.version) < mine)


def taken(rows: Iterable[BoardRow], version: Version, excluding: int | None) -> list[BoardRow]:
    """The other releases under this version (build metadata does not make a new version)."""
    return [row for row in rows if row.id != excluding and _same_version(row.version, version)]


def free_patch_after(rows: Iterable[BoardRow], base: str) -> str:
    held = {row.version for row in rows if row.stage is not Stage.CANCELLED}
    version = Version.parse(base).bump(ReleaseType.PATCH)
    while str(version) in held:
        version = version.bump(ReleaseType.PATCH)
    return str(version)


def suggest_type(rows: Iterable[BoardRow], version_text: str, excluding: int | None = None) -> ReleaseType | None:
    """The type implied by the step from the closest earlier version on the board."""
    try:
        version = Version.parse(version_text)
    except InvalidVersion:
        return None
    earlier = latest([row.version for row in rows
                      if row.id != excluding and version_key(row.version) < (0, version.precedence())])
    return implied_type(version, earlier)


def suggest_version(rows: Iterable[BoardRow], kind: ReleaseType = ReleaseType.MINOR) -> str:
    versions = [row.version for row in rows]
    return suggest_next(versions, kind) if versions else "1.0.0"


def suggest_hotfix_version(rows: list[BoardRow]) -> tuple[str, str]:
    """A hotfix patches what production runs, not the highest version on the board; (version, why)."""
    live = in_production(rows)
    if live is None:
        return suggest_version(rows, ReleaseType.PATCH), "nothing is in production yet"
    return free_patch_after(rows, live.version), f"next patch of {live.version} ({live.key}, in production)"


def suggest_backport(rows: list[BoardRow], fixed_version: str) -> tuple[str, str]:
    """Where a hotfix's fix goes next: the newest line still in flight; (version, why)."""
    line = in_flight(rows)
    if line is None or version_key(line.version) <= version_key(fixed_version):
        return suggest_version(rows, ReleaseType.PATCH), "no newer release line in flight"
    return free_patch_after(rows, line.version), f"backport into the {line.version} line ({line.key}, {line.stage.value})"


def type_warning(rows: Iterable[BoardRow], version_text: str, kind: str) -> str:
    """Said (not refused) when the chosen type disagrees with the SemVer step from production."""
    try:
        version = Version.parse(version_text)
        chosen = ReleaseType(kind)
    except (InvalidVersion, ValueError):
        return ""
    live = in_production(rows)
    base = Version.parse(live.version) if live is not None and version_key(live.version)[0] == 0 else None
    implied = implied_type(version, base)
    if implied is chosen or (base is not None and version <= base):
        return ""
    source = f"after {base} in production" if base else "as a first release"
    return f"{version} {source} is a {implied.value} step; saving as {chosen.value} anyway"


def _same_version(text: str, version: Version) -> bool:
    try:
        return Version.parse(text) == version
    except InvalidVersion:
        return False
