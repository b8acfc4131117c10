"""The store: atomic, locked, versioned, and never overwriting what it cannot read."""

import json
import os
import random
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from tests_support import resealed

from octotui.storage.file_store import (
    SCHEMA_VERSION,
    Store,
    StoreCorrupt,
    StoreReadOnly,
    StoreTooNew,
    StoreUnavailable,
    StoreWriteFailed,
    move_aside,
    read_tables,
)
from octotui.storage.fs import temp_name

WORKER = str(Path(__file__).with_name("store_worker.py"))


def test_new_file_is_private_and_versioned(db_path):
    Store(db_path)
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    assert read_tables(db_path)["meta"]["1"]["schema"] == SCHEMA_VERSION


def test_writes_happen_only_in_transactions_and_persist(db_path):
    store = Store(db_path)
    with pytest.raises(RuntimeError):
        store.db.table("x").insert({"a": 1})
    with store.transaction() as db:
        db.table("x").insert({"a": 1})
    assert Store(db_path).table("x") == {"1": {"a": 1}}


def test_a_failed_transaction_leaves_file_and_cache_unchanged(db_path):
    store = Store(db_path)
    with store.transaction() as db:
        db.table("x").insert({"a": 1})
    before = db_path.read_bytes()
    with pytest.raises(ValueError), store.transaction() as db:
        db.table("x").update({"a": 2}, doc_ids=[1])
        raise ValueError("boom")
    assert db_path.read_bytes() == before
    assert store.table("x")["1"] == {"a": 1}


def test_two_stores_on_one_file_see_each_other_and_do_not_reuse_ids(db_path):
    first, second = Store(db_path), Store(db_path)
    with first.transaction() as db:
        assert db.table("x").insert({"by": "first"}) == 1
    with second.transaction() as db:
        assert db.table("x").insert({"by": "second"}) == 2  # TinyDB's cached next id was reset
    with first.transaction() as db:
        assert db.table("x").insert({"by": "first"}) == 3
    assert len(second.table("x")) == 3


def test_stale_temp_files_are_cleaned_at_start(db_path):
    Store(db_path)
    leftover = temp_name(db_path)
    leftover.write_text("{half")
    Store(db_path)
    assert not leftover.exists()


@pytest.mark.parametrize("content", [b"", b"{not json", b"[1, 2]", b'{"releases": [1]}', b'{"releases": {"1": 5}}',
                                     b"\xff\xfe\x00garbage"])
def test_corrupt_files_are_refused_and_never_touched(db_path, content):
    db_path.write_bytes(content)
    with pytest.raises(StoreCorrupt) as caught:
        Store(db_path)
    assert str(db_path) in str(caught.value)
    assert db_path.read_bytes() == content


def test_corrupt_message_says_where(db_path):
    db_path.write_text('{"meta": {"1": {"schema": 1}},\n "releases": {"1": {"title": "x",}}}')
    with pytest.raises(StoreCorrupt, match="line 2 column"):
        Store(db_path)


def test_move_aside_keeps_the_bad_file(db_path):
    db_path.write_text("{broken")
    moved = move_aside(db_path)
    assert moved.read_text() == "{broken" and ".corrupt-" in moved.name
    Store(db_path)  # starts fresh


def test_newer_schema_is_refused_and_left_untouched(db_path):
    content = json.dumps({"meta": {"1": {"schema": SCHEMA_VERSION + 1}}})
    db_path.write_text(content)
    with pytest.raises(StoreTooNew, match="newer octotui"):
        Store(db_path)
    assert db_path.read_text() == content


def test_old_schema_is_migrated_with_a_backup_first(db_path):
    original = json.dumps({"meta": {"1": {"schema": 1}}, "releases": {}})  # octotui's own schema 1
    db_path.write_text(original)
    store = Store(db_path)
    assert store.schema == SCHEMA_VERSION
    assert store.backup_path is not None and store.backup_path.read_text() == original
    assert stat.S_IMODE(os.stat(store.backup_path).st_mode) == 0o600


