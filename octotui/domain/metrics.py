"""How releases and incidents are going: DORA's four keys, MTTA/MTTR by severity, updates on time.

Pure functions over plain facts (no Textual, no storage): the Reports screen, `export metrics` and both
backends use these and only these. A period is `[since, until)`; `since=None` means "from the first record".
Every number is null where there is nothing to measure: never a division by zero, never NaN.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

SEVERITIES = ("P0", "P1", "P2", "P3")
DEFAULT_DAYS = 90

# Each definition once: shown in the screen's help, the README and `export metrics --format md`.
DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("Deployments", "releases whose first arrival in Production (production_at) falls in the period [since, until)."),
    ("Deploys per week", "deployments ÷ (days in the period ÷ 7); the weekly series counts them per ISO week."),
    ("Lead time", "for each deployment, production_at − created_at; median and 90th percentile (linear "
                  "interpolation), in hours."),
    ("Change failure rate", "failed ÷ deployments (null when there are none); a deployment failed if it was "
                            "rolled back (rolled_back_at set) or is linked to an incident that started at or "
                            "after its production_at."),
    ("Recovery time", "for incidents linked to a deployment of the period and started at or after its "
                      "production_at: (mitigated_at, else resolved_at) − started_at; median in hours; "
                      "unfinished ones left out and counted."),
    ("MTTA / MTTR", "per severity P0–P3, over incidents started in the period: acknowledged_at − started_at and "
                    "resolved_at − started_at, median and mean in minutes; unacknowledged / unresolved ones "
                    "left out and counted as missing."),
    ("Updates on time", "over status updates sent in the period that had a due time (the severity's cadence "
                        "after the previous update, or after the start), the share sent at or before it."),
)
NO_DEPLOYMENTS = "no deployments in this period"


@dataclass(frozen=True)
class ReleaseFacts:
    id: int
    created_at: datetime
    production_at: datetime | None = None
    rolled_back_at: datetime | None = None
    cancelled_at: datetime | None = None
    incident_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class UpdateFacts:
    at: datetime
    due_at: datetime | None = None


@dataclass(frozen=True)
class IncidentFacts:
    id: int
    severity: str
    started_at: datetime
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    release_ids: tuple[int, ...] = ()
    updates: tuple[UpdateFacts, ...] = ()


@dataclass(frozen=True)
class Period:
    since: datetime | None
    until: datetime

    @classmethod
    def last_days(cls, days: int | None, now: datetime) -> Period:
        return cls(None if days is None else now - timedelta(days=days), now)

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and (self.since is None or moment >= self.since) and moment < self.until

    def previous(self) -> Period | None:
        """The period of the same length just before this one (none for "all")."""
        if self.since is None:
            return None
        return Period(self.since - (self.until - self.since), self.since)


@dataclass(frozen=True)
class Spread:
    """Durations summed up: median / mean / p90 (null when empty), how many were measured and missing."""

    median: float | None = None
    mean: float | None = None
    p90: float | None = None
    count: int = 0
    missing: int = 0


@dataclass(frozen=True)
class Week:
    week: str  # ISO week, "2026-W45"
    start: date
    deployments: int = 0
    failures: int = 0
    lead_time_hours: float | None = None  # median of the week's deployments
    mttr_minutes: float | None = None  # median of the week's resolved incidents (by start)


@dataclass(frozen=True)
class Metrics:
    since: datetime | None
    until: datetime
    deployments: int
    deploys_per_week: float | None
    lead_time_hours: Spread
    failures: int
    change_failure_rate: float | None
    recovery_time_hours: Spread
    incidents: dict[str, tuple[int, Spread, Spread]]  # severity -> (count, MTTA minutes, MTTR minutes)
    updates_measured: int
    updates_on_time_rate: float | None
    weekly: list[Week] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.deployments == 0

    def to_json(self) -> dict[str, Any]:
        """The `export metrics --format json` shape (times ISO 8601 with offset, rates 0–1, null where nothing)."""
        def minutes(spread: Spread) -> dict[str, Any]:
            return {"median": _round(spread.median), "mean": _round(spread.mean), "missing": spread.missing}

        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat(),
            "deployments": self.deployments,
            "deploys_per_week": _round(self.deploys_per_week),
            "lead_time_hours": {"median": _round(self.lead_time_hours.median), "p90": _round(self.lead_time_hours.p90)},
            "change_failure_rate": _round(self.change_failure_rate, 4),
            "recovery_time_hours": {"median": _round(self.recovery_time_hours.median),
                                    "count": self.recovery_time_hours.count,
                                    "unfinished": self.recovery_time_hours.missing},
            "incidents": {severity: {"count": count, "mtta_minutes": minutes(mtta), "mttr_minutes": minutes(mttr)}
                          for severity, (count, mtta, mttr) in self.incidents.items()},
            "updates_on_time_rate": _round(self.updates_on_time_rate, 4),
            "weekly": [{"week": week.week, "deployments": week.deployments, "failures": week.failures}
                       for week in self.weekly],
        }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def percentile(values: list[float], share: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values: list[float], missing: int = 0) -> Spread:
    if not values:
        return Spread(missing=missing)
    return Spread(median=statistics.median(values), mean=statistics.fmean(values), p90=percentile(values, 0.9),
                  count=len(values), missing=missing)


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _week_start(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def first_moment(releases: Iterable[ReleaseFacts], incidents: Iterable[IncidentFacts]) -> datetime | None:
    """Where "all" starts: the first record's creation or start."""
    moments = [release.created_at for release in releases] + [incident.started_at for incident in incidents]
    return min(moments, default=None)


