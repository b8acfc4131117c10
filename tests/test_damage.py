"""The embedded file under damage: every byte of a small database damaged in turn, and what an open makes of it.

Either every acknowledged record is read as it was saved, or the store refuses with a message (an error, or the
file shown read-only with the damage named): never fewer records silently, never a truncation, and the file is
byte- and mode-identical after the open. Opened through the Store directly (what the app opens), not the app.
"""

from __future__ import annotations

import collections
import os
import stat

import pytest

from octotui.storage.errors import StoreError, StoreReadOnly
from octotui.storage.file_store import Store

RECORDS = 10


def _write_acknowledged(path, compact_after: int = 0) -> dict[str, dict]:
    """RECORDS saves, each acknowledged (the unit of work returned): a release each. `compact_after`: the file is
    compacted after that many (those are then in the snapshot, the rest in the journal)."""
    store = Store(path)
    saved: dict[str, dict] = {}
    for number in range(1, RECORDS + 1):
        with store.unit_of_work() as uow:
            doc = {"version": f"1.{number}.0", "title": f"note {number}"}
            uow.put("releases", number, doc)
        saved[str(number)] = doc
        if number == compact_after:
            store.compact()
    store.close()
    return saved


def _mutations(raw: bytes):
    """(label, offset, damaged bytes) for every byte offset: a bit flipped, zeroed, replaced by LF, CR inserted."""
    for offset in range(len(raw)):
        byte = raw[offset]
        yield "flip", offset, raw[:offset] + bytes([byte ^ 0x01]) + raw[offset + 1 :]
        yield "zero", offset, raw[:offset] + b"\0" + raw[offset + 1 :]
        if byte != 0x0A:
            yield "newline", offset, raw[:offset] + b"\n" + raw[offset + 1 :]
        yield "insert-cr", offset, raw[:offset] + b"\r" + raw[offset:]


def _open_and_judge(path, saved: dict[str, dict]) -> str:
    try:
        store = Store(path)
    except StoreError as error:
        assert error.message.strip(), "a refusal says why"
        return "refused"
    try:
        releases = store.table("releases")
        if store.read_only:
            assert store.damage_note() and "byte" in store.read_only_reason, "read-only says where"
            for key, doc in releases.items():
                assert saved.get(key) == doc, f"a record shown read-only is one that was saved: {key}"
            with pytest.raises(StoreReadOnly), store.unit_of_work():
                pass
            return "read-only, damage named" + (", all records" if releases == saved else "")
        assert releases == saved, "an open that accepts the file reads every acknowledged record as saved"
        return "all records read"
    finally:
        store.close()


def _check_says(path) -> str:
    """`db check` (storage.repair.examine) on a damaged file: a report or a StoreError, never anything else."""
    from octotui.storage.repair import examine

    try:
        report = examine(path)
    except StoreError:
        return "refused"
    return "clean" if report.clean else "damaged"


@pytest.mark.parametrize("layout", ["journal", "snapshot+journal"])
def test_every_byte_damaged_in_turn_never_loses_a_record_silently(tmp_path, layout):
    original = tmp_path / "clean.json"
    saved = _write_acknowledged(original, compact_after=0 if layout == "journal" else RECORDS - 3)
    raw = original.read_bytes()
    path = tmp_path / "db.json"
    outcomes: collections.Counter[str] = collections.Counter()
    checks: collections.Counter[str] = collections.Counter()  # what `db check` says of the same files
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for label, offset, damaged in _mutations(raw):
        path.write_bytes(damaged)
        os.chmod(path, 0o644)
        outcome = _open_and_judge(path, saved)
        assert path.read_bytes() == damaged, f"{label} at {offset}: the file was changed by an open ({outcome})"
        checked = _check_says(path)
        assert checked != "clean" or outcome == "all records read", f"{label} at {offset}: db check says clean"
        checks[checked] += 1
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, f"{label} at {offset}: chmodded"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.json", "db.json"], f"{label} at {offset}"
        outcomes[outcome] += 1
        by_kind[label][outcome] += 1
    tried = sum(outcomes.values())
    print(f"\nbyte-damage campaign ({layout}): {len(raw)} bytes, {RECORDS} acknowledged records, {tried} damaged opens")
    for label, counts in by_kind.items():
        print(f"  {label:<10} " + ", ".join(f"{outcome}: {count}" for outcome, count in sorted(counts.items())))
    print("  db check: " + ", ".join(f"{said}: {count}" for said, count in sorted(checks.items())))
    assert tried == 4 * len(raw) - raw.count(b"\n")
    assert outcomes["read-only, damage named, all records"] > 0, "a damaged marker alone loses no record"


