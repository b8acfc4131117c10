"""`octotui export metrics`: the period from the command line, and the report as Markdown, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta

from octotui.domain.clock import ensure_utc
from octotui.domain.metrics import DEFAULT_DAYS, DEFINITIONS, NO_DEPLOYMENTS, SEVERITIES, Metrics, Period

FORMATS = ("md", "csv", "json")


class PeriodError(ValueError):
    """A period the person gave that cannot be used: one line for stderr, or a note under the form's field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def parse_moment(text: str, flag: str) -> datetime:
    """`2026-11-02` (midnight, this machine's zone) or an ISO 8601 time (with an offset, else local)."""
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            day = date.fromisoformat(cleaned)
            return ensure_utc(datetime.combine(day, time()).astimezone())
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise PeriodError(f"{flag} {text[:40]!r}: not a date (YYYY-MM-DD) or an ISO 8601 time",
                          flag.strip("-")) from None
    return ensure_utc(moment if moment.tzinfo else moment.astimezone())


def parse_period(since: str | None, until: str | None, now: datetime) -> Period:
    """`[since, until)`; by default the last 90 days to now; `--since` alone runs to now, `--until` alone
    looks back 90 days from it."""
    end = parse_moment(until, "--until") if until else now
    start = parse_moment(since, "--since") if since else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise PeriodError(f"--since ({start.isoformat()}) must be before --until ({end.isoformat()})", "since")
    return Period(start, end)


def _number(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def as_json(metrics: Metrics) -> str:
    return json.dumps(metrics.to_json(), indent=2, allow_nan=False) + "\n"


def as_markdown(metrics: Metrics) -> str:
    since = metrics.since.isoformat() if metrics.since else "the first record"
    out = ["# Release and incident metrics", "", f"Period: {since} to {metrics.until.isoformat()} (until excluded)", ""]
    if metrics.empty:
        out += [f"**{NO_DEPLOYMENTS.capitalize()}.**", ""]
    lead, recovery = metrics.lead_time_hours, metrics.recovery_time_hours
    out += ["| Metric | Value |", "|---|---|",
            f"| Deployments | {metrics.deployments} |",
            f"| Deploys per week | {_number(metrics.deploys_per_week, digits=2)} |",
            f"| Lead time (median / p90) | {_number(lead.median, ' h')} / {_number(lead.p90, ' h')} |",
            f"| Change failure rate | {_rate(metrics.change_failure_rate)} ({metrics.failures} failed) |",
            f"| Recovery time (median) | {_number(recovery.median, ' h')} ({recovery.count} measured, "
            f"{recovery.missing} unfinished) |",
            f"| Updates on time | {_rate(metrics.updates_on_time_rate)} of {metrics.updates_measured} |", "",
            "| Severity | Incidents | MTTA median | MTTA mean | unacknowledged | MTTR median | MTTR mean | unresolved |",
            "|---|---|---|---|---|---|---|---|"]
    for severity in SEVERITIES:
        count, mtta, mttr = metrics.incidents[severity]
        out.append(f"| {severity} | {count} | {_number(mtta.median, ' min')} | {_number(mtta.mean, ' min')} | "
                   f"{mtta.missing} | {_number(mttr.median, ' min')} | {_number(mttr.mean, ' min')} | {mttr.missing} |")
    out += ["", "## Definitions", ""] + [f"- **{name}**: {text}" for name, text in DEFINITIONS]
    return "\n".join(out) + "\n"


def as_csv(metrics: Metrics) -> str:
    """One `metric,value` row per number (empty where there is nothing to measure), then the weekly series."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    document = metrics.to_json()
    writer.writerow(["metric", "value"])

    def rows(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                rows(f"{prefix}.{key}" if prefix else key, inner)
        elif not isinstance(value, list):
            writer.writerow([prefix, "" if value is None else value])

    rows("", document)
    writer.writerow([])
    writer.writerow(["week", "deployments", "failures"])
    for week in document["weekly"]:
        writer.writerow([week["week"], week["deployments"], week["failures"]])
    return buffer.getvalue()


def render_metrics(metrics: Metrics, fmt: str) -> str:
    return {"md": as_markdown, "csv": as_csv, "json": as_json}[fmt](metrics)
