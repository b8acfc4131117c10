"""Which version comes next, read from the board's rows: what production runs, the line in flight, a free
patch, the type a step implies, and who already holds a version. Pure: rows in, answers out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from octotui.domain.board import BoardRow, version_key
from octotui.domain.semver import InvalidVersion, ReleaseType, Version, implied_type, latest, suggest_next
from octotui.domain.stages import Stage

LIVE = (Stage.PRODUCTION, Stage.VERIFIED)
IN_FLIGHT = (Stage.PLANNED, Stage.GATE_PASSED, Stage.STAGING)


def newest(rows: Iterable[BoardRow]) -> BoardRow | None:
    return max(rows, key=lambda row: version_key(row.version), default=None)


def _deployed_order(row: BoardRow) -> tuple[bool, float, Any]:
    """Deployment history order: by when it went to Production (a row without that time, saved before it was
    kept, sorts first, by version)."""
    return (row.deployed_at is not None, row.deployed_at.timestamp() if row.deployed_at else 0.0,
            version_key(row.version))


def in_production(rows: Iterable[BoardRow]) -> BoardRow | None:
    """The release production runs now: the one most recently deployed to Production (and not rolled back)."""
    return max((row for row in rows if row.stage in LIVE), key=_deployed_order, default=None)


def replaced_by(rows: Iterable[BoardRow]) -> dict[int, BoardRow]:
    """Each release still marked Production although a later one was deployed after it: replaced by the release
    deployed next (its successor in the deployment history). A Verified one is history, not flagged."""
    shipped = sorted((row for row in rows if row.stage in LIVE), key=_deployed_order)
    return {row.id: successor for row, successor in zip(shipped, shipped[1:], strict=False)
            if row.stage is Stage.PRODUCTION}


def is_downgrade(rows: Iterable[BoardRow], release_id: int, version: str) -> BoardRow | None:
    """What production runs (another release), when deploying `version` would go below it."""
    live = in_production(row for row in rows if row.id != release_id)
    return live if live is not None and version_key(version) < version_key(live.version) else None


def in_flight(rows: Iterable[BoardRow]) -> BoardRow | None:
    """The newest release line still on its way (Planned to Staging)."""
    return newest(row for row in rows if row.stage in IN_FLIGHT)


def last_known_good(rows: Iterable[BoardRow], release_id: int, version: str) -> BoardRow | None:
    """What a rollback goes back to: by the deployment history, the release deployed to Production last before
    this one (or what runs there now, when this one never got there) that shipped and stayed. Rows without a
    deployment time (saved before it was kept): the newest earlier version that shipped."""
    rows = list(rows)
    mine = next((row for row in rows if row.id == release_id), None)
    cutoff = mine.deployed_at if mine is not None else None
    before = [row for row in rows if row.id != release_id and row.stage in LIVE and row.deployed_at is not None
              and (cutoff is None or row.deployed_at <= cutoff)]
    if before:
        return max(before, key=_deployed_order)
    return newest(row for row in rows if row.id != release_id and row.stage in LIVE and row.deployed_at is None
                  and version_key(row.version) < version_key(version))


def taken(rows: Iterable[BoardRow], version: Version, excluding: int | None) -> list[BoardRow]:
    """The other releases under this version (build metadata does not make a new version)."""
    return [row for row in rows if row.id != excluding and _same_version(row.version, version)]


def free_patch_after(rows: Iterable[BoardRow], base: str) -> str:
    held = {row.version for row in rows if row.stage is not Stage.CANCELLED}
    version = Version.parse(base).bump(ReleaseType.PATCH)
    while str(version) in held:
        version = version.bump(ReleaseType.PATCH)
    return str(version)


def step_base(rows: Iterable[BoardRow], version: Version, excluding: int | None = None) -> Version | None:
    """What a new version steps from: the closest earlier version that shipped or is on its way (a cancelled or
    rolled-back release was never a base). The type suggestion and its warning both read it, so they agree."""
    return latest([row.version for row in rows
                   if row.id != excluding and row.stage not in (Stage.CANCELLED, Stage.ROLLED_BACK)
                   and version_key(row.version) < (0, version.precedence())])


def suggest_type(rows: Iterable[BoardRow], version_text: str, excluding: int | None = None) -> ReleaseType | None:
    """The type implied by the step from its base (`step_base`)."""
    try:
        version = Version.parse(version_text)
    except InvalidVersion:
        return None
    return implied_type(version, step_base(rows, version, excluding))


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


def type_warning(rows: Iterable[BoardRow], version_text: str, kind: str, excluding: int | None = None) -> str:
    """Said (not refused): a version below what production runs (deploying it is a downgrade), or a chosen type
    that disagrees with the step `suggest_type` reads (so a suggestion never warns about itself)."""
    try:
        version = Version.parse(version_text)
        chosen = ReleaseType(kind)
    except (InvalidVersion, ValueError):
        return ""
    rows = list(rows)
    live = is_downgrade(rows, excluding or 0, str(version))
    if live is not None:
        return f"{version} is below {live.version} in production ({live.key}): deploying it will be a downgrade"
    base = step_base(rows, version, excluding)
    implied = implied_type(version, base)
    if implied is chosen:
        return ""
    source = f"after {base}" if base else "as a first release"
    return f"{version} {source} is a {implied.value} step; saving as {chosen.value} anyway"


def _same_version(text: str, version: Version) -> bool:
    try:
        return Version.parse(text) == version
    except InvalidVersion:
        return False