# -- the cases, end to end ---------------------------------------------------------------------
def _markers(raw: bytes) -> list[int]:
    return [at for at in range(len(raw)) if raw.startswith(b"\n#", at)]


@pytest.fixture
def ten(tmp_path, playbook, clock):
    """Ten releases, each saved (acknowledged) by its own command, as the app saves them."""
    from octotui.services.workspace import Workspace

    path = tmp_path / "db.json"
    store = Store(path)
    workspace = Workspace(store, playbook, clock=clock, author="tester")
    for number in range(1, RECORDS + 1):
        workspace.create_release(version=f"1.{number}.0", title=f"note {number}")
    saved = Store(path).table("releases")
    assert len(saved) == RECORDS
    store.close()
    return path, saved


@pytest.mark.parametrize("hit", ["hash", "newline"])
def test_a_damaged_marker_eight_records_from_the_end_is_damage_not_a_torn_tail(ten, hit, capsys):
    """Issue 30 D2: `#` -> `X` (or `\\n` -> space) eight records from the end showed 2 of 10 and the next save cut
    the rest. Now: read-only, the offset named, all ten shown; check says so, repair copies all ten."""
    from octotui.cli import main

    path, saved = ten
    raw = path.read_bytes()
    at = _markers(raw)[-8]
    damaged = raw[: at + 1] + b"X" + raw[at + 2 :] if hit == "hash" else raw[:at] + b" " + raw[at + 1 :]
    path.write_bytes(damaged)
    store = Store(path)
    assert store.read_only and f"damaged at byte {at:,}" in store.read_only_reason
    assert store.table("releases") == saved, "the record behind a damaged marker still verifies"
    with pytest.raises(StoreReadOnly), store.unit_of_work():
        pass
    store.close()
    capsys.readouterr()
    assert main(["db", "check", "--db", str(path)]) == 1
    assert f"damaged at byte {at:,}" in capsys.readouterr().out
    assert main(["export", "decisions", "--db", str(path)]) == 2, "not a note and exit 0 with records missing"
    assert "nothing was exported" in capsys.readouterr().err
    fixed = path.with_name("fixed.json")
    assert main(["db", "repair", "--db", str(path), "--to", str(fixed)]) == 0
    assert path.read_bytes() == damaged, "the original is left alone"
    repaired = Store(fixed)
    assert not repaired.read_only and repaired.table("releases") == saved
    with repaired.unit_of_work() as uow:
        uow.put("releases", 11, {"version": "2.0.0", "title": "after the repair"})
    repaired.close()
    before = fixed.read_bytes()
    assert main(["db", "repair", "--db", str(path), "--to", str(fixed)]) == 2, "never over an existing file"
    assert "exists already" in capsys.readouterr().err and fixed.read_bytes() == before
    assert main(["db", "check", "--db", str(fixed)]) == 0


def test_a_crlf_conversion_is_named_and_undone_by_repair(ten, capsys):
    """Issue 30 D2: a whole-file CRLF conversion showed 0 of 10 and `export --list` exited 0 with a note."""
    from octotui.cli import main

    path, saved = ten
    converted = path.read_bytes().replace(b"\n", b"\r\n")
    path.write_bytes(converted)
    store = Store(path)
    assert store.read_only and "converted to CRLF" in store.read_only_reason
    assert store.table("releases") == saved
    store.close()
    capsys.readouterr()
    assert main(["db", "check", "--db", str(path)]) == 1
    assert "converted to CRLF" in capsys.readouterr().out
    assert main(["export", "decisions", "--db", str(path)]) == 2
    fixed = path.with_name("fixed.json")
    assert main(["db", "repair", "--db", str(path), "--to", str(fixed)]) == 0
    assert path.read_bytes() == converted
    assert b"\r" not in fixed.read_bytes() and Store(fixed).table("releases") == saved


