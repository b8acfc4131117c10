"""One command, one unit of work: all records change together or none does; rules hold across processes;
history is appended in small records; another process's change is read, and parsed, alone."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from octotui.domain.models import Decision, Incident, Release, Severity
from octotui.domain.refs import ChangeNotice, RecordRef
from octotui.services import view
from octotui.services.records import bulk_adapter
from octotui.services.workspace import RunRef, Workspace
from octotui.storage.file_store import SCHEMA_VERSION, Store, StoreWriteFailed, read_tables

pytestmark = pytest.mark.both_backends  # the service suite runs on both backends


@pytest.fixture
def parsed(monkeypatch) -> list[tuple[str, int]]:
    """Every record the workspace parses, as (table, id)."""
    seen: list[tuple[str, int]] = []
    original = Workspace._parse

    def counting(self, table, record_id, doc):
        seen.append((table, record_id))
        return original(self, table, record_id, doc)

    monkeypatch.setattr(Workspace, "_parse", counting)
    return seen


def _snapshot(workspace: Workspace) -> dict:
    return json.loads(json.dumps(read_tables(workspace.store.path), sort_keys=True))


def _view(workspace: Workspace) -> tuple:
    return ([workspace.release(r.id).model_dump(mode="json") for r in workspace.releases()],
            [i.model_dump(mode="json") for i in workspace.incidents()],
            [d.model_dump(mode="json") for d in workspace.decisions_newest_first()])


def _prepared(workspace: Workspace) -> Workspace:
    release = workspace.create_release(version="2.4.0", title="Saved carts")
    for role, count in (("gate", 6), ("deployment", 4)):
        for index in range(count):
            workspace.change_item(RunRef("release", release.id, role), index, "toggle")
    workspace.start_incident("Checkout errors", Severity.P1, release_id=release.id)
    workspace.start_incident("Unrelated", Severity.P2)
    workspace.record_decision(title="old", decision="old way")
    return workspace


MULTI_RECORD_COMMANDS = {
    "create_release (hotfix linked to an incident)": lambda ws: ws.create_release(
        version="2.4.1", title="Fix", hotfix=True, incident_id=2),
    "record_decision (links a release and an incident)": lambda ws: ws.record_decision(
        title="Roll forward", decision="Ship 2.4.1", links="REL-1, INC-2"),
    "start_rollback (release and its incidents' timelines)": lambda ws: ws.start_rollback(1, "5xx after deploy"),
    "start_incident (linked to a release)": lambda ws: ws.start_incident("Slow search", Severity.P2, release_id=1),
    "supersede (new and old decision)": lambda ws: ws.supersede(1, title="new", decision="new way"),
    "change_item (release run and its incident's timeline)": lambda ws: ws.change_item(
        RunRef("release", 1, "deployment"), 4, "toggle", confirm=True),
}


@pytest.mark.file_only  # the file's own journal
@pytest.mark.parametrize("command", MULTI_RECORD_COMMANDS.values(), ids=MULTI_RECORD_COMMANDS.keys())
def test_a_failed_commit_leaves_every_record_as_it_was(workspace, command):
    """Fail the 1st, 2nd, ... write of the command until it needs no more: after each failure nothing changed,
    on disk, in this workspace, or for a fresh reader."""
    _prepared(workspace)
    before_disk, before_view = _snapshot(workspace), _view(workspace)
    for failing_write in range(1, 6):
        calls = {"n": 0}

        def disk_full(failing_write=failing_write, calls=calls) -> None:
            calls["n"] += 1
            if calls["n"] == failing_write:
                raise OSError(errno.ENOSPC, "No space left on device")

        workspace.store.before_commit = disk_full
        try:
            command(workspace)
        except StoreWriteFailed as error:
            assert "the previous file is intact" in error.message
            assert _snapshot(workspace) == before_disk, f"write {failing_write} failed but something was saved"
            assert _view(workspace) == before_view
            fresh = Workspace(Store(workspace.store.path), workspace.playbook, clock=workspace.clock)
            assert _view(fresh) == before_view
            continue
        assert calls["n"] == 1, "a command is one write"
        break
    else:
        pytest.fail("the command never succeeded")
    assert _snapshot(workspace) != before_disk


def test_create_release_linked_to_an_incident_changes_both_at_once(workspace):
    incident = workspace.start_incident("Checkout errors")
    release = workspace.create_release(version="1.0.1", title="fix", hotfix=True, incident_id=incident.id)
    assert workspace.incident(incident.id).release_ids == [release.id]
    assert workspace.release(release.id).incident_ids == [incident.id]


_CREATE = """
import sys, time
from pathlib import Path
from octotui.domain.playbook import load_playbook
from octotui.services.workspace import InputError, Workspace
from octotui.storage.file_store import Store
path, go = sys.argv[1], Path(sys.argv[2])
workspace = Workspace(Store(path), load_playbook(), author=sys.argv[3])
while not go.exists():
    time.sleep(0.001)
