"""What a session keeps in memory on a large file: the board's rows, the open incidents and the releases last
opened; never every record the file holds. Counted (live models, tables parsed), not timed."""

import gc
import shutil

import pytest

from octotui.domain.models import ChecklistEvent, Decision, Incident, ItemState, Release, TimelineEvent
from octotui.services.bulk import generate
from octotui.services.workspace import MODELS_KEPT, RunRef, Workspace
from octotui.storage.file_store import Store

UNPARSED = {"releases", "incidents", "events", "decisions"}


def _alive(kind: type) -> set[int]:
    gc.unfreeze()  # what the app froze (services/heap.py) is alive all the same: counted too
    gc.collect()
    return {id(thing) for thing in gc.get_objects() if isinstance(thing, kind)}


class _Born:
    """The models made since it was created and still alive (other tests' leftovers are not counted)."""

    def __init__(self) -> None:
        self.kinds = (Release, Decision, Incident, ChecklistEvent, TimelineEvent)
        self.before = {kind: _alive(kind) for kind in self.kinds}

    def __call__(self, kind: type) -> int:
        return len(_alive(kind) - self.before[kind])


@pytest.fixture(scope="module")
def large_file(tmp_path_factory, playbook):
    """About 3,000 records (150 releases with their histories, 150 incidents, 2,700 decisions), compacted."""
    path = tmp_path_factory.mktemp("large") / "large.json"
    store = Store(path)
    generate(Workspace(store, playbook, author="gen"), 3000)
    store.compact()
    return path


@pytest.fixture
def opened(large_file, tmp_path, playbook, clock):
    path = tmp_path / "copy.json"
    shutil.copy(large_file, path)
    return Workspace(Store(path), playbook, clock=clock, author="tester")


def test_after_the_check_only_the_board_is_held(large_file, tmp_path, playbook, clock):
    """The check after start-up reads every record and keeps none of them (it kept them all: 8x the file)."""
    path = tmp_path / "copy.json"
    shutil.copy(large_file, path)
    born = _Born()
    opened = Workspace(Store(path), playbook, clock=clock, author="tester")
    opened.validate_all()
    assert len(opened.board_rows()) == 150
    assert born(Release) == 0 and born(Decision) == 0
    assert born(Incident) == len(opened.open_incidents())
    assert born(ChecklistEvent) + born(TimelineEvent) == sum(len(i.timeline) for i in opened.open_incidents())
    assert opened.store.unread_tables() == UNPARSED, "checked from the file's text, not kept parsed"


def test_opening_releases_keeps_only_the_last_few(opened):
    born = _Born()
    rows = opened.board_rows()
    for row in rows:
        release = opened.release(row.id)
        assert release is not None and release.version == row.version
    assert born(Release) == MODELS_KEPT < len(rows)
    first = opened.release(rows[0].id)  # read again, with its history
    assert first is not None and sum(len(run.history) for run in first.runs.values()) == len(
        opened.store.snapshot.events(first.key))
    assert opened.release(rows[0].id) is first, "asked again: the one kept"


def test_a_checklist_toggle_reads_only_what_it_changes(opened, playbook):
    row = next(row for row in opened.board_rows() if row.done < row.total)
    release = opened.release(row.id)
    assert release is not None
    role, index = next((role, n) for role in release.run_order()
                       for n, item in enumerate(release.runs[role].items) if not item.settled)
    history = len(release.runs[role].history)
    opened.change_item(RunRef("release", row.id, role), index, "toggle")
    assert {"incidents", "events", "decisions"} <= opened.store.unread_tables()
    assert opened.row(row.id) is not row and opened.row(row.id).done == row.done + 1
    changed = opened.release(row.id)
    assert changed is not None and changed.runs[role].items[index].state is ItemState.DONE
    assert len(changed.runs[role].history) == history + 1

    again = Workspace(Store(opened.store.path), playbook, author="reader").release(row.id)
    assert again is not None and again.model_dump() == changed.model_dump(), "as saved, read back by a new start"


def test_a_past_incident_is_read_alone(opened):
    """Showing one resolved incident parsed every incident with its timeline (a second's freeze at 50k records,
    on the UI thread); it is read alone, from its place in the file, with its slice of the history."""
    born = _Born()
    past = opened.incident(1)
    assert past is not None and not past.open
    assert len(past.timeline) == len(opened.store.snapshot.events("INC-1", "timeline")) > 0
    newest = opened.newest_incident()
    assert newest is not None and (newest.open or newest.id == opened.store.snapshot.last_id("incidents"))
    assert born(Incident) <= 2 + len(opened.open_incidents())
    assert {"incidents", "events"} <= opened.store.unread_tables()
    assert opened.incident(1) is past, "asked again: the one kept"


async def test_the_incident_screen_and_a_new_incident_parse_no_other_incident(opened, make_app):
    born = _Born()
    app = make_app(opened)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("3")
        await pilot.press("i")
        await pilot.press(*"Checkout returns 500", "enter")
        await app.commands.wait_idle()
        await pilot.pause()
        assert any(incident.title == "Checkout returns 500" for incident in opened.open_incidents())
        assert born(Incident) <= 4 + len(opened.open_incidents()), "the ones shown, not every incident"


async def test_the_decision_log_reads_decisions_off_the_loop(opened, make_app, monkeypatch):
    """Listing years of decisions parses them all (2 s at 45,000 on this machine): in the worker, with a line
    saying so meanwhile, not as a frozen screen."""
    import threading

    from octotui.services.workspace import Workspace as Parsing

    threads = []
    validate = Parsing.validate
    monkeypatch.setattr(Parsing, "validate", lambda self, *models: threads.append(threading.current_thread())
                        or validate(self, *models))
    app = make_app(opened)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4")
        screen = app.screen_stack[0]
        assert "2,700 of 2,700 decisions" in str(screen.query_one("#decision-filters").render())
        assert screen.query_one("#decisions").row_count > 0
        assert threads and threading.main_thread() not in threads, "parsed in the worker, never on the loop"
