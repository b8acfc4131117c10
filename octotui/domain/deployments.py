"""Deployment history: which release was in production when, from the times releases reached production.

Pure functions over `Deployment`s (one per release that reached production, with the time it did), so the
incident flows (last known-good, hotfix base) and the release rules can share one answer: production runs
the release that reached it last and is still live, not the highest version on the board.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from octotui.domain.board import version_key
from octotui.domain.models import Release
from octotui.domain.stages import Stage


@dataclass(frozen=True)
class Deployment:
    release_id: int
    version: str
    reached_production: datetime
    live: bool  # still in Production or Verified (not rolling or rolled back)
    incident_ids: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return f"REL-{self.release_id}"


def _order(deployment: Deployment) -> tuple[Any, ...]:
    """Deployment order: when it reached production; the same instant (a batch, a frozen clock) by version."""
    return deployment.reached_production, version_key(deployment.version), deployment.release_id


def in_production(history: Iterable[Deployment]) -> Deployment | None:
    """What production runs now: the live release that reached production last."""
    return max((d for d in history if d.live), key=_order, default=None)


def known_good_before(history: Iterable[Deployment], release_id: int, before: datetime,
                      implicated: Iterable[int] = (), version: str | None = None) -> tuple[Deployment | None, list[str]]:
    """What a rollback of `release_id` (`version`) goes back to: the live release that reached production
    last before `before` (when the rolled-back release reached it; at the same instant, a lower version),
    skipping releases linked to an open incident in `implicated`; (the release or None, why each newer one
    was skipped)."""
    suspects = set(implicated)
    mine = version_key(version) if version is not None else None

    def earlier(d: Deployment) -> bool:
        return d.reached_production < before or (d.reached_production == before and mine is not None
                                                 and version_key(d.version) < mine)

    candidates = sorted((d for d in history if d.release_id != release_id and d.live and earlier(d)),
                        key=_order, reverse=True)
    skipped: list[str] = []
    for deployment in candidates:
        linked = [n for n in deployment.incident_ids if n in suspects]
        if not linked:
            return deployment, skipped
        skipped.append(f"{deployment.key} {deployment.version} skipped: linked to open "
                       + ", ".join(f"INC-{n}" for n in linked))
    return None, skipped


def production_at(release: Release) -> datetime | None:
    """When the release reached production: the check of its work run's production step."""
    run = release.runs.get(release.work_role)
    if run is None:
        return None
    return next((item.at for item in run.items if item.stage == "production" and item.settled and item.at), None)


def deployment_of(release: Release) -> Deployment | None:
    at = production_at(release)
    if at is None:
        return None
    return Deployment(release.id, release.version, at, release.stage in (Stage.PRODUCTION, Stage.VERIFIED),
                      tuple(release.incident_ids))
