"""Rollback and hotfix pick from the record (issue 28): the incident the release is linked to, the release
production ran before by deployment history (never one implicated in an open incident), and a hotfix form
that asks when nothing is in production."""

from __future__ import annotations

import pytest

from octotui.domain.deployments import Deployment, in_production, known_good_before
from octotui.services.deployments import known_good
from octotui.services.workspace import RunRef
from octotui.ui.flows import release_form, start_rollback_flow
from octotui.ui.forms import FormScreen


def shipped(workspace, clock, version, **fields):
    release = workspace.create_release(version=version, title=f"Release {version}", **fields)
    for index in range(6):
        workspace.change_item(RunRef("release", release.id, "gate"), index, "toggle")
    for index in range(4):
        workspace.change_item(RunRef("release", release.id, "deployment"), index, "toggle")
    clock.advance(minutes=10)
    return workspace.release(release.id)


@pytest.mark.both_backends
def test_known_good_is_what_production_ran_before_and_skips_the_implicated(workspace, clock):
    older = shipped(workspace, clock, "2.3.0")
    suspect = shipped(workspace, clock, "2.4.0")
    incident = workspace.start_incident("Checkout errors after 2.4.0", "P1", release_id=suspect.id)
    hotfix = shipped(workspace, clock, "2.4.1")
    found = known_good(workspace, hotfix)
    assert found.release is not None and found.release.id == older.id, "not 2.4.0, which the open INC-1 is about"
    assert found.skipped == [f"REL-{suspect.id} 2.4.0 skipped: linked to open INC-{incident.id}"]
    assert workspace.last_known_good(hotfix).id == older.id


def test_known_good_follows_deployment_order_not_version_order():
    from datetime import UTC, datetime

    at = lambda hour: datetime(2026, 11, 26, hour, tzinfo=UTC)  # noqa: E731
    history = [Deployment(1, "2.5.0", at(9), True), Deployment(2, "2.4.3", at(10), True),
               Deployment(3, "2.6.0", at(11), True)]
    chosen, skipped = known_good_before(history, 3, at(11))
    assert chosen is not None and chosen.version == "2.4.3" and skipped == []
    assert in_production(history).version == "2.6.0"
    assert in_production(history[:2]).version == "2.4.3", "the last to reach production, not the highest"


async def test_rollback_defaults_to_the_incident_the_release_is_linked_to(workspace, make_app, clock):
    release = shipped(workspace, clock, "2.4.0")
    first = workspace.start_incident("Checkout errors", "P1", release_id=release.id)
    second = workspace.start_incident("Search slow", "P2")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.active_incident_id = second.id
        start_rollback_flow(app, workspace.release(release.id))
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert app.screen.values()["incident"] == str(first.id), "the linked incident, not the active one"
        await pilot.press(*"5xx", "enter")
        await pilot.pause()
    assert workspace.release(release.id).run_incidents["rollback"] == first.id


async def test_rollback_with_no_link_and_no_active_incident_asks(workspace, make_app, clock):
    release = shipped(workspace, clock, "2.4.0")
    workspace.start_incident("Search slow", "P2")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.active_incident_id = None
        start_rollback_flow(app, workspace.release(release.id))
        await pilot.pause()
        await pilot.press(*"5xx", "enter")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen), "not filed on an incident nobody chose"
        assert "rollback" not in workspace.release(release.id).runs


def test_hotfix_base_is_production_by_history_and_nothing_live_means_ask(workspace, clock, make_app):
    first = shipped(workspace, clock, "2.4.0")
    version, why = workspace.suggest_hotfix_version()
    assert version == "2.4.1" and "next patch of 2.4.0" in why
    breaking = shipped(workspace, clock, "3.0.0")
    for release in (first, breaking):
        workspace.start_rollback(release.id, "5xx")
    version, why = workspace.suggest_hotfix_version()
    assert version == "" and "nothing is in production" in why, "never a patch of an unreleased 3.0.0"


async def test_the_hotfix_form_asks_for_a_version_when_nothing_is_in_production(workspace, make_app, clock):
    release = shipped(workspace, clock, "3.0.0")
    workspace.start_rollback(release.id, "5xx")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app.push_screen(release_form(app, hotfix=True, title_prefill="Fix checkout"))
        await pilot.pause()
        assert app.screen.values()["version"] == ""
        assert "which version does this hotfix patch?" in str(app.screen.query_one(".form-label").render())
