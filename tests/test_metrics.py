"""The metric definitions (octotui.domain.metrics) on a hand-built history whose answers are worked out here."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from octotui.domain.metrics import (
    DEFINITIONS,
    IncidentFacts,
    Period,
    ReleaseFacts,
    UpdateFacts,
    compute,
    percentile,
    trend,
)


def at(day: int, hour: float = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC) + timedelta(hours=hour)


SINCE, UNTIL = at(2), at(30)  # Monday 2 Nov (2026-W45) to Monday 30 Nov: 28 days, 4 weeks
MIN = timedelta(minutes=1)

RELEASES = [
    ReleaseFacts(1, created_at=at(1), production_at=SINCE),  # exactly at `since`: in; lead 24 h
    ReleaseFacts(2, created_at=at(9), production_at=at(10, 12), rolled_back_at=at(10, 14), incident_ids=(3,)),  # 36 h
    ReleaseFacts(3, created_at=at(15), production_at=at(17)),  # 48 h; INC-1 links to it from its side only
    ReleaseFacts(4, created_at=at(20), production_at=at(24), incident_ids=(2,)),  # 96 h; INC-2 started before it
    ReleaseFacts(5, created_at=at(19, month=10), production_at=at(20, month=10)),  # the previous period
    ReleaseFacts(6, created_at=at(3)),  # never shipped
    ReleaseFacts(7, created_at=at(28), production_at=UNTIL),  # exactly at `until`: out
]
INCIDENTS = [
    IncidentFacts(1, "P1", started_at=at(17, 1), acknowledged_at=at(17, 1) + 5 * MIN, mitigated_at=at(17, 3.5),
                  resolved_at=at(17, 4), release_ids=(3,),
                  updates=(UpdateFacts(at(17, 1) + 20 * MIN, at(17, 1) + 30 * MIN),  # on time
                           UpdateFacts(at(17, 2) + 5 * MIN, at(17, 1) + 50 * MIN))),  # late
    IncidentFacts(2, "P2", started_at=at(23), acknowledged_at=at(23) + 10 * MIN, resolved_at=at(23, 1),
                  release_ids=(4,),
                  updates=(UpdateFacts(at(23) + 30 * MIN, at(23, 1)),  # on time
                           UpdateFacts(at(23) + 50 * MIN, None))),  # no due time: not measured
    IncidentFacts(3, "P0", started_at=at(10, 13)),  # linked from REL-2's side; never acknowledged or finished
    IncidentFacts(5, "P1", started_at=at(11), acknowledged_at=at(11) + 15 * MIN, resolved_at=at(11, 1),
                  release_ids=(2,), updates=(UpdateFacts(at(11) + 30 * MIN, at(11) + 30 * MIN),)),  # at the due: on time
    IncidentFacts(6, "P1", started_at=at(1, month=10), acknowledged_at=at(1, month=10) + MIN,
                  updates=(UpdateFacts(at(1, 1, month=10), at(1, 2, month=10)),)),  # before the period
    IncidentFacts(7, "P1", started_at=at(25), acknowledged_at=at(25) + 40 * MIN),  # not resolved
]


def test_the_four_keys_on_a_worked_history() -> None:
    metrics = compute(RELEASES, INCIDENTS, Period(SINCE, UNTIL))
    # REL-1..4 reached Production in [2 Nov, 30 Nov); REL-5 before, REL-6 never, REL-7 at `until` (excluded).
    assert metrics.deployments == 4
    assert metrics.deploys_per_week == pytest.approx(4 / (28 / 7))  # 1.0
    # Lead times 24, 36, 48, 96 h: median (36+48)/2; p90 at rank 0.9*3 = 2.7 -> 48 + 0.7*(96-48).
    assert metrics.lead_time_hours.median == pytest.approx(42.0)
    assert metrics.lead_time_hours.p90 == pytest.approx(81.6)
    # REL-2 was rolled back; REL-3 is followed by INC-1 (linked from the incident only); INC-2 began before REL-4.
    assert metrics.failures == 2
    assert metrics.change_failure_rate == pytest.approx(0.5)
    # Recovery: INC-1 mitigated after 2.5 h; INC-5 (no mitigation) resolved after 1 h; INC-3 unfinished.
    assert metrics.recovery_time_hours.median == pytest.approx(1.75)
    assert (metrics.recovery_time_hours.count, metrics.recovery_time_hours.missing) == (2, 1)


def test_mtta_and_mttr_by_severity() -> None:
    incidents = compute(RELEASES, INCIDENTS, Period(SINCE, UNTIL)).incidents
    count, mtta, mttr = incidents["P0"]
    assert count == 1 and mtta.median is None and mtta.missing == 1 and mttr.mean is None and mttr.missing == 1
    count, mtta, mttr = incidents["P1"]  # INC-1, 5, 7 (INC-6 started before the period)
    assert count == 3
    assert (mtta.median, mtta.mean, mtta.missing) == (15.0, 20.0, 0)  # 5, 15, 40 minutes
    assert (mttr.median, mttr.mean, mttr.missing) == (120.0, 120.0, 1)  # 180 and 60 minutes; INC-7 unresolved
    count, mtta, mttr = incidents["P2"]
    assert (count, mtta.median, mttr.median) == (1, 10.0, 60.0)
    assert incidents["P3"][0] == 0 and incidents["P3"][1].median is None


def test_updates_on_time() -> None:
    metrics = compute(RELEASES, INCIDENTS, Period(SINCE, UNTIL))
    # Due-timed updates in the period: INC-1 on time and late, INC-2 on time, INC-5 exactly at its due: 3 of 4.
    assert metrics.updates_measured == 4
    assert metrics.updates_on_time_rate == pytest.approx(0.75)


def test_weekly_series_covers_every_week_of_the_period() -> None:
    weekly = compute(RELEASES, INCIDENTS, Period(SINCE, UNTIL)).to_json()["weekly"]
    assert weekly == [{"week": "2026-W45", "deployments": 1, "failures": 0},
                      {"week": "2026-W46", "deployments": 1, "failures": 1},
                      {"week": "2026-W47", "deployments": 1, "failures": 1},
                      {"week": "2026-W48", "deployments": 1, "failures": 0}]


def test_previous_period_and_arrows() -> None:
    previous = Period(SINCE, UNTIL).previous()
    assert previous == Period(at(5, month=10), SINCE)
    before = compute(RELEASES, INCIDENTS, previous)
    assert before.deployments == 1 and before.lead_time_hours.median == pytest.approx(24.0)
    assert trend("deploys_per_week", 1.0, 0.25) == "better"
    assert trend("lead_time", 42.0, 24.0) == "worse"
    assert trend("change_failure_rate", 0.5, None) == ""
    assert trend("recovery_time", 1.0, 1.0) == "same"


def test_a_period_without_data_is_an_honest_empty_report() -> None:
    metrics = compute(RELEASES, INCIDENTS, Period(at(1, month=1), at(1, month=2)))
    document = metrics.to_json()
    assert metrics.empty and document["deployments"] == 0 and document["deploys_per_week"] == 0.0
    assert document["change_failure_rate"] is None and document["lead_time_hours"] == {"median": None, "p90": None}
    assert document["recovery_time_hours"] == {"median": None, "count": 0, "unfinished": 0}
    assert document["updates_on_time_rate"] is None
    json.dumps(document, allow_nan=False)  # never NaN
    nothing = compute([], [], Period(None, UNTIL))  # "all" over an empty database
    assert nothing.since is None and nothing.deploys_per_week is None and nothing.weekly == []
    json.dumps(nothing.to_json(), allow_nan=False)


def test_all_starts_at_the_first_record() -> None:
    metrics = compute(RELEASES, INCIDENTS, Period(None, UNTIL))
    assert metrics.since == at(1, month=10)  # INC-6 started first
    assert metrics.deployments == 5


def test_json_shape() -> None:
    document = compute(RELEASES, INCIDENTS, Period(SINCE, UNTIL)).to_json()
    assert list(document) == ["since", "until", "deployments", "deploys_per_week", "lead_time_hours",
                              "change_failure_rate", "recovery_time_hours", "incidents", "updates_on_time_rate", "weekly"]
    assert document["since"] == "2026-11-02T00:00:00+00:00"
    assert document["incidents"]["P1"] == {"count": 3, "mtta_minutes": {"median": 15.0, "mean": 20.0, "missing": 0},
                                           "mttr_minutes": {"median": 120.0, "mean": 120.0, "missing": 1}}


def test_percentile_edges() -> None:
    assert percentile([], 0.9) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0], 0.5) == 1.5


def test_every_definition_is_written_once() -> None:
    names = [name for name, _ in DEFINITIONS]
    assert len(names) == len(set(names)) == 7


def test_the_readme_states_the_same_definitions() -> None:
    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name, text in DEFINITIONS:
        assert f"- **{name}**: {text}" in readme