def test_damage_found_while_running_is_never_cut_by_the_next_save(ten):
    """A store that was clean when opened meets damage on a re-read: the save is refused, nothing is cut."""
    path, _saved = ten
    store = Store(path)
    raw = path.read_bytes()
    at = _markers(raw)[-3]
    damaged = raw[: at + 1] + b"X" + raw[at + 2 :]
    path.write_bytes(damaged)
    with pytest.raises(StoreError, match=f"damaged at byte {at:,}"), store.unit_of_work() as uow:
        uow.put("releases", 11, {"version": "9.9.9"})
    assert path.read_bytes() == damaged


def test_a_torn_last_record_is_still_an_interrupted_save(ten):
    """Only this is ignored (and cut off by the next writer): the last record's framed length runs past the end."""
    path, saved = ten
    raw = path.read_bytes()
    path.write_bytes(raw[: _markers(raw)[-1] + 9])  # the last save killed mid-append
    store = Store(path)
    assert not store.read_only and store.torn_tail_note() is not None
    assert len(store.table("releases")) == RECORDS - 1
    with store.unit_of_work() as uow:
        uow.put("releases", 10, saved["10"])
    assert Store(path).table("releases") == saved


# -- files octotui did not create, and files swapped or changed under a running store ----------------------
STOCK = b'{"_default": {"1": {"a": 1}}}'


