"""The facts the metrics read, through the storage seam: the same numbers on a file and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import FROZEN_AT

from octotui.domain.metrics import Period
from octotui.domain.models import Severity
from octotui.services.reports import build_report, gather
from octotui.services.workspace import RunRef, Workspace

pytestmark = pytest.mark.both_backends


def test_the_small_demo_gives_the_same_numbers_on_either_backend(demo_workspace: Workspace) -> None:
    report = build_report(demo_workspace.store.snapshot, demo_workspace.settings, Period.last_days(3, FROZEN_AT))
    metrics = report.metrics.to_json()
    # The demo's last three days: 2.3.0, 2.4.0 and 2.2.1 reached Production; 2.2.1 was rolled back and INC-1
    # started after 2.4.0 shipped (linked): two of three failed. INC-1 (P1) was acknowledged after 9 minutes,
    # mitigated after 54 minutes and is not resolved; both its updates went out within the 30-minute cadence.
    assert metrics["deployments"] == 3
    assert metrics["change_failure_rate"] == pytest.approx(0.6667)
    assert metrics["recovery_time_hours"] == {"median": 0.9, "count": 1, "unfinished": 0}
    assert metrics["incidents"]["P1"]["count"] == 1
    assert metrics["incidents"]["P1"]["mtta_minutes"] == {"median": 9.0, "mean": 9.0, "missing": 0}
    assert metrics["incidents"]["P1"]["mttr_minutes"] == {"median": None, "mean": None, "missing": 1}
    assert metrics["updates_on_time_rate"] == 1.0
    assert metrics["weekly"] == [{"week": "2026-W48", "deployments": 3, "failures": 2}]
    assert report.previous is not None and report.previous.deployments == 0  # the history's last week shipped earlier


def test_the_same_records_give_the_same_report_on_a_file_and_on_postgresql(tmp_path, pg_url, playbook) -> None:
    from octotui.domain.clock import FrozenClock
    from octotui.services.demo import load_demo
    from octotui.storage.file_store import Store
    from octotui.storage.postgres_store import PostgresStore

    reports = []
    for store in (Store(tmp_path / "file.json"), PostgresStore(pg_url)):
        workspace = Workspace(store, playbook, clock=FrozenClock(FROZEN_AT), author="maria")
        load_demo(workspace)
        reports.append([build_report(store.snapshot, workspace.settings, period).metrics.to_json()
                        for period in (Period.last_days(90, FROZEN_AT), Period(None, FROZEN_AT))])
        store.close()
    assert reports[0] == reports[1]
    assert reports[0][0]["deployments"] == 22 and reports[0][1]["deployments"] == 33  # twenty weeks and three days


def test_production_is_its_first_arrival_and_a_rollback_is_when_it_began(workspace: Workspace, clock) -> None:
    release = workspace.create_release(version="9.0.0", title="x", type="major")
    for index in range(6):
        workspace.change_item(RunRef("release", release.id, "gate"), index, "toggle", confirm=True)
    deployment = RunRef("release", release.id, "deployment")
    production = next(i for i, item in enumerate(workspace.release(release.id).runs["deployment"].items)
                      if item.stage == "production")
    for index in range(production + 1):
        clock.advance(minutes=10)
        workspace.change_item(deployment, index, "toggle", confirm=True)
    first = clock.now()
    clock.advance(hours=1)
    workspace.change_item(deployment, production, "toggle", confirm=True)  # unchecked by mistake...
    clock.advance(hours=1)
    workspace.change_item(deployment, production, "toggle", confirm=True)  # ...and checked again
    clock.advance(hours=1)
    workspace.start_rollback(release.id, "errors")
    (facts,), _ = gather(workspace.store.snapshot, workspace.settings)
    assert facts.production_at == first
    assert facts.rolled_back_at == clock.now()


def test_update_due_times_follow_the_cadence_after_the_previous_update(workspace: Workspace, clock) -> None:
    incident = workspace.start_incident("Search down", Severity.P0)  # P0: every 15 minutes
    clock.advance(minutes=10)
    workspace.record_sent(incident.id, "Incident initial notification", counts_as_update=True)
    clock.advance(minutes=20)  # 5 minutes late
    workspace.record_sent(incident.id, "Incident status update", counts_as_update=True)
    _, (facts,) = gather(workspace.store.snapshot, workspace.settings)
    start = facts.started_at
    assert [(u.at - start, u.due_at - start) for u in facts.updates if u.due_at] == [
        (timedelta(minutes=10), timedelta(minutes=15)), (timedelta(minutes=30), timedelta(minutes=25))]
    report = build_report(workspace.store.snapshot, workspace.settings,
                          Period.last_days(90, clock.now() + timedelta(minutes=1)))
    assert report.metrics.updates_on_time_rate == 0.5


def test_a_kept_cache_reads_again_only_what_changed_and_answers_the_same(demo_workspace: Workspace, clock) -> None:
    from octotui.services.reports import FactsCache

    store, settings = demo_workspace.store, demo_workspace.settings
    period = Period.last_days(90, FROZEN_AT + timedelta(hours=1))
    cache = FactsCache()
    cache.catch_up(store)
    first = build_report(store.snapshot, settings, period, cache=cache)
    read_first = cache.reads
    assert read_first > 30  # the shipped releases and every incident
    cache.catch_up(store)
    again = build_report(store.snapshot, settings, period, cache=cache)
    assert cache.reads == read_first and again == first  # nothing changed: nothing read
    clock.advance(minutes=5)
    demo_workspace.acknowledge(demo_workspace.start_incident("Login fails", "P0").id)  # one new incident
    cache.catch_up(store)
    changed = build_report(store.snapshot, settings, period, cache=cache)
    assert cache.reads == read_first + 1
    assert changed == build_report(store.snapshot, settings, period)  # the same as reading everything afresh
    assert changed.metrics.incidents["P0"][0] == first.metrics.incidents["P0"][0] + 1


def test_a_longer_period_reads_the_histories_it_needs_and_no_document_again(demo_workspace: Workspace) -> None:
    from octotui.services.reports import FactsCache

    store, settings = demo_workspace.store, demo_workspace.settings
    cache = FactsCache()
    cache.catch_up(store)
    recent = build_report(store.snapshot, settings, Period.last_days(3, FROZEN_AT), cache=cache)
    documents, histories = cache.reads, cache.history_reads
    assert documents > 30 and histories < documents  # histories only where the last 6 days can need them
    everything = build_report(store.snapshot, settings, Period.last_days(None, FROZEN_AT), cache=cache)
    assert cache.reads == documents and cache.history_reads > histories  # the documents are not read again
    assert everything == build_report(store.snapshot, settings, Period.last_days(None, FROZEN_AT))  # as afresh
    assert recent == build_report(store.snapshot, settings, Period.last_days(3, FROZEN_AT), cache=cache)
    assert cache.reads == documents  # and a shorter one again reads nothing
