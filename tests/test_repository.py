"""The storage seam's contract, on every backend: what the services rely on from a Repository, whatever
stores it. Backend-specific behaviour (the file's journal, PostgreSQL's roles) is tested beside each backend."""

from __future__ import annotations

import pytest

from octotui.storage.base import EVENTS, META
from octotui.storage.errors import StoreNotEmpty

pytestmark = pytest.mark.both_backends


def test_a_unit_of_work_commits_documents_and_events_together(store, reopen):
    with store.unit_of_work() as uow:
        first = uow.reserve_id("releases")
        second = uow.reserve_id("releases")
        assert second == first + 1, "ids reserved in one unit of work are distinct"
        uow.put("releases", first, {"id": first, "version": "1.0.0"})
        uow.put_many("releases", {second: {"id": second, "version": "1.1.0"}})
        assert uow.get("releases", first) == {"id": first, "version": "1.0.0"}, "reads see the staged writes"
        a = uow.append_event(f"REL-{first}", "gate", {"action": "check", "index": 0})
        b = uow.append_event(f"REL-{first}", "gate", {"action": "check", "index": 1})
        uow.append_event(f"REL-{first}", "deployment", {"action": "check", "index": 0})
        assert [doc["index"] for _id, doc in uow.events(f"REL-{first}", "gate")] == [0, 1]
    assert b > a
    for reader in (store.snapshot, reopen(store).snapshot):
        assert set(reader.all("releases")) == {first, second}
        gate = reader.events(f"REL-{first}", "gate")
        assert [event_id for event_id, _doc in gate] == [a, b]
        assert gate[0][1] == {"owner": f"REL-{first}", "stream": "gate", "action": "check", "index": 0}
        assert len(reader.events(f"REL-{first}")) == 3 and reader.events("REL-99") == []


def test_an_exception_inside_a_unit_of_work_writes_nothing(store, reopen):
    with store.unit_of_work() as uow:
        uow.put("incidents", 1, {"id": 1, "title": "kept"})
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.put("incidents", 1, {"id": 1, "title": "changed"})
        uow.put("decisions", 1, {"id": 1, "title": "new"})
        uow.append_event("INC-1", "timeline", {"text": "never"})
        raise RuntimeError("a rule failed half-way")
    for reader in (store.snapshot, reopen(store).snapshot):
        assert reader.get("incidents", 1) == {"id": 1, "title": "kept"}
        assert reader.all("decisions") == {} and reader.events("INC-1") == []


def test_another_stores_changes_are_read_and_named(store, reopen):
    other = reopen(store)
    generation = store.generation
    with other.unit_of_work() as uow:
        uow.put("releases", 7, {"id": 7, "version": "7.0.0"})
        uow.append_event("REL-7", "gate", {"action": "check"})
    store.refresh()
    changes, now = store.changes_since(generation)
    assert changes.ids["releases"] == {7} and len(changes.ids[EVENTS]) == 1 and not changes.everything
    assert now > generation and store.snapshot.get("releases", 7) == {"id": 7, "version": "7.0.0"}
    assert not store.refresh(), "nothing new: nothing changed"


def test_export_and_import_keep_every_id(store, reopen):
    with store.unit_of_work() as uow:
        uow.put("releases", 3, {"id": 3, "version": "3.0.0"})
        uow.put("incidents", 5, {"id": 5, "title": "x", "release_ids": [3]})
        uow.append_event("INC-5", "timeline", {"text": "hello"})
    tables = store.export_tables()
    assert tables["releases"] == {3: {"id": 3, "version": "3.0.0"}} and len(tables[EVENTS]) == 1
    with pytest.raises(StoreNotEmpty, match="already holds"):
        store.import_tables(tables)
    store.import_tables({**tables, "releases": {3: {"id": 3, "version": "3.0.1"}}}, replace=True)
    again = reopen(store).export_tables()
    assert again["releases"] == {3: {"id": 3, "version": "3.0.1"}}
    assert again[EVENTS] == tables[EVENTS] and again["incidents"] == tables["incidents"]
    assert again[META][1] == {"schema": 3}, "the document schema is marked"