def test_a_directory_is_not_a_database(tmp_path):
    with pytest.raises(StoreUnavailable, match="is a directory"):
        Store(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_location_opens_read_only(tmp_path):
    path = tmp_path / "ro" / "db.json"
    Store(path)
    path.parent.chmod(0o500)
    path.chmod(0o400)
    try:
        store = Store(path)
        assert store.read_only
        with pytest.raises(StoreReadOnly), store.transaction():
            pass
    finally:
        path.parent.chmod(0o700)


def test_read_only_flag_refuses_writes_and_keeps_file(db_path, monkeypatch):
    Store(db_path)
    before = db_path.read_bytes()
    monkeypatch.setattr(os, "access", lambda *_args, **_kwargs: False)
    store = Store(db_path)
    assert store.read_only
    with pytest.raises(StoreReadOnly), store.transaction():
        pass
    assert db_path.read_bytes() == before


def test_a_failed_write_keeps_the_old_file(db_path, monkeypatch):
    store = Store(db_path)
    with store.transaction() as db:
        db.table("x").insert({"a": 1})
    before = db_path.read_bytes()

    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(StoreWriteFailed, match="disk full"), store.transaction() as db:
        db.table("x").insert({"a": 2})
    monkeypatch.undo()
    assert db_path.read_bytes() == before
    assert store.table("x") == {"1": {"a": 1}}
    assert not list(db_path.parent.glob("*.octotui-tmp"))


def test_file_size_limit_in_a_real_process(tmp_path):
    """`ulimit -f`: the write fails (EFBIG), the message is clear, the old file stays whole."""
    path = tmp_path / "db.json"
    store = Store(path)
    with store.transaction() as db:
        db.table("x").insert({"a": "small"})
    before = path.read_bytes()
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({len(before) + 100}, {len(before) + 100}))\n"
        "from octotui.storage.file_store import Store, StoreWriteFailed\n"
        f"store = Store({str(path)!r})\n"
        "try:\n"
        "    with store.transaction() as db:\n"
        "        db.table('x').insert({'a': 'y' * 10000})\n"
        "except StoreWriteFailed as error:\n"
        "    print(error.message)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "disk full or file size limit" in result.stdout, result.stderr
    assert path.read_bytes() == before


def test_sigkill_during_writes_never_corrupts_or_loses_acknowledged_writes(tmp_path):
    """50 kills at random moments of a writer: the file always parses and holds every acknowledged write."""
    path = tmp_path / "db.json"
    randomizer = random.Random(1234)
    acknowledged: set[int] = set()
    for _kill in range(50):
        process = subprocess.Popen([sys.executable, WORKER, "writer", str(path)], stdout=subprocess.PIPE, text=True)
        target = randomizer.randint(1, 15)
        for seen, line in enumerate(process.stdout, start=1):
            acknowledged.add(int(line))
            if seen >= target:
                break
        process.send_signal(signal.SIGKILL)  # usually in the middle of the next write
        process.wait()
        process.stdout.close()
        data = read_tables(path)  # parses after every kill
        stored = {doc["n"] for doc in data["items"].values()}
        assert acknowledged <= stored, f"lost acknowledged writes: {sorted(acknowledged - stored)[:5]}"
    assert len(acknowledged) >= 50


def test_sigkill_during_appends_and_compactions_never_corrupts_or_loses(tmp_path):
    """The writer compacts every few KB, so kills land in appends and in compactions alike."""
    path = tmp_path / "db.json"
    randomizer = random.Random(99)
    acknowledged: set[int] = set()
    replaced, inode = 0, None
    for _kill in range(50):
        process = subprocess.Popen([sys.executable, WORKER, "writer", str(path), "3000"], stdout=subprocess.PIPE, text=True)
        target = randomizer.randint(1, 25)
        for seen, line in enumerate(process.stdout, start=1):
            acknowledged.add(int(line))
            if seen >= target:
                break
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        replaced += inode is not None and path.stat().st_ino != inode
        inode = path.stat().st_ino
        stored = {doc["n"] for doc in read_tables(path)["items"].values()}
        assert acknowledged <= stored, f"lost acknowledged writes: {sorted(acknowledged - stored)[:5]}"
    assert replaced >= 3, "compactions (new snapshots) really happened between the kills"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "db.json"]
    Store(path)  # the next start cleans any temp file a killed compaction left
    assert [p.name for p in tmp_path.iterdir()] == ["db.json"], leftovers


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "db.json"
    Store(path)
    count = 150
    processes = [subprocess.Popen([sys.executable, WORKER, "pair", str(path), name, str(count)],
                                  stdout=subprocess.PIPE, text=True) for name in ("a", "b")]
    for process in processes:
        assert process.communicate(timeout=120)[0].strip() == "done"
    data = read_tables(path)
    events = list(data["items"].values())
    assert len(events) == 2 * count
    assert {(e["by"], e["n"]) for e in events} == {(name, n) for name in "ab" for n in range(count)}
    seen = data["shared"]["1"]["seen"]
    assert sorted(seen) == sorted(f"{name}-{n}" for name in "ab" for n in range(count))


