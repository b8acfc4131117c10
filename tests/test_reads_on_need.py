"""What a start leaves unread (decisions; resolved incidents and their history) is read when first needed, and
nothing written meanwhile is missed: on every backend, through the store's public seam (`unread_tables()`).
The file leaves unread what its snapshot holds, so the writer's records are compacted first (a server has
nothing to fold)."""

from __future__ import annotations

import pytest

from octotui.domain.models import Severity
from octotui.services.workspace import Workspace

pytestmark = pytest.mark.both_backends


def test_decisions_are_read_when_first_needed_and_never_missed(workspace, reopen):
    writer = workspace
    writer.record_decision(title="first", decision="a")
    writer.store.compact()
    store = reopen(writer.store)
    reader = Workspace(store, writer.playbook, clock=writer.clock, author="tester")
    assert "decisions" in store.unread_tables(), "the first screen does not read the decisions"
    writer.record_decision(title="second", decision="b")
    reader.refresh()  # while unread, their changes are not read one by one...
    assert [d.title for d in reader.decisions_newest_first()] == ["second", "first"]  # ...but whole, when asked
    assert "decisions" not in store.unread_tables()
    writer.supersede(1, title="third", decision="c")
    reader.refresh()
    assert [(d.title, d.status) for d in reader.decisions_newest_first()] == [
        ("third", "accepted"), ("second", "accepted"), ("first", "superseded")]
    assert reader.record_decision(title="fourth", decision="d").id == 4, "new ids go above the unread ones"


def test_resolved_incidents_histories_are_read_when_first_needed_in_order(workspace, reopen):
    writer = workspace
    old = writer.start_incident("old", Severity.P2)
    for number in range(3):
        writer.add_note(old.id, f"before {number}")
    writer.set_status(old.id, "Resolved", confirm=True)
    live = writer.start_incident("live", Severity.P1)
    writer.store.compact()
    store = reopen(writer.store)
    reader = Workspace(store, writer.playbook, clock=writer.clock, author="tester")
    assert set(store.snapshot.open_incidents()) == {live.id} and len(store.snapshot.events(live.key)) > 0
    assert {"incidents", "events"} <= store.unread_tables(), "a resolved incident and its history are not read"
    writer.add_note(old.id, "after the start")  # arrives through a refresh before the old history is read
    reader.refresh()
    texts = [event.text for event in reader.incident(old.id).timeline]
    notes = [text for text in texts if text.startswith(("before", "after"))]
    assert notes == ["before 0", "before 1", "before 2", "after the start"]
    assert reader.add_note(old.id, "and another").timeline[-1].text == "and another"
    event_ids = [event_id for event_id, _doc in store.snapshot.events(old.key, "timeline")]
    assert event_ids == sorted(event_ids) and len(set(event_ids)) == len(event_ids)
