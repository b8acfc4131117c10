"""The embedded file's snapshot as octotui lays it out: one table per line, then the lines derived from the
tables, then the checksum line (see storage.journal, which reads the checksum and the journal strictly).

A start reads the file with `split_file`, leaving the tables no first screen shows unparsed (their line and
place kept), and `encode_snapshot` writes a whole new snapshot (creation, migration, compaction, repair).
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octotui.domain.documents import ROW_FIELDS
from octotui.storage.base import EVENTS, Changes, open_incident_docs
from octotui.storage.errors import StoreCorrupt
from octotui.storage.journal import SUM_LINE, Damage, find_sealed_end, scan_journal, seal, verify_seal
from octotui.storage.journal import check_tables as _check_tables
from octotui.storage.journal import loads as _loads

Tables = dict[str, dict[str, Any]]


def parse_tables(raw: bytes, path: Path) -> Tables:
    """Parse and shape-check a snapshot, without the lines derived from its tables; every failure names the place."""
    if not raw.strip():
        raise StoreCorrupt(path, "the file is empty (expected a JSON object)")
    data = _loads(raw, path)
    if isinstance(data, dict):
        for name in DERIVED_LINES:  # the checksum is inside the last of them
            data.pop(name, None)
    return _check_tables(data, path)


_TABLE_LINE = re.compile(rb'"(~?[A-Za-z0-9_]+)":(?=\{)')
# Lines written after the tables, derived from them at each compaction (never tables themselves): what
# the board reads of each release, and the open incidents (with both a start leaves releases and incidents
# unparsed too; journal records after the snapshot are laid over them); where in the file each owner's
# history is (the events are written grouped by owner: opening a release reads its slice, not every
# event) and each release and incident is (read alone); and each table's next id (a save need not parse
# a table to number what it adds).
BOARD_LINE, OPEN_LINE, HISTORY_LINE, DOCS_LINE, NEXT_LINE = "~board", "~open", "~history", "~docs", "~next"
ROW_LINES = (BOARD_LINE, OPEN_LINE)
DERIVED_LINES = (*ROW_LINES, HISTORY_LINE, DOCS_LINE, NEXT_LINE)
INDEXED_TABLES = ("releases", "incidents")  # what a screen opens one at a time


def _journal_start(raw: bytes) -> tuple[int, list[int]]:
    """Where the journal starts (the first newline followed by `#`; -1 if none) and the newlines before it.
    Stepping from newline to newline scans the file once at memchr speed; a search for the two bytes is
    several times slower on a file with no journal."""
    newlines: list[int] = []
    at = raw.find(b"\n")
    while at >= 0:
        if raw[at + 1 : at + 2] == b"#":
            return at, newlines
        newlines.append(at)
        at = raw.find(b"\n", at + 1)
    return -1, newlines


def _table_lines(raw: bytes, end: int, newlines: list[int]) -> list[tuple[str, int, int, int]] | None:
    """A snapshot (`raw[:end]`) as octotui writes it, one table per line (JSON strings cannot hold a raw
    newline, so every newline is a separator): each table's name, line number and where its JSON starts
    and stops. None for any other layout (an older or hand-made file), which is then parsed whole."""
    if not newlines or not (raw.startswith(b'{"') and raw[end - 1 : end] == b"}"):
        return None
    tables, start = [], 1
    for line, stop in enumerate([*newlines, end], start=1):
        last = stop - 1  # the comma before a newline, or the closing brace of the whole object
        if raw[last : last + 1] != (b"," if stop != end else b"}") or raw[last - 1 : last] != b"}":
            return None
        match = _TABLE_LINE.match(raw, start, min(start + 80, last))
        if match is None:
            return None
        tables.append((match.group(1).decode(), line, match.end(), last))
        start = stop + 1
    return tables


@dataclass
class FileRead:
    """What one read of the file gives: the parsed tables, the intact length, the journal records after
    the snapshot, the tables left unparsed (line, JSON) and the derived lines (parsed)."""

    tables: Tables
    end: int
    records: list[Tables]
    deferred: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # (line, start, stop) in the file
    journal_at: int = -1
    derived: Tables = field(default_factory=dict)  # the row lines
    # The index lines (where each owner's history and each release and incident is): parsed when first used,
    # not by a start, which needs neither to paint.
    index_lines: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)
    torn: int = 0  # bytes of an incomplete last record (an interrupted save)
    damage: list[Damage] = field(default_factory=list)  # journal damage: every record that verifies is read
    crc: int = 0  # the crc32 of raw[:end]
    sealed: bool = False  # the snapshot carried its checksum line (and it matched)


def split_file(raw: bytes, path: Path, defer: frozenset[str] = frozenset()) -> FileRead:
    """The file read, leaving the tables named in `defer` unparsed when the snapshot's layout allows it
    (releases and incidents only when the snapshot also carries the lines derived from them). A snapshot that
    fails its checksum or does not parse raises StoreCorrupt; damage in the journal is returned (`damage`),
    with every record that still verifies."""
    journal_at, newlines = _journal_start(raw)
    head_end = len(raw) if journal_at < 0 else journal_at
    if journal_at < 0 and raw.endswith(b"}\n"):  # an editor's final newline: taken as a torn tail (cut by a save)
        head_end, newlines = head_end - 1, newlines[:-1]
    sum_at, crc = verify_seal(raw, head_end, path)
    if sum_at < 0 and journal_at >= 0:
        sealed_end = find_sealed_end(raw, journal_at)  # the journal's first marker damaged: the seal says where
        if sealed_end >= 0:
            journal_at, head_end, newlines = sealed_end, sealed_end, [n for n in newlines if n < sealed_end]
            sum_at, crc = verify_seal(raw, head_end, path)
    lines = _table_lines(raw, head_end, newlines) if defer else None
    read = FileRead({}, head_end, [], journal_at=journal_at, sealed=sum_at >= 0, torn=len(raw) - head_end)
    if lines is None:
        read.tables = parse_tables(raw if head_end == len(raw) else raw[:head_end], path)
    else:
        derived = {line[0] for line in lines if line[0] in ROW_LINES} == set(ROW_LINES)
        for name, line, start, stop in lines:
            if name in defer and (derived or name not in ("releases", "incidents")):
                read.deferred[name] = (line, start, stop)
                continue
            text = raw[start:stop]
            if name in ROW_LINES:
                read.derived.update(_check_tables({name: _loads(text, path, line - 1)}, path))
            elif name in (HISTORY_LINE, DOCS_LINE):
                read.index_lines[name] = (line, start, stop)
            elif name == NEXT_LINE:
                counts = _loads(text, path, line - 1)
                if isinstance(counts, dict):
                    counts.pop(SUM_LINE, None)
                read.next_ids = _counts(counts)
            else:
                read.tables.update(_check_tables({name: _loads(text, path, line - 1)}, path))
    view = memoryview(raw)
    crc = zlib.crc32(view[sum_at:head_end], crc) if sum_at >= 0 else zlib.crc32(view[:head_end])
    if journal_at >= 0:
        scan = scan_journal(raw, journal_at, path)
        read.records = [record for _start, _end, record in scan.records]
        read.end, read.torn, read.damage = scan.end, scan.torn, scan.damage
        crc = zlib.crc32(view[head_end : read.end], crc)
    read.crc = crc
    return read


def _spans(data: Any, table_line: tuple[int, int, int] | None) -> dict[str, tuple[int, int]] | None:
    """An index of places in a table's line as written, or None if it is not of that shape or not inside
    that line (the table is then parsed whole when first needed)."""
    if table_line is None or not isinstance(data, dict):
        return None
    _line, first, last = table_line
    if not all(isinstance(span, list) and len(span) == 2 and all(type(n) is int for n in span)
               and first <= span[0] < span[1] <= last for span in data.values()):
        return None
    return {owner: (span[0], span[1]) for owner, span in data.items()}


def _counts(data: Any) -> dict[str, int]:
    """The next ids as written, or nothing if they are not of that shape (the tables are then parsed)."""
    if not isinstance(data, dict) or not all(type(n) is int and n >= 1 for n in data.values()):
        return {}
    return dict(data)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _apply(tables: Tables, record: Tables, changes: Changes | None = None) -> None:
    for name, docs in record.items():
        table = tables.setdefault(name, {})
        for doc_id, doc in docs.items():
            if doc is None:
                table.pop(doc_id, None)
            else:
                table[doc_id] = doc
            if changes is not None:
                changes.add(name, int(doc_id))


def encode_snapshot(tables: Tables) -> bytes:
    """One table per line (see _table_lines), then the derived lines: valid JSON for TinyDB, and a start
    can leave tables unparsed. Events are written grouped by owner, and where each owner's are is noted."""
    out = bytearray(b"{")
    history: dict[str, list[int]] = {}
    places: dict[str, dict[str, list[int]]] = {table: {} for table in INDEXED_TABLES}
    for number, (name, table) in enumerate(tables.items()):
        out += b",\n" if number else b""
        out += f"{json.dumps(name)}:{{".encode()
        documents = list(table.items())
        if name == EVENTS:
            documents.sort(key=lambda item: (str(item[1].get("owner")), int(item[0])))
        for position, (doc_id, doc) in enumerate(documents):
            out += b"," if position else b""
            start = len(out)
            out += f'"{doc_id}":'.encode()
            value_at = len(out)
            out += _dumps(doc).encode()
            if name == EVENTS:
                history.setdefault(str(doc.get("owner")), [start, 0])[1] = len(out)
            elif name in places:
                places[name][doc_id] = [value_at, len(out)]
        out += b"}"
    derived: dict[str, Any] = {
        BOARD_LINE: {key: {field: doc[field] for field in ROW_FIELDS if field in doc}
                     for key, doc in tables.get("releases", {}).items()},
        OPEN_LINE: open_incident_docs(tables.get("incidents", {})),
        HISTORY_LINE: history,
        DOCS_LINE: places,
        NEXT_LINE: {name: max((int(key) for key in table), default=0) + 1 for name, table in tables.items()}}
    for number, (name, value) in enumerate(derived.items(), start=len(tables)):
        out += b",\n" if number else b""
        out += f"{json.dumps(name)}:{_dumps(value)}".encode()
    body = bytes(out[:-1])  # the last line's object left open for its checksum
    return seal(body if body.endswith(b"{") else body + b",")