def test_saved_text_always_matches_the_data_whatever_tinydb_call_wrote_it(db_path):
    """Saves re-encode only touched documents: prove the file equals the data after every kind of write."""
    from tinydb import Query

    store = Store(db_path)
    expected: dict[str, dict[str, dict]] = {"meta": read_tables(db_path)["meta"]}
    randomizer = random.Random(7)
    for step in range(300):
        table_name = randomizer.choice(["a", "b"])
        with store.transaction() as db:
            table = db.table(table_name)
            kind = randomizer.choice(["insert", "update_ids", "update_cond", "update_fn", "remove", "upsert", "truncate"])
            docs = expected.setdefault(table_name, {})
            if kind == "insert" or not docs:
                doc_id = table.insert({"n": step, "nested": {"list": [step]}})
                docs[str(doc_id)] = {"n": step, "nested": {"list": [step]}}
            elif kind == "update_ids":
                doc_id = randomizer.choice(list(docs))
                table.update({"n": -step}, doc_ids=[int(doc_id)])
                docs[doc_id]["n"] = -step
            elif kind == "update_cond":
                table.update({"flag": step}, Query().n < 0)
                for doc in docs.values():
                    if doc["n"] < 0:
                        doc["flag"] = step
            elif kind == "update_fn":
                doc_id = randomizer.choice(list(docs))

                def change(doc, step=step):
                    doc["nested"] = {"list": [step, step]}
                table.update(change, doc_ids=[int(doc_id)])
                docs[doc_id]["nested"] = {"list": [step, step]}
            elif kind == "remove":
                doc_id = randomizer.choice(list(docs))
                table.remove(doc_ids=[int(doc_id)])
                del docs[doc_id]
            elif kind == "upsert":
                from tinydb.table import Document
                doc_id = randomizer.choice(list(docs))
                table.upsert(Document({"n": step * 10}, doc_id=int(doc_id)))
                docs[doc_id]["n"] = step * 10
            else:
                table.truncate()
                docs.clear()
        on_disk = read_tables(db_path)
        assert {name: table for name, table in on_disk.items() if table or name in expected} == \
            {name: table for name, table in expected.items() if table or name in on_disk}, f"step {step}: {kind}"


def test_a_damaged_record_in_the_middle_of_the_journal_is_shown_read_only_not_skipped(tmp_path, playbook, clock):
    """Only the last record can be torn by a killed save; a bad one with records after it was damaged later:
    the file opens read-only naming the offset, with every record that still verifies, and is never rewritten."""
    from octotui.services.workspace import Workspace

    path = tmp_path / "db.json"
    workspace = Workspace(Store(path), playbook, clock=clock)
    workspace.create_release(version="1.0.0", title="first")
    workspace.create_release(version="1.1.0", title="second")
    raw = path.read_bytes()
    damaged = raw.replace(b'"title":"first"', b'"title":"FIRST"')
    assert damaged != raw
    path.write_bytes(damaged)
    store = Store(path)
    offset = raw.rfind(b"\n#", 0, raw.find(b'"title":"first"'))
    assert store.read_only and f"damaged at byte {offset:,}" in store.read_only_reason
    assert "checksum does not match" in (store.damage_note() or "")
    assert [doc["title"] for doc in store.table("releases").values()] == ["second"]
    with pytest.raises(StoreReadOnly), store.unit_of_work():
        pass
    assert path.read_bytes() == damaged, "never rewritten"


