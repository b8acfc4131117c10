"""`octotui db check` and `octotui db repair --to NEW`: what a database file holds, and a repaired copy of it.

The file checked or repaired is only ever read. A check says what it found: the snapshot (its checksum), every
journal record that verifies, each damaged place by offset, a torn tail, a CRLF conversion. A repair writes a
new file (refusing one that exists) with the snapshot's tables and every journal record that still verifies,
in order; it keeps the database's id, so the copy, once put in place of the damaged file, is taken by every
octotui that had it open as the same database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from octotui.storage.errors import StoreCorrupt, StoreForeign, StoreUnavailable, StoreWriteFailed
from octotui.storage.fs import RefusedPath, read_regular, write_atomically
from octotui.storage.journal import Damage, all_crlf, find_sealed_end, scan_journal, seal_at, verify_seal
from octotui.storage.journal_storage import MAX_FILE_BYTES, NOT_OCTOTUI
from octotui.storage.migrations import SCHEMA_VERSION, Tables, schema_of
from octotui.storage.snapshot import DERIVED_LINES, _apply, _journal_start, encode_snapshot, parse_tables


@dataclass
class FileReport:
    """What a database file holds, as read strictly and then leniently (never written)."""

    path: Path
    size: int
    tables: Tables = field(default_factory=dict)  # the snapshot's tables and every record that verifies
    snapshot: str = "intact"  # "intact", "no checksum" (an older octotui's), or what is wrong with it
    lost_lines: list[int] = field(default_factory=list)  # snapshot lines that could not be read
    records: int = 0
    damage: list[Damage] = field(default_factory=list)
    skipped_bytes: int = 0
    torn: int = 0
    crlf: bool = False
    meta_lost: bool = False  # the meta line (schema, id) could not be read: taken as this octotui's schema

    @property
    def clean(self) -> bool:
        return not self.damage and not self.crlf and self.snapshot in ("intact", "no checksum")

    def lines(self) -> list[str]:
        out = [f"{self.path}: {self.size:,} bytes, schema {schema_of(self.tables)}"]
        if self.crlf:
            out.append("line endings: converted to CRLF (by git autocrlf, an editor or a file transfer); "
                       "read with them turned back")
        if self.snapshot == "intact":
            out.append("snapshot: intact (its checksum matches)")
        elif self.snapshot == "no checksum":
            out.append("snapshot: read (written by an older octotui, without a checksum)")
        else:
            out.append(f"snapshot: DAMAGED: {self.snapshot}")
            if self.lost_lines:
                out.append(f"snapshot: line(s) {', '.join(map(str, self.lost_lines))} cannot be read (their tables are lost)")
            if self.meta_lost:
                out.append(f"snapshot: its meta line is lost; taken as schema {SCHEMA_VERSION} (the file has octotui's "
                           "checksum line)")
        out.append(f"journal: {self.records:,} record(s) verify")
        for damage in self.damage:
            out.append(f"journal: {damage.describe()}")
        if self.skipped_bytes:
            out.append(f"journal: {self.skipped_bytes:,} byte(s) skipped to find the next record that verifies")
        if self.torn:
            out.append(f"journal: the last {self.torn:,} byte(s) are an interrupted save (never acknowledged)")
        out.append("clean" if self.clean else
                   "DAMAGED: `octotui db repair --to NEW` writes a copy with every record that still verifies")
        return out


def examine(path: Path | str) -> FileReport:
    """Read a database file strictly, and where that fails, leniently; raises StoreForeign for a file that is not
    an octotui database, StoreUnavailable for one that cannot be read at all."""
    path = Path(path)
    try:
        raw = read_regular(path)
    except FileNotFoundError:
        raise StoreUnavailable(path, "no database file here") from None
    except (OSError, RefusedPath) as error:
        raise StoreUnavailable(path, f"cannot read it ({getattr(error, 'strerror', None) or error})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise StoreUnavailable(path, f"is {len(raw) / 2**20:.0f} MiB; octotui reads databases up to "
                                     f"{MAX_FILE_BYTES / 2**20:.0f} MiB")
    report = FileReport(path, len(raw))
    if all_crlf(raw):  # octotui never writes a CR byte: turning every CRLF back is lossless
        report.crlf, raw = True, raw.replace(b"\r\n", b"\n")
    journal_at, _newlines = _journal_start(raw)
    head_end = len(raw) if journal_at < 0 else journal_at
    sealed = seal_at(raw, head_end) >= 0
    if not sealed:
        found = find_sealed_end(raw, head_end)
        if found >= 0:
            head_end, sealed = found, True
    try:
        if sealed:
            verify_seal(raw, head_end, path)
        else:
            report.snapshot = "no checksum"
        report.tables = parse_tables(raw[:head_end], path)
    except StoreCorrupt as error:
        report.snapshot = error.message
        report.tables, report.lost_lines = _salvage_lines(raw[:head_end], path)
    if head_end < len(raw):
        scan = scan_journal(raw, head_end, path)
        for _start, _end, record in scan.records:
            _apply(report.tables, record)
        report.records, report.damage, report.torn = len(scan.records), scan.damage, scan.torn
        report.skipped_bytes = scan.skipped_bytes
    if not schema_of(report.tables):
        if not sealed:
            raise StoreForeign(path, NOT_OCTOTUI)
        # Its meta line was lost, but only octotui writes the checksum line (from schema 3 on): an octotui file.
        report.tables["meta"] = {"1": {"schema": SCHEMA_VERSION}}
        report.meta_lost = True
    return report


def _salvage_lines(head: bytes, path: Path) -> tuple[Tables, list[int]]:
    """A damaged snapshot, one table per line: each line that still parses (its values as they read: a changed
    value inside a line cannot be found without the checksum), and the line numbers that do not."""
    tables: Tables = {}
    lost = []
    for number, line in enumerate(head.split(b"\n"), start=1):
        text = line.strip().removeprefix(b"{").removesuffix(b",").removesuffix(b"}")
        if not text.strip():
            continue
        try:
            data = json.loads(b"{" + text + b"}")
        except (ValueError, RecursionError):
            try:  # the last line: the table's own closing brace is what was taken for the object's
                data = json.loads(b"{" + text + b"}}")
            except (ValueError, RecursionError):
                lost.append(number)
                continue
        if not isinstance(data, dict):
            lost.append(number)
            continue
        for name, table in data.items():
            if name in DERIVED_LINES or name.startswith("~"):
                continue
            if isinstance(table, dict) and all(key.isdigit() and isinstance(doc, dict) for key, doc in table.items()):
                tables[name] = table
            else:
                lost.append(number)
    return tables, lost


@dataclass
class Repaired:
    report: FileReport
    target: Path
    documents: int


def repair(source: Path | str, target: Path | str) -> Repaired:
    """Write `target` (which must not exist) with everything `examine` could read from `source`; `source` is left
    as it is. Raises StoreWriteFailed (FileExistsError as its cause) for an existing target."""
    report = examine(source)
    target = Path(target).expanduser()
    data = encode_snapshot({name: table for name, table in report.tables.items() if table or name == "meta"})
    try:
        write_atomically(target, data, protected=[report.path], exclusive=True)
    except FileExistsError:
        raise StoreWriteFailed(target, "exists already; choose a new file for the repaired copy") from None
    except RefusedPath as error:
        raise StoreWriteFailed(target, str(error)) from None
    except OSError as error:
        raise StoreWriteFailed(target, f"cannot write the repaired copy ({error.strerror or error})") from None
    documents = sum(len(table) for name, table in report.tables.items() if name != "meta")
    return Repaired(report, target, documents)