try:
    workspace.create_release(version="2.4.0", title=sys.argv[3])
    print("created")
except InputError as error:
    print("refused", error.errors["version"])
"""


def test_two_processes_creating_the_same_version_exactly_one_succeeds(tmp_path):
    for attempt in range(5):
        path, go = tmp_path / f"db{attempt}.json", tmp_path / f"go{attempt}"
        Store(path)
        processes = [subprocess.Popen([sys.executable, "-c", _CREATE, str(path), str(go), name], stdout=subprocess.PIPE,
                                      text=True) for name in ("ana", "ben")]
        go.touch()
        outcomes = sorted(process.communicate(timeout=60)[0].split()[0] for process in processes)
        assert outcomes == ["created", "refused"]
        releases = read_tables(path)["releases"]
        assert [doc["version"] for doc in releases.values()] == ["2.4.0"]


@pytest.mark.file_only  # the file's own journal
def test_a_timeline_note_appends_a_small_record_whatever_the_history(workspace):
    incident = workspace.start_incident("Busy incident")
    started_with = len(workspace.incident(incident.id).timeline)  # the start, the severity the app ticked
    for number in range(300):
        workspace.add_note(incident.id, f"note {number} " + "x" * 40)
    size = workspace.store.path.stat().st_size
    workspace.add_note(incident.id, "one more")
    grown = workspace.store.path.stat().st_size - size
    assert 0 < grown < 400, f"one note wrote {grown} bytes"
    assert len(workspace.incident(incident.id).timeline) == started_with + 301
    assert workspace.incident(incident.id).timeline[-1].text == "one more"
    doc = read_tables(workspace.store.path)["incidents"][str(incident.id)]
    assert "timeline" not in doc, "the incident record does not carry its history"


@pytest.mark.file_only  # the file's own journal
def test_a_checklist_check_does_not_rewrite_the_release_history(workspace):
    release = workspace.create_release(version="1.0.0", title="a")
    gate = RunRef("release", release.id, "gate")
    for _round in range(40):
        workspace.change_item(gate, 0, "toggle")
    doc = read_tables(workspace.store.path)["releases"]["1"]
    assert all("history" not in run for run in doc["runs"].values())
    assert len(workspace.run(gate).history) == 40


def test_a_schema_1_file_is_migrated_with_its_history_moved_to_events(tmp_path, playbook, clock):
    """Schema 1 kept timelines and checklist histories inside the records."""
    path = tmp_path / "old.json"
    legacy = Workspace(Store(tmp_path / "new.json"), playbook, clock=clock, author="tester")
    release = legacy.create_release(version="1.0.0", title="a")
    legacy.change_item(RunRef("release", release.id, "gate"), 0, "toggle")
    incident = legacy.start_incident("x", release_id=release.id)
    legacy.add_note(incident.id, "hello")
    releases = {"1": legacy.release(1).model_dump(mode="json")}
    incidents = {"1": legacy.incident(1).model_dump(mode="json")}
    path.write_text(json.dumps({"meta": {"1": {"schema": 1}}, "releases": releases, "incidents": incidents}))
    original = path.read_bytes()
    store = Store(path)
    assert store.backup_path is not None and store.backup_path.read_bytes() == original
    migrated = Workspace(store, playbook, clock=clock)
    assert [e.text for e in migrated.incident(1).timeline] == [e.text for e in legacy.incident(1).timeline]
    assert migrated.run(RunRef("release", 1, "gate")).items[0].state == "done"
    assert len(migrated.run(RunRef("release", 1, "gate")).history) == 1
    tables = read_tables(path)
    history = sum(len(run.history) for run in legacy.incident(1).runs.values()) + 1  # + the gate check
    assert tables["meta"]["1"]["schema"] == SCHEMA_VERSION
    assert len(tables["events"]) == len(legacy.incident(1).timeline) + history


def test_a_schema_2_incident_linked_to_one_release_keeps_that_link(tmp_path, playbook, clock):
    """Schema 2 linked an incident to at most one release (`release_id`); schema 3 keeps a list."""
    source = Workspace(Store(tmp_path / "new.json"), playbook, clock=clock, author="tester")
    source.create_release(version="1.0.0", title="a")
    source.start_incident("x", release_id=1)
    tables = read_tables(source.store.path)
    legacy = {**tables["incidents"]["1"], "release_id": 1}
    del legacy["release_ids"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps({**tables, "meta": {"1": {"schema": 2}}, "incidents": {"1": legacy}}))
    migrated = Workspace(Store(path), playbook, clock=clock)
    assert migrated.incident(1).release_ids == [1] and migrated.release(1).incident_ids == [1]
    assert "release_id" not in read_tables(path)["incidents"]["1"]


def test_another_process_change_is_read_and_parsed_alone(workspace, reopen, parsed):
    for number in range(30):
        workspace.create_release(version=f"1.{number}.0", title=f"r{number}")
    reader = Workspace(reopen(workspace.store), workspace.playbook, clock=workspace.clock)
    workspace.change_item(RunRef("release", 7, "gate"), 0, "toggle")
    parsed.clear()  # from here on
    assert reader.refresh() == ChangeNotice.of(RecordRef("release", 7))
    assert parsed == [("releases", 7)]
    assert reader.run(RunRef("release", 7, "gate")).items[0].state == "done"


@pytest.mark.file_only  # the file's own journal
def test_a_torn_last_record_is_ignored_then_cut_off_by_the_next_writer(workspace):
    workspace.create_release(version="1.0.0", title="a")
    with open(workspace.store.path, "ab") as handle:
        handle.write(b'\n#40 0badc0de {"releases":{"1":{"tit')  # a writer killed mid-append
    reader = Workspace(Store(workspace.store.path), workspace.playbook, clock=workspace.clock)
    assert [r.version for r in reader.releases()] == ["1.0.0"]
    assert "ignored 36 bytes after the last complete record" in (reader.store.torn_tail_note() or "")
    reader.create_release(version="1.1.0", title="b")
    assert sorted(doc["version"] for doc in read_tables(workspace.store.path)["releases"].values()) == ["1.0.0", "1.1.0"]
    assert b"0badc0de" not in workspace.store.path.read_bytes()


def test_the_journal_is_compacted_into_a_snapshot_when_it_outgrows_it(tmp_path, playbook, clock):
    workspace = Workspace(Store(tmp_path / "small.json", compact_min_journal_bytes=2000), playbook, clock=clock)
    incident = workspace.start_incident("x")
    started_with = len(workspace.incident(incident.id).timeline)
    for number in range(60):
        workspace.add_note(incident.id, f"note {number}")
    # (Not the inode: ext4 hands a freed inode number to the next new file, so two compactions can
    # bring the first number back.) Fewer journal records than notes: the journal went into a snapshot.
    raw = workspace.store.path.read_bytes()
    assert raw.count(b"\n#") < 60
    fresh = Workspace(Store(workspace.store.path), workspace.playbook, clock=workspace.clock)
    assert len(fresh.incident(incident.id).timeline) == started_with + 60


@pytest.mark.file_only  # the file's own journal
def test_records_keep_their_types_through_the_seam(workspace):
    incident = workspace.start_incident("x")
    assert isinstance(workspace.incident(incident.id), Incident)
    release = workspace.create_release(version="1.0.0", title="a")
    assert isinstance(workspace.release(release.id), Release)
    assert Path(workspace.store.location) == workspace.store.path


def test_loading_the_demo_never_moves_the_workspace_clock(workspace, clock, monkeypatch):
    from octotui.services import demo

    seen = []
    original = demo._replay

    def spy(replay, replay_clock, end):
        seen.append((workspace.now(), workspace.author))
        original(replay, replay_clock, end)
        seen.append((workspace.now(), workspace.author))

    monkeypatch.setattr(demo, "_replay", spy)
    demo.load_demo(workspace)
    assert seen == [(clock.now(), "tester")] * 2
    # Eight releases of the replay and thirty of the history before it (services.demo_history).
    assert len(workspace.releases()) == 38 and workspace.open_incidents(), "the app's workspace took in the replay"


def test_another_process_note_extends_the_timeline_without_rereading_the_incident(workspace, reopen, parsed):
    incident = workspace.start_incident("Busy")
    started_with = len(workspace.incident(incident.id).timeline)
    for number in range(20):
        workspace.add_note(incident.id, f"note {number}")
    reader = Workspace(reopen(workspace.store), workspace.playbook, clock=workspace.clock)
    workspace.add_note(incident.id, "from elsewhere")
    parsed.clear()  # from here on
    assert reader.refresh() == ChangeNotice.of(RecordRef("incident", 1))
    assert parsed == [], "only the new event was parsed"
    texts = [event.text for event in reader.incident(incident.id).timeline]
    assert texts[-1] == "from elsewhere" and len(texts) == started_with + 21
    assert reader.incident(incident.id).title == "Busy"


def test_start_up_parses_open_incidents_only_and_the_rest_on_first_need(workspace, reopen, parsed):
    for number in range(6):
        incident = workspace.start_incident(f"old {number}", Severity.P2)
        workspace.add_note(incident.id, "fixed")
        workspace.set_status(incident.id, "Resolved", confirm=True)
    live = workspace.start_incident("live", Severity.P1)
    parsed.clear()  # from here on
    started = Workspace(reopen(workspace.store), workspace.playbook, clock=workspace.clock)
    assert [n for table, n in parsed if table == "incidents"] == [live.id]
    assert [i.id for i in started.open_incidents()] == [live.id], "the status line never waits for the rest"
    assert started.incident(3).title == "old 2" and len(started.incident(3).timeline) > 2, "asked for: parsed"
    assert [i.title for i in started.incidents()] == ["live"] + [f"old {n}" for n in reversed(range(6))]
    assert sorted(n for table, n in parsed if table == "incidents") == list(range(1, 8))
    started.validate_all()
    assert started.drain_changed().records >= {RecordRef("incident", n) for n in range(1, 7)}, "screens are told the rest arrived"


def test_a_whole_table_is_validated_a_slice_at_a_time(workspace, monkeypatch):
    """One bulk call holds the GIL throughout: parsing 27k decisions in the worker froze the event loop ~0.3 s."""
    for number in range(25):
        workspace.record_decision(title=f"d{number}", decision="go")
    monkeypatch.setattr(view, "BULK_SLICE", 10, raising=False)
    sizes: list[int] = []
    adapter = bulk_adapter(Decision)
    original = adapter.validate_python

    def counting(docs, *args, **kwargs):
        sizes.append(len(docs))
        return original(docs, *args, **kwargs)

    monkeypatch.setattr(adapter, "validate_python", counting)
    reader = Workspace(workspace.store, workspace.playbook, clock=workspace.clock)
    assert [reader.decision(n).title for n in range(1, 26)] == [f"d{n}" for n in range(25)]
    assert sizes == [10, 10, 5]