def test_events_are_indexed_when_first_asked_for_not_at_open(db_path):
    """A start that shows no history never indexes the events of a large file; once asked, reads are right
    and later commits keep the index up to date."""
    store = Store(db_path)
    with store.unit_of_work() as uow:
        for number in range(3):
            uow.append_event("INC-1", "timeline", {"text": f"note {number}"})
        uow.append_event("REL-1", "gate", {"item": 0})
    reopened = Store(db_path)
    storage = reopened.storage  # what opening cost: the index not built yet
    assert storage.streams is None
    assert [doc["text"] for _id, doc in reopened.snapshot.events("INC-1")] == ["note 0", "note 1", "note 2"]
    assert storage.streams is not None
    with reopened.unit_of_work() as uow:
        uow.append_event("INC-1", "timeline", {"text": "note 3"})
    assert [doc["text"] for _id, doc in reopened.snapshot.events("INC-1", "timeline")][-1] == "note 3"
    assert len(reopened.snapshot.events("REL-1")) == 1


def test_a_start_parses_only_what_the_board_needs(db_path):
    """The snapshot holds one table per line, then five lines derived from them: what the board reads of each
    release, the open incidents, where each owner's history is, where each release and incident is, and the
    next ids. A start parses meta and those lines; the releases, incidents, events and decisions stay text
    until something reads or writes them (one release or incident is read alone)."""
    store = Store(db_path)
    with store.unit_of_work() as uow:
        uow.put("releases", 1, {"version": "1.0.0", "title": "One", "runs": {"gate": {"items": ["long"] * 50}}})
        uow.put("incidents", 1, {"title": "Open", "status": "Investigating"})
        uow.put("incidents", 2, {"title": "Done", "status": "Resolved"})
        uow.put("decisions", 1, {"title": "Use Postgres"})
        uow.append_event("REL-1", "gate", {"item": 0})
    store.compact()
    lines = db_path.read_bytes().split(b"\n")
    assert len(lines) == len(read_tables(db_path)) + 5, "one table per line, then the five derived lines"
    whole = json.loads(db_path.read_bytes())
    assert {name: table for name, table in whole.items() if not name.startswith("~")} == read_tables(db_path), \
        "still one JSON object (TinyDB reads it); the derived lines are never tables"

    reopened = Store(db_path)
    assert reopened.unread_tables() == {"releases", "incidents", "events", "decisions"}
    assert reopened.snapshot.board_docs() == {1: {"version": "1.0.0", "title": "One"}}, "no runs: not what a row reads"
    assert reopened.snapshot.open_incidents() == {1: {"title": "Open", "status": "Investigating"}}
    assert reopened.unread_tables() == {"releases", "incidents", "events", "decisions"}
    assert reopened.snapshot.get("decisions", 1) == {"title": "Use Postgres"}
    assert "decisions" not in reopened.unread_tables()
    assert reopened.snapshot.get("releases", 1)["runs"]["gate"]["items"][0] == "long"
    assert reopened.snapshot.get("incidents", 2) == {"title": "Done", "status": "Resolved"}
    assert reopened.snapshot.get("incidents", 9) is None
    assert {"releases", "incidents"} <= reopened.unread_tables(), "read alone, from where the index says"
    with reopened.unit_of_work() as uow:  # a write parses no table: it appends what it changed
        assert uow.append_event("REL-1", "gate", {"item": 1}) == 2, "ids continue after the unparsed events"
        uow.put("incidents", uow.reserve_id("incidents"), {"title": "Third", "status": "Investigating"})
    assert reopened.unread_tables() == {"releases", "incidents", "events"}
    assert [doc["item"] for _id, doc in reopened.snapshot.events("REL-1")] == [0, 1]
    assert set(Store(db_path).snapshot.open_incidents()) == {1, 3}
    assert read_tables(db_path)["events"]["2"] == {"owner": "REL-1", "stream": "gate", "item": 1}


def test_journal_changes_are_laid_over_the_derived_lines(db_path):
    """Saves after the snapshot (a release retitled, one added, an incident resolved, one opened) show in
    what a start reads, before any table is parsed."""
    store = Store(db_path)
    with store.unit_of_work() as uow:
        uow.put("releases", 1, {"version": "1.0.0", "title": "One"})
        uow.put("incidents", 1, {"title": "Open", "status": "Investigating"})
    store.compact()
    with store.unit_of_work() as uow:
        uow.put("releases", 1, {"version": "1.0.0", "title": "Renamed"})
        uow.put("releases", 2, {"version": "2.0.0", "title": "Two"})
        uow.put("incidents", 1, {"title": "Open", "status": "Resolved"})
        uow.put("incidents", 2, {"title": "New", "status": "Identified"})
    reopened = Store(db_path)
    assert "releases" in reopened.unread_tables()
    assert {k: d["title"] for k, d in reopened.snapshot.board_docs().items()} == {1: "Renamed", 2: "Two"}
    assert list(reopened.snapshot.open_incidents()) == [2]
    assert reopened.snapshot.all("releases") == store.snapshot.all("releases"), "parsed later: the same"