def compute(releases: Iterable[ReleaseFacts], incidents: Iterable[IncidentFacts], period: Period) -> Metrics:
    releases, by_id = list(releases), {incident.id: incident for incident in incidents}
    since = period.since or first_moment(releases, by_id.values())
    window = Period(since, period.until)
    deployments = sorted((r for r in releases if window.holds(r.production_at)), key=lambda r: r.production_at)  # type: ignore[arg-type,return-value]

    # Incidents by the deployments they follow (an incident linked both ways is found once per deployment).
    linked: dict[int, list[IncidentFacts]] = {}
    for incident in by_id.values():
        for release_id in incident.release_ids:
            linked.setdefault(release_id, []).append(incident)

    def followers(release: ReleaseFacts) -> list[IncidentFacts]:
        candidates = {i.id: i for i in linked.get(release.id, [])}
        candidates.update({n: by_id[n] for n in release.incident_ids if n in by_id})
        return [i for i in candidates.values() if release.production_at and i.started_at >= release.production_at]

    failed: set[int] = set()
    recovering: dict[int, IncidentFacts] = {}
    for release in deployments:
        after = followers(release)
        if release.rolled_back_at is not None or after:
            failed.add(release.id)
        recovering.update({incident.id: incident for incident in after})
    lead = [_hours(r.production_at - r.created_at) for r in deployments]  # type: ignore[operator]
    recovery, unfinished = [], 0
    for incident in recovering.values():
        end = incident.mitigated_at or incident.resolved_at
        if end is None:
            unfinished += 1
        else:
            recovery.append(_hours(end - incident.started_at))

    days = (period.until - since).total_seconds() / 86400 if since is not None else 0
    per_week = len(deployments) / (days / 7) if days > 0 else None

    started = [incident for incident in by_id.values() if window.holds(incident.started_at)]
    severities: dict[str, tuple[int, Spread, Spread]] = {}
    for severity in SEVERITIES:
        group = [incident for incident in started if incident.severity == severity]
        acked = [_minutes(i.acknowledged_at - i.started_at) for i in group if i.acknowledged_at is not None]
        resolved = [_minutes(i.resolved_at - i.started_at) for i in group if i.resolved_at is not None]
        severities[severity] = (len(group), spread(acked, len(group) - len(acked)),
                                spread(resolved, len(group) - len(resolved)))

    due = [update for incident in by_id.values() for update in incident.updates
           if update.due_at is not None and window.holds(update.at)]
    on_time = sum(update.at <= update.due_at for update in due)  # type: ignore[operator]

    return Metrics(since=since, until=period.until, deployments=len(deployments), deploys_per_week=per_week,
                   lead_time_hours=spread(lead), failures=len(failed),
                   change_failure_rate=len(failed) / len(deployments) if deployments else None,
                   recovery_time_hours=spread(recovery, unfinished), incidents=severities,
                   updates_measured=len(due), updates_on_time_rate=on_time / len(due) if due else None,
                   weekly=weekly(deployments, failed, started, since, period.until))


def weekly(deployments: list[ReleaseFacts], failed: set[int], incidents: list[IncidentFacts],
           since: datetime | None, until: datetime) -> list[Week]:
    """Every ISO week the period touches, in order (an empty week is a zero, not a gap)."""
    if since is None or since >= until:
        return []
    first, last = _week_start(since), _week_start(until - timedelta(microseconds=1))
    weeks: dict[date, dict[str, Any]] = {}
    day = first
    while day <= last:
        weeks[day] = {"deployments": 0, "failures": 0, "lead": [], "mttr": []}
        day += timedelta(days=7)
    for release in deployments:
        slot = weeks[_week_start(release.production_at)]  # type: ignore[arg-type]
        slot["deployments"] += 1
        slot["failures"] += release.id in failed
        slot["lead"].append(_hours(release.production_at - release.created_at))  # type: ignore[operator]
    for incident in incidents:
        if incident.resolved_at is not None:
            weeks[_week_start(incident.started_at)]["mttr"].append(_minutes(incident.resolved_at - incident.started_at))
    return [Week(week=iso_week(datetime(start.year, start.month, start.day, tzinfo=UTC)), start=start,
                 deployments=slot["deployments"], failures=slot["failures"],
                 lead_time_hours=statistics.median(slot["lead"]) if slot["lead"] else None,
                 mttr_minutes=statistics.median(slot["mttr"]) if slot["mttr"] else None)
            for start, slot in weeks.items()]


# Whether a higher number is better: the arrows beside the previous period.
HIGHER_IS_BETTER = {"deploys_per_week": True, "lead_time": False, "change_failure_rate": False, "recovery_time": False}


def trend(key: str, now: float | None, before: float | None) -> str:
    """"better", "worse", "same" or "" (nothing to compare)."""
    if now is None or before is None:
        return ""
    if abs(now - before) < 1e-9:
        return "same"
    return "better" if (now > before) == HIGHER_IS_BETTER[key] else "worse"
