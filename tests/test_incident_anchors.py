"""Timed items follow their anchors (issue 28): a window item is not checked before the item that starts it
without a yes, and then it is recorded as checked before its start."""

from __future__ import annotations

import pytest

from octotui.domain.inputs import NeedsConfirmation
from octotui.services.workspace import RunRef


def hotfix_run(workspace):
    release = workspace.create_release(version="2.4.1", title="Fix checkout", hotfix=True)
    ref = RunRef("release", release.id, "hotfix")
    items = workspace.run(ref).items
    verify = next(i for i, item in enumerate(items) if item.text.startswith("Verify fix in production"))
    assert items[verify - 1].text.startswith("Deploy to production with monitoring")
    return release, ref, verify


@pytest.mark.both_backends
def test_a_window_item_before_its_anchor_asks_and_is_recorded_before_its_start(workspace, clock):
    release, ref, verify = hotfix_run(workspace)
    with pytest.raises(NeedsConfirmation, match="starts when “Deploy to production with monitoring” is checked"):
        workspace.change_item(ref, verify, "toggle")
    assert not workspace.run(ref).items[verify].settled, "nothing checked while asking"
    run = workspace.change_item(ref, verify, "toggle", confirm=True)
    item = run.items[verify]
    assert item.settled and item.before_start and not item.early
    assert run.history[-1].after.before_start


@pytest.mark.both_backends
def test_the_timeline_of_the_incident_it_serves_says_before_its_start(workspace, clock):
    incident = workspace.start_incident("Checkout errors", "P1")
    release, ref, verify = hotfix_run(workspace)
    workspace.link_release(incident.id, release.id)
    workspace.change_item(ref, verify, "toggle", confirm=True)
    texts = [e.text for e in workspace.incident(incident.id).timeline if e.kind == "checklist"]
    assert any("Verify fix in production" in text and text.endswith("(before its start)") for text in texts)