def test_a_snapshot_without_derived_lines_parses_releases_and_incidents_at_once(db_path):
    """Written before the derived lines existed: releases and incidents are read at open, as before."""
    store = Store(db_path)
    with store.unit_of_work() as uow:
        uow.put("releases", 1, {"version": "1.0.0"})
        uow.put("decisions", 1, {"title": "x"})
    store.compact()
    lines = [line for line in db_path.read_bytes().split(b"\n") if not line.startswith(b'"~')]
    db_path.write_bytes(b"\n".join(lines).rstrip(b",") + (b"}" if not lines[-1].endswith(b"}}") else b""))
    reopened = Store(db_path)
    assert "releases" not in reopened.unread_tables() and "decisions" in reopened.unread_tables()
    assert reopened.snapshot.board_docs() == {1: {"version": "1.0.0"}}


def test_a_damaged_table_left_unparsed_is_reported_with_its_line_when_needed(db_path):
    store = Store(db_path)
    with store.unit_of_work() as uow:
        uow.put("decisions", 1, {"title": "x"})
    store.compact()
    lines = db_path.read_bytes().split(b"\n")
    number = next(n for n, line in enumerate(lines) if line.lstrip(b"{").startswith(b'"decisions"'))
    lines[number] = lines[number].replace(b'"title"', b'"title', 1)
    db_path.write_bytes(resealed(b"\n".join(lines)))
    reopened = Store(db_path)
    with pytest.raises(StoreCorrupt, match=f"line {number + 1}"):
        reopened.snapshot.all("decisions")


def test_a_file_of_the_older_layout_is_read_whole(db_path):
    """One line for everything (octotui before one table per line, or TinyDB itself): read as before."""
    db_path.write_text(json.dumps({"meta": {"1": {"schema": SCHEMA_VERSION}}, "releases": {"1": {"version": "1.0.0"}},
                                   "events": {"1": {"owner": "REL-1", "stream": "gate", "item": 0}}}))
    store = Store(db_path)
    assert store.unread_tables() == set()
    assert store.snapshot.events("REL-1")[0][1]["item"] == 0


def test_journal_changes_to_a_table_left_unparsed_apply_when_it_is_read(db_path):
    store = Store(db_path)
    with store.unit_of_work() as uow:
        uow.put("decisions", 1, {"title": "first"})
        uow.put("decisions", 2, {"title": "gone soon"})
    store.compact()
    with store.unit_of_work() as uow:  # journal records after the snapshot
        uow.put("decisions", 1, {"title": "edited"})
        uow.put("decisions", 3, {"title": "new"})
    with store.unit_of_work() as uow:
        uow.tinydb.table("decisions").remove(doc_ids=[2])
    reopened = Store(db_path)
    assert "decisions" in reopened.unread_tables()
    assert reopened.snapshot.all("decisions") == {1: {"title": "edited"}, 3: {"title": "new"}}
    assert read_tables(db_path)["decisions"] == {"1": {"title": "edited"}, "3": {"title": "new"}}


def test_a_table_left_unparsed_is_read_from_the_file_as_it_was_opened(db_path):
    """Its text is not kept in memory but read again when needed: from the file as opened, even after
    another octotui compacted it into a new file; a file cut in place meanwhile is refused, not misread."""
    writer = Store(db_path)
    with writer.unit_of_work() as uow:
        uow.put("decisions", 1, {"title": "kept"})
    writer.compact()
    reader = Store(db_path)
    assert "decisions" in reader.unread_tables()
    with writer.unit_of_work() as uow:
        uow.put("decisions", 2, {"title": "later"})
    writer.compact()  # a new file renamed over the one the reader opened
    assert reader.snapshot.all("decisions") == {1: {"title": "kept"}}, "what was read, not half of two files"
    assert reader.refresh().ids == {"decisions": {2}}

    cut = Store(db_path)
    assert "decisions" in cut.unread_tables()
    raw = db_path.read_bytes()  # the snapshot keeps one table per line: the decisions' line, cut short
    start = raw.index(b'\n"decisions":') + 1
    line = raw.count(b"\n", 0, start) + 1
    os.truncate(db_path, start + 5)
    with pytest.raises(StoreCorrupt, match=f"line {line}: the file was cut in place"):
        cut.snapshot.all("decisions")


