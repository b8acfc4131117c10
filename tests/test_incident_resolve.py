"""An honest resolve (issue 28): everything unfinished is listed, Enter never confirms, and resolving never
fills a milestone nobody recorded."""

from __future__ import annotations

import pytest

from octotui.comms.templates import render
from octotui.domain.inputs import NeedsConfirmation
from octotui.domain.models import IncidentStatus
from octotui.services.workspace import RunRef
from octotui.ui.forms import ChoiceScreen, ConfirmScreen


def shipped(workspace, version="2.4.0"):
    release = workspace.create_release(version=version, title="Saved carts")
    for index in range(6):
        workspace.change_item(RunRef("release", release.id, "gate"), index, "toggle")
    for index in range(4):
        workspace.change_item(RunRef("release", release.id, "deployment"), index, "toggle")
    return release


@pytest.mark.both_backends
def test_the_resolve_question_lists_everything_unfinished(workspace, clock):
    release = shipped(workspace)
    incident = workspace.start_incident("Checkout errors", "P1")
    workspace.start_rollback(release.id, "5xx", incident_id=incident.id)
    clock.advance(minutes=45)  # the first update (due 12:30) never went out
    with pytest.raises(NeedsConfirmation) as asked:
        workspace.set_status(incident.id, "Resolved")
    question = str(asked.value)
    assert question.startswith("Resolve INC-1? Still unfinished:\n")
    for concern in ("REL-1's Rollback Checklist is unfinished (0/7 done)",
                    "the update promised by 12:30 UTC is overdue", "nobody acknowledged it",
                    "no status update was ever sent", "no mitigation time is recorded", "escalation items are open"):
        assert concern in question, concern
    assert workspace.incident(incident.id).open, "nothing changed while asking"


@pytest.mark.both_backends
def test_resolving_never_fills_milestones_nobody_recorded(workspace, clock, templates):
    incident = workspace.start_incident("Checkout errors", "P1")
    clock.advance(minutes=15)
    saved = workspace.set_status(incident.id, "Resolved", confirm=True)
    assert saved.status is IncidentStatus.RESOLVED and saved.resolved_at == clock.now()
    assert saved.acknowledged_at is None and saved.mitigated_at is None
    postmortem = render(templates["postmortem"], saved, workspace).text
    assert "| Acknowledged | not acknowledged | not acknowledged |" in postmortem
    assert "Time to acknowledge: not acknowledged · to mitigate: not recorded" in postmortem
    assert "15 min" not in postmortem.split("Time to acknowledge:")[1].split("·")[0]


@pytest.mark.both_backends
def test_resolving_while_an_update_is_overdue_records_the_missed_promise(workspace, clock):
    incident = workspace.start_incident("Checkout errors", "P1")
    workspace.acknowledge(incident.id)
    clock.advance(minutes=40)
    saved = workspace.set_status(incident.id, "Resolved", confirm=True)
    assert [e.text for e in saved.timeline if e.kind == "promise"] == [
        "Update promised by 12:30 UTC missed (resolved without it)"]


async def test_enter_never_confirms_a_resolve(workspace, make_app, clock):
    release = shipped(workspace)
    incident = workspace.start_incident("Checkout errors", "P1")
    workspace.start_rollback(release.id, "5xx", incident_id=incident.id)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "s")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("end", "enter")  # Resolved
        assert isinstance(app.screen, ConfirmScreen)
        assert "Rollback Checklist is unfinished" in str(app.screen.question)
        assert app.screen.focused.id == "no"
        await pilot.press("enter")
        await pilot.pause()
        assert workspace.incident(incident.id).open, "Enter pressed Cancel"
        await pilot.press("s", "end", "enter", "y")  # an explicit yes still resolves
        await pilot.pause()
        assert not workspace.incident(incident.id).open
