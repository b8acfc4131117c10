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
from octotui.storage.tinydb_store import Store

RECORDS = 10


def _write_acknowledged(path) -> dict[str, dict]:
    """RECORDS saves, each acknowledged (the unit of work returned): a release each, one updated later."""
    store = Store(path)
    saved: dict[str, dict] = {}
    for number in range(1, RECORDS + 1):
        with store.unit_of_work() as uow:
            doc = {"version": f"1.{number}.0", "title": f"note {number}"}
            uow.put("releases", number, doc)
        saved[str(number)] = doc
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


def test_every_byte_damaged_in_turn_never_loses_a_record_silently(tmp_path):
    original = tmp_path / "clean.json"
    saved = _write_acknowledged(original)
    raw = original.read_bytes()
    path = tmp_path / "db.json"
    outcomes: collections.Counter[str] = collections.Counter()
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for label, offset, damaged in _mutations(raw):
        path.write_bytes(damaged)
        os.chmod(path, 0o644)
        outcome = _open_and_judge(path, saved)
        assert path.read_bytes() == damaged, f"{label} at {offset}: the file was changed by an open ({outcome})"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, f"{label} at {offset}: chmodded"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.json", "db.json"], f"{label} at {offset}"
        outcomes[outcome] += 1
        by_kind[label][outcome] += 1
    tried = sum(outcomes.values())
    print(f"\nbyte-damage campaign: {len(raw)} bytes, {RECORDS} acknowledged records, {tried} damaged opens")
    for label, counts in by_kind.items():
        print(f"  {label:<10} " + ", ".join(f"{outcome}: {count}" for outcome, count in sorted(counts.items())))
    assert tried >= 4 * len(raw) - raw.count(b"\n")
    assert outcomes["read-only, damage named, all records"] > 0, "a damaged marker alone loses no record"
