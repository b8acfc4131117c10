"""Deployment history read from the board, for the incident flows: the last known-good release a rollback
goes back to, and the release a hotfix patches (domain.deployments answers; this reads the records)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from octotui.domain.board import version_key
from octotui.domain.deployments import (
    Deployment,
    deployment_of,
    in_production,
    known_good_before,
    production_at,
)
from octotui.domain.models import Release
from octotui.domain.stages import Stage

if TYPE_CHECKING:
    from octotui.services.records import Reads

SHIPPED = (Stage.PRODUCTION, Stage.VERIFIED, Stage.ROLLING_BACK, Stage.ROLLED_BACK)
# The newest releases (by version) whose history is read: what production ran lately, without parsing
# every release a long board ever shipped.
RECENT = 60


def history(workspace: Reads) -> list[Deployment]:
    rows = sorted((row for row in workspace.board_rows() if row.stage in SHIPPED),
                  key=lambda row: version_key(row.version), reverse=True)[:RECENT]
    found = []
    for row in rows:
        release = workspace.release(row.id)
        deployment = deployment_of(release) if release is not None else None
        if deployment is not None:
            found.append(deployment)
    return found


@dataclass
class KnownGood:
    release: Release | None
    skipped: list[str] = field(default_factory=list)  # why a newer release was not chosen

    def describe(self) -> str:
        chosen = f"{self.release.version} ({self.release.key})" if self.release else "none in the deployment history"
        return chosen + (f" — {'; '.join(self.skipped)}" if self.skipped else "")


def known_good(workspace: Reads, release: Release) -> KnownGood:
    """The release production ran before `release` reached it, skipping releases linked to an open incident."""
    before = production_at(release) or workspace.now()
    implicated = [incident.id for incident in workspace.open_incidents()]
    chosen, skipped = known_good_before(history(workspace), release.id, before, implicated, release.version)
    return KnownGood(workspace.release(chosen.release_id) if chosen else None, skipped)


def hotfix_base(workspace: Reads) -> tuple[str, str]:
    """(version, why) for a new hotfix: the next free patch of the release in production by history; ("",
    the question) when nothing is in production, so the form asks instead of inventing a version."""
    from octotui.domain.versioning import free_patch_after

    live = in_production(history(workspace))
    if live is None:
        return "", "nothing is in production: which version does this hotfix patch? (type it)"
    return (free_patch_after(workspace.board_rows(), live.version),
            f"next patch of {live.version} ({live.key}, in production since "
            f"{workspace.people_time(live.reached_production)})")