@pytest.mark.parametrize("content", [STOCK, b"{}"], ids=["stock-tinydb", "empty-object"])
def test_a_file_octotui_did_not_create_is_refused_and_left_byte_identical(tmp_path, content, capsys):
    """Issue 30 D13: a stock TinyDB file was migrated (a .bak, a rewrite, chmod 0600) and `demo --db` filled it."""
    from octotui.cli import main

    path = tmp_path / "other-app.json"
    path.write_bytes(content)
    os.chmod(path, 0o644)
    with pytest.raises(StoreError, match="not an octotui database; `octotui db copy` can import it"):
        Store(path)
    capsys.readouterr()
    assert main(["demo", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an octotui database; `octotui db copy` can import it" in err
    assert main(["export", "decisions", "--db", str(path)]) == 2
    assert main(["db", "check", "--db", str(path)]) == 2
    assert path.read_bytes() == content and stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["other-app.json"], "no backup, no temp file"
    assert main(["db", "copy", str(path), str(tmp_path / "imported.json")]) == 0, "the message's promise holds"
    assert path.read_bytes() == content
    assert Store(tmp_path / "imported.json").schema > 0


def test_the_app_start_refuses_a_stock_tinydb_file_in_one_line(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "other-app.json"
    path.write_bytes(STOCK)
    os.chmod(path, 0o644)
    result = subprocess.run([sys.executable, "-m", "octotui", "--db", str(path)], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "not an octotui database" in result.stderr and "Traceback" not in result.stderr
    assert path.read_bytes() == STOCK and stat.S_IMODE(os.stat(path).st_mode) == 0o644


@pytest.mark.parametrize("swap", ["renamed-in", "written-in-place", "another-octotui-database"])
def test_a_foreign_file_swapped_in_is_refused_never_adopted_or_written_into(ten, swap):
    """Issue 30 D4: `{}` or another app's file swapped in was adopted (the board emptied, INC-1 again, a record
    appended into the other app's file). Now every re-read and every save refuses it, and the file is untouched;
    once the database is back, it works again."""
    path, saved = ten
    store = Store(path)
    good = path.read_bytes()
    if swap == "renamed-in":
        (path.parent / "other.json").write_bytes(STOCK)
        os.replace(path.parent / "other.json", path)
        foreign = STOCK
    elif swap == "written-in-place":
        with open(path, "r+b") as handle:  # the same inode, rewritten
            handle.write(b"{}")
            handle.truncate()
        foreign = b"{}"
    else:
        other = path.parent / "other.json"
        Store(other).close()
        foreign = other.read_bytes()
        os.replace(other, path)
    assert store.changed_outside()
    with pytest.raises(StoreError, match="not an octotui database|no longer this database|shorter than what was"):
        store.refresh()
    with pytest.raises(StoreError), store.unit_of_work() as uow:
        uow.put("incidents", 1, {"title": "INC-1 again"})
    assert path.read_bytes() == foreign, "nothing written into it"
    kept = {str(doc_id): doc for doc_id, doc in store.snapshot.all("releases").items()}
    assert kept == saved, "the last good data is kept"
    path.write_bytes(good)  # the database is back
    store.refresh()
    with store.unit_of_work() as uow:
        uow.put("releases", 11, {"version": "2.0.0"})
    assert len(Store(path).table("releases")) == RECORDS + 1


def test_same_size_damage_in_the_snapshot_is_noticed_before_the_next_save_is_acknowledged(ten):
    """Issue 30 D11: one byte overwritten inside the snapshot (same size, same inode) went unnoticed, and saves were
    acknowledged into a file the next start refused."""
    path, _saved = ten
    store = Store(path)
    store.compact()  # the records in the snapshot
    raw = path.read_bytes()
    at = raw.find(b'"title":"note 3"') + len(b'"title":"')
    inode = os.stat(path).st_ino
    fd = os.open(path, os.O_WRONLY)
    os.pwrite(fd, b"N", at)  # "note 3" -> "Note 3": valid JSON, the same size
    os.close(fd)
    damaged = path.read_bytes()
    assert len(damaged) == len(raw) and os.stat(path).st_ino == inode
    assert store.changed_outside()
    with pytest.raises(StoreError, match="does not match its checksum"), store.unit_of_work() as uow:
        uow.put("releases", 11, {"version": "2.0.0"})
    assert path.read_bytes() == damaged, "not acknowledged, not written"
    with pytest.raises(StoreError, match="does not match its checksum"):
        Store(path)


def test_a_save_that_would_pass_the_readable_size_is_refused_before_it_is_written(ten):
    """Issue 30 D3 (the storage side): a 530 MiB edit was accepted, and from then on every octotui refused the
    1,060 MiB file. The limit is made small here; the rule is the same at 512 MiB."""
    from octotui.storage.errors import StoreWriteFailed

    path, saved = ten
    before = path.read_bytes()
    store = Store(path, max_file_bytes=len(before) + 1000)
    with pytest.raises(StoreWriteFailed, match="would pass"), store.unit_of_work() as uow:
        uow.put("releases", 11, {"version": "2.0.0", "title": "x" * 2000})
    assert path.read_bytes() == before, "nothing written"
    with store.unit_of_work() as uow:  # a small change still fits
        uow.put("releases", 11, {"version": "2.0.0", "title": "short"})
    assert Store(path).table("releases")["11"]["title"] == "short"


def test_an_editors_final_newline_after_a_snapshot_is_not_damage(tmp_path):
    path = tmp_path / "db.json"
    store = Store(path)
    store.close()
    path.write_bytes(path.read_bytes() + b"\n")
    reopened = Store(path)
    assert not reopened.read_only
    with reopened.unit_of_work() as uow:
        uow.put("releases", 1, {"version": "1.0.0"})
    assert Store(path).table("releases") == {"1": {"version": "1.0.0"}}


def test_a_store_opened_damaged_says_so_until_restarted_once_the_file_is_repaired(ten):
    path, saved = ten
    raw = path.read_bytes()
    at = _markers(raw)[-2]
    path.write_bytes(raw[: at + 1] + b"X" + raw[at + 2 :])
    store = Store(path)
    assert store.read_only and "damaged at byte" in store.read_only_reason
    path.write_bytes(raw)  # repaired (or restored) while it was open
    store.refresh()
    assert store.read_only and "restart octotui" in store.read_only_reason
    assert store.table("releases") == saved


# -- in the app: the banner -------------------------------------------------------------------------------
async def test_the_app_shows_a_foreign_file_swapped_in_and_never_writes_into_it(demo_workspace, make_app):
    """Issue 30 D4 in the app: the board went from 8 releases to 0 and `i` created INC-1 again in the other app's
    file. Now the banner says what happened, the board keeps the last good data, a save is refused."""
    path = demo_workspace.store.path
    good = path.read_bytes()
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()

        def banner() -> str:
            return str(app.screen_stack[0].query_one("#status-text").render())

        rows = len(demo_workspace.board_rows())
        (path.parent / "other.json").write_bytes(STOCK)
        os.replace(path.parent / "other.json", path)
        for _ in range(50):  # a bounded count of polls: the worker reads the file
            app.poll_store()
            await pilot.pause()
            if "not an octotui database" in banner():
                break
        assert "DATABASE PROBLEM" in banner() and "not an octotui database" in banner()
        assert len(demo_workspace.board_rows()) == rows, "the last good data stays on screen"
        await pilot.press("2", "space")  # a save
        assert path.read_bytes() == STOCK, "nothing appended into the other app's file"
        assert any("Not saved" in n.title for n in app._notifications)
        path.write_bytes(good)
        for _ in range(50):
            app.poll_store()
            await pilot.pause()
            if "DATABASE PROBLEM" not in banner():
                break
        assert "DATABASE PROBLEM" not in banner()


async def test_the_app_opened_on_a_damaged_journal_shows_it_read_only_naming_the_offset(ten, playbook, make_app):
    from octotui.services.workspace import Workspace

    path, saved = ten
    raw = path.read_bytes()
    at = _markers(raw)[-8]
    damaged = raw[: at + 1] + b"X" + raw[at + 2 :]
    path.write_bytes(damaged)
    workspace = Workspace(Store(path), playbook, author="tester")
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        status = str(app.screen_stack[0].query_one("#status-text").render())
        assert "READ-ONLY" in status and f"damaged at byte {at:,}" in status
        assert len(workspace.board_rows()) == len(saved)
    assert path.read_bytes() == damaged


def test_db_copy_refuses_a_damaged_file_instead_of_copying_fewer_records(ten, capsys):
    from octotui.cli import main

    path, _saved = ten
    raw = path.read_bytes()
    at = _markers(raw)[-4]
    path.write_bytes(raw[: at + 3] + bytes([raw[at + 3] ^ 1]) + raw[at + 4 :])  # the record's length field
    target = path.with_name("copy.json")
    assert main(["db", "copy", str(path), str(target)]) == 2
    assert "nothing was copied" in capsys.readouterr().err and not target.exists()


def test_repair_of_a_damaged_snapshot_keeps_every_line_that_still_reads_and_says_what_was_lost(tmp_path, capsys):
    from octotui.cli import main

    path = tmp_path / "db.json"
    store = Store(path)
    with store.unit_of_work() as uow:
        uow.put("releases", 1, {"version": "1.0.0"})
        uow.put("decisions", 1, {"title": "kept"})
    store.compact()
    with store.unit_of_work() as uow:  # after the snapshot: a journal record
        uow.put("releases", 2, {"version": "2.0.0"})
    store.close()
    raw = path.read_bytes()
    at = raw.find(b'"version":"1.0.0"')
    damaged = raw[:at] + b"\x00" + raw[at + 1 :]  # the releases line no longer parses
    path.write_bytes(damaged)
    with pytest.raises(StoreError, match="does not match its checksum"):
        Store(path)
    assert main(["db", "check", "--db", str(path)]) == 1
    said = capsys.readouterr().out
    assert "snapshot: DAMAGED" in said and "cannot be read" in said and "journal: 1 record(s) verify" in said
    fixed = tmp_path / "fixed.json"
    assert main(["db", "repair", "--db", str(path), "--to", str(fixed)]) == 0
    repaired = Store(fixed)
    assert repaired.table("decisions") == {"1": {"title": "kept"}}, "the lines that still read"
    assert repaired.table("releases") == {"2": {"version": "2.0.0"}}, "and the journal's records"
    assert path.read_bytes() == damaged


def test_a_save_killed_at_any_byte_of_its_record_is_a_torn_tail(tmp_path):
    """The other side of the rule: cut anywhere inside the last record (a kill mid-append), the file opens
    writable with the records before it, says so once, and the next save cuts the torn bytes off."""
    original = tmp_path / "clean.json"
    saved = _write_acknowledged(original)
    raw = original.read_bytes()
    last = _markers(raw)[-1]
    path = tmp_path / "db.json"
    for cut in range(last + 1, len(raw)):
        path.write_bytes(raw[:cut])
        store = Store(path)
        assert not store.read_only and store.torn_tail_note() is not None, cut
        assert store.table("releases") == {key: doc for key, doc in saved.items() if key != str(RECORDS)}, cut
        store.close()
    store = Store(path)
    with store.unit_of_work() as uow:
        uow.put("releases", RECORDS, saved[str(RECORDS)])
    assert Store(path).table("releases") == saved and Store(path).torn_tail_note() is None
