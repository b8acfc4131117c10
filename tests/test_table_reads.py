"""A table read on demand (the decision log's first opening) is parsed a document at a time, so the thread that
reads it lets the event loop run between documents; the result and every refusal are those of `json.loads`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from octotui.services.bulk import generate
from octotui.services.workspace import Workspace
from octotui.storage import journal as journal_module
from octotui.storage.errors import StoreCorrupt
from octotui.storage.file_store import Store
from octotui.storage.journal import loads, loads_table

PATH = Path("octotui.json")
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                    max_leaves=12)
TABLES = st.dictionaries(st.text(), JSON, max_size=8)
LAYOUTS = st.sampled_from([{}, {"separators": (",", ":")}, {"indent": 2}, {"ensure_ascii": False}])


def _outcome(read: Any, raw: bytes) -> object:
    try:
        return ("read", read(raw, PATH, 3))
    except StoreCorrupt as error:
        return ("refused", str(error))


@given(TABLES, LAYOUTS)
@settings(max_examples=300)
def test_a_table_reads_as_json_loads_reads_it(table, layout):
    raw = json.dumps(table, **layout).encode()
    assert loads_table(raw, PATH) == json.loads(raw)


@given(TABLES, st.data())
@settings(max_examples=300)
def test_damaged_text_is_refused_or_read_exactly_as_json_loads_does(table, data):
    raw = bytearray(json.dumps(table).encode())
    for _ in range(data.draw(st.integers(1, 3))):
        if not raw:
            break
        place = data.draw(st.integers(0, len(raw) - 1))
        how = data.draw(st.sampled_from(["byte", "cut", "insert"]))
        if how == "byte":
            raw[place] = data.draw(st.sampled_from(b'{}[]:,"\\ \n\xff0a'))
        elif how == "cut":
            del raw[place:]
        else:
            raw[place:place] = data.draw(st.sampled_from([b",", b"}", b" ", b'"x":1', b"\r\n"]))
    assert _outcome(loads_table, bytes(raw)) == _outcome(loads, bytes(raw))


def test_the_edges_json_loads_refuses_are_refused_with_its_words():
    for raw in (b'{"1":{}', b'{"1":{},}', b'{"1" {}}', b'{1:{}}', b'{"1":{}} x', b"", b"\xff", b"[1, 2"):
        assert _outcome(loads_table, raw) == _outcome(loads, raw)
        assert _outcome(loads_table, raw)[0] == "refused"
    assert loads_table(b' { "a" : 1 , "a" : 2 } ', PATH) == {"a": 2}  # the last of a repeated key, as json.loads
    assert loads_table(b"[1]", PATH) == [1]  # not a table: the shape check after says so


def test_the_decision_log_reads_its_table_a_document_at_a_time(tmp_path, playbook, clock, monkeypatch):
    """Before, one `json.loads` call parsed the whole table (0.1 s at 27,000 decisions) without letting any
    other thread run: the event loop stood still while the decision log opened."""
    path = tmp_path / "large.json"
    generate(Workspace(Store(path), playbook, author="gen"), 400)
    Store(path).compact()
    store = Store(path)
    assert "decisions" in store.unread_tables()
    whole_texts: list[int] = []
    values: list[int] = []
    json_loads = json.loads

    class CountingDecoder:
        def raw_decode(self, text: str, index: int) -> Any:
            values.append(index)
            return journal_module._DECODER_AS_IT_WAS.raw_decode(text, index)

    def counting_loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        whole_texts.append(len(text))
        return json_loads(text, *args, **kwargs)

    monkeypatch.setattr(journal_module, "_DECODER_AS_IT_WAS", json.JSONDecoder(), raising=False)
    monkeypatch.setattr(journal_module, "_DECODER", CountingDecoder(), raising=False)
    monkeypatch.setattr(json, "loads", counting_loads)
    workspace = Workspace(store, playbook, clock=clock, author="tester")
    workspace.read_decisions()
    decisions = workspace.decisions()
    assert len(decisions) > 300
    assert all(size < 20_000 for size in whole_texts), whole_texts  # no call parsed the table's text at once
    assert len(values) >= 2 * len(decisions)  # each id and each document, one call each