def _compacted_with_history(db_path: Path) -> Store:
    """Releases, incidents, decisions, and events of three owners interleaved in id order, compacted."""
    store = Store(db_path)
    with store.unit_of_work() as uow:
        uow.put("releases", 1, {"version": "1.0.0", "title": "One"})
        uow.put("releases", 2, {"version": "2.0.0", "title": "Two"})
        uow.put("incidents", 1, {"title": "Open", "status": "Investigating"})
        uow.put("decisions", 1, {"title": "first"})
        for number in range(6):
            uow.append_event(("REL-1", "INC-1", "REL-2")[number % 3], "gate" if number % 3 != 1 else "timeline",
                             {"n": number})
    store.compact()
    return store


def test_a_save_parses_no_table_it_need_not(db_path):
    """A save on a large file must not parse years of records it does not read (it did: every unit of work
    parsed every table, and kept them). A document is read alone and put without parsing its table; only
    what needs a whole table (every release, to check a version is free) parses it. What it writes reads back
    whole, by any reader."""
    _compacted_with_history(db_path)
    store = Store(db_path)
    with store.unit_of_work() as uow:
        assert uow.get("releases", 1)["title"] == "One"
        uow.put("releases", 1, {"version": "1.0.1", "title": "One, patched"})
        assert uow.get("releases", 1)["title"] == "One, patched", "what this unit of work put, read back in it"
        uow.append_event("REL-1", "gate", {"n": 6})
    assert store.unread_tables() == {"releases", "incidents", "events", "decisions"}
    assert store.snapshot.get("releases", 1)["version"] == "1.0.1"
    with store.unit_of_work() as uow:
        uow.put("releases", 3, {"version": "3.0.0", "title": "Three"})
        assert set(uow.all("releases")) == {1, 2, 3}, "the whole table, with what was put before it was parsed"
        uow.put("releases", 3, {"version": "3.0.1", "title": "Three"})
    assert "releases" not in store.unread_tables()
    assert store.snapshot.get("releases", 3)["version"] == "3.0.1", "the later put wins"
    tables = read_tables(db_path)
    assert tables["releases"]["1"]["version"] == "1.0.1" and tables["releases"]["2"]["title"] == "Two"
    assert tables["releases"]["3"]["version"] == "3.0.1"
    assert [doc["n"] for doc in tables["events"].values() if doc["owner"] == "REL-1"] == [0, 3, 6]
    assert tables["decisions"] == {"1": {"title": "first"}}
    assert Store(db_path).snapshot.all("events") == store.snapshot.all("events")


def test_an_owners_history_is_read_from_its_slice_while_events_are_unparsed(db_path):
    """The snapshot writes events grouped by owner and notes where each owner's are: opening a release reads
    its slice (and the journal's events after it), not every event of the file."""
    writer = _compacted_with_history(db_path)
    reader = Store(db_path)
    assert [(event_id, doc["n"]) for event_id, doc in reader.snapshot.events("REL-1")] == [(1, 0), (4, 3)]
    assert [doc["n"] for _id, doc in reader.snapshot.events("INC-1", "timeline")] == [1, 4]
    assert reader.snapshot.events("REL-9") == []
    assert "events" in reader.unread_tables(), "answered without parsing the events"
    with writer.unit_of_work() as uow:  # another process adds to REL-1's history
        uow.append_event("REL-1", "deployment", {"n": 6})
    reader.refresh()
    assert "events" in reader.unread_tables()
    assert [doc["n"] for _id, doc in reader.snapshot.events("REL-1")] == [0, 3, 6]
    assert reader.snapshot.events("REL-1") == writer.snapshot.events("REL-1"), "the same as the parsed events say"


def test_a_history_index_that_does_not_match_the_events_is_not_trusted(db_path):
    """Two owners' places swapped (a damaged or hand-edited file): the slice's events are someone else's, so
    every event is read instead, and the right history comes back."""
    _compacted_with_history(db_path)
    lines = db_path.read_bytes().split(b"\n")
    number = next(n for n, line in enumerate(lines) if line.startswith(b'"~history"'))
    spans = json.loads(lines[number][len(b'"~history":'):].rstrip(b",}") + b"}")
    spans["REL-1"], spans["REL-2"] = spans["REL-2"], spans["REL-1"]
    lines[number] = b'"~history":' + json.dumps(spans, separators=(",", ":")).encode() + lines[number][-1:]
    db_path.write_bytes(resealed(b"\n".join(lines)))
    reopened = Store(db_path)
    assert [doc["n"] for _id, doc in reopened.snapshot.events("REL-1")] == [0, 3]
    assert "events" not in reopened.unread_tables()


def test_next_ids_come_from_the_snapshot_and_journal_without_parsing(db_path):
    writer = _compacted_with_history(db_path)
    with writer.unit_of_work() as uow:  # after the snapshot: a journal record
        uow.put("decisions", uow.reserve_id("decisions"), {"title": "second"})
    reopened = Store(db_path)
    with reopened.unit_of_work() as uow:
        assert uow.reserve_id("decisions") == 3
        assert uow.append_event("INC-1", "timeline", {"n": 6}) == 7
        assert uow.reserve_id("incidents") == 2
    assert {"decisions", "events", "incidents"} <= reopened.unread_tables()


def test_a_table_a_reader_parses_while_a_save_runs_is_kept(db_path):
    """The UI thread may parse a table (opening the decision log) while the worker's save is open."""
    _compacted_with_history(db_path)
    store = Store(db_path)
    with store.unit_of_work() as uow:
        uow.put("releases", 2, {"version": "2.0.0", "title": "Two, renamed"})
        assert store.snapshot.get("decisions", 1) == {"title": "first"}  # parsed now, beside the save
    assert store.snapshot.all("decisions") == {1: {"title": "first"}}
    assert store.snapshot.get("releases", 2)["title"] == "Two, renamed"


def test_another_process_saves_to_unparsed_tables_stay_unparsed(db_path):
    """A reader picks up another octotui's records without parsing the tables they touch; what it reads of
    them after (one document, the board, an owner's history, the whole table) includes them."""
    writer = _compacted_with_history(db_path)
    reader = Store(db_path)
    with writer.unit_of_work() as uow:
        uow.put("decisions", 2, {"title": "second"})
        uow.put("releases", 3, {"version": "3.0.0", "title": "Three"})
        uow.append_event("INC-1", "timeline", {"n": 6})
    changes = reader.refresh()
    assert changes.ids == {"decisions": {2}, "releases": {3}, "events": {7}}
    assert reader.unread_tables() == {"releases", "incidents", "events", "decisions"}
    assert reader.snapshot.get("decisions", 2) == {"title": "second"}
    assert reader.snapshot.get("events", 7)["n"] == 6
    assert set(reader.snapshot.board_docs()) == {1, 2, 3}
    assert [doc["n"] for _id, doc in reader.snapshot.events("INC-1")] == [1, 4, 6]
    assert reader.snapshot.all("decisions") == {1: {"title": "first"}, 2: {"title": "second"}}


def test_a_file_compacted_twice_elsewhere_is_not_mistaken_for_the_one_read(db_path):
    """The fault campaign's two writers once lost a run to 'the file is 145,973 bytes shorter than what was
    already saved': another process compacted twice while this one waited for the lock, and the second new
    file took the inode number of the file this one had read (ext4 reuses a freed inode at once). The file
    read is held open until the next, so its inode stays taken and a newer file is always seen as new."""
    writer = Store(db_path)
    for number in range(20):
        with writer.unit_of_work() as uow:
            uow.put("items", number + 1, {"n": number, "payload": "x" * 500})
    reader = Store(db_path)  # has read the snapshot and a journal of 20 records
    for _ in range(2):
        writer.compact()
    assert reader.refresh().ids == {}, "the same documents: nothing changed for the reader"
    assert len(reader.snapshot.all("items")) == 20
