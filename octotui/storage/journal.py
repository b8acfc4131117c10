"""The embedded file's format, read strictly: the snapshot's checksum and the journal's framed records.

A snapshot written by octotui ends its last line (the next ids) with `"~sum":<crc32>}}`: the checksum of every
byte before the number (a snapshot without it is an older octotui's, read as before; an older octotui reads it
as one more count and goes on reading the file). Each journal record after it is
`\\n#<length hex> <crc32 hex> <JSON>`; the JSON never holds a raw newline (json.dumps escapes it).

What a read may meet after the last good record, and what it is taken for:
- a *torn tail*: the bytes are the start of one more record and its framed length runs past the end of
  the file (a save killed mid-append, never acknowledged): ignored, and cut off by the next writer;
- anything else that does not verify (a bad marker, a checksum or length that does not match, garbage
  between records, CR bytes from a CRLF conversion) is *damage*: acknowledged records may be behind it, so
  nothing is cut or overwritten; the file is reported with the offset, and every later record that still
  verifies is found again (the marker searched for, each candidate checked by its length and checksum).
"""

from __future__ import annotations

import json
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octotui.storage.errors import StoreCorrupt

Tables = dict[str, dict[str, Any]]

RECORD_START = b"\n#"
_HEADER = re.compile(rb"\n#([0-9a-f]{1,15}) ([0-9a-f]{8}) ")
# A header whose two marker bytes were damaged (`#` overwritten, the newline turned into a space...): the record
# is still taken if its length and checksum verify.
_LOOSE_HEADER = re.compile(rb"(?s:..)([0-9a-f]{1,15}) ([0-9a-f]{8}) ")
# The start of a header cut short: what a torn tail may hold before its payload begins.
_PARTIAL_HEADER = re.compile(rb"\n(?:#(?:[0-9a-f]{1,15}(?: [0-9a-f]{0,8})?)?)?")
SUM_LINE = "~sum"  # the checksum's key, inside the last derived line
_SUM_KEY = b'"~sum":'
_SEAL_AT_END = re.compile(rb'[,{]"~sum":([0-9]{1,10})\}\}\Z')
CRC_CHUNK = 1 << 20


# -- JSON, shape-checked -------------------------------------------------------------------------
def check_tables(data: Any, path: Path, where: str = "") -> Tables:
    if not isinstance(data, dict):
        raise StoreCorrupt(path, f"{where}expected a JSON object of tables, found {type(data).__name__}")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise StoreCorrupt(path, f"{where}table {name!r} is {type(table).__name__}, expected an object of documents")
        for doc_id, doc in table.items():
            if not doc_id.isdigit() or not (isinstance(doc, dict) or (where and doc is None)):
                raise StoreCorrupt(path, f"{where}table {name!r} document {doc_id!r} is not a document")
    return data


def loads(raw: bytes, path: Path, line_offset: int = 0) -> Any:
    try:
        return json.loads(raw)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1 + line_offset
        raise StoreCorrupt(path, f"line {line}: not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise StoreCorrupt(path, f"line {error.lineno + line_offset} column {error.colno}: "
                                 f"not valid JSON ({error.msg})") from None
    except RecursionError:
        raise StoreCorrupt(path, "JSON nested too deeply") from None


_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _past_space(text: str, index: int) -> int:
    return _SPACE.match(text, index).end()  # type: ignore[union-attr]  # "*" matches the empty string at worst


def loads_table(raw: bytes, path: Path, line_offset: int = 0) -> Any:
    """A table's text (a JSON object of documents) parsed a document at a time: `json.loads` holds the
    interpreter for the whole text (0.1 s for 27,000 decisions), so a thread reading a table on demand would
    stall the event loop as long; between documents the other threads run. The same result as `loads`, which
    reads whatever this does not expect and reports any damage."""
    try:
        text = raw.decode()
        index = _past_space(text, 0)
        if text[index] != "{":
            return loads(raw, path, line_offset)
        table: dict[str, Any] = {}
        index = _past_space(text, index + 1)
        while text[index] != "}":
            key, index = _DECODER.raw_decode(text, index)
            index = _past_space(text, index)
            if not isinstance(key, str) or text[index] != ":":
                return loads(raw, path, line_offset)
            table[key], index = _DECODER.raw_decode(text, _past_space(text, index + 1))
            index = _past_space(text, index)
            if text[index] == ",":
                index = _past_space(text, index + 1)
                if text[index] == "}":  # a trailing comma
                    return loads(raw, path, line_offset)
            elif text[index] != "}":
                return loads(raw, path, line_offset)
        return table if _past_space(text, index + 1) == len(text) else loads(raw, path, line_offset)
    except (ValueError, IndexError, RecursionError):  # not valid: said as `loads` says it
        return loads(raw, path, line_offset)


# -- the snapshot's checksum line -------------------------------------------------------------------
def seal(body: bytes) -> bytes:
    """A snapshot whose last line (a JSON object) is left open after a comma (or its `{`), closed with the
    checksum of every byte before the number."""
    body += _SUM_KEY
    return body + str(zlib.crc32(body)).encode() + b"}}"


def seal_at(raw: bytes, head_end: int) -> int:
    """Where the checksum's number starts in the snapshot `raw[:head_end]` (it covers the bytes before), or -1."""
    match = _SEAL_AT_END.search(raw, max(0, head_end - 24), head_end)
    return -1 if match is None else match.start(1)


def verify_seal(raw: bytes, head_end: int, path: Path) -> tuple[int, int]:
    """(where the checksum's number starts or -1, the crc32 of the bytes before it or of nothing). A checksum
    that does not match is damage in place: StoreCorrupt naming the bytes it covers."""
    at = seal_at(raw, head_end)
    if at < 0:
        return -1, 0
    crc = zlib.crc32(memoryview(raw)[:at])
    if int(raw[at : head_end - 2]) != crc:
        raise StoreCorrupt(path, f"the snapshot (bytes 0–{at:,}) does not match its checksum: damaged in place "
                                 "(`octotui db check` says more)")
    return at, crc


def crc_of_file(fd: int, length: int) -> int:
    """The crc32 of a file's first `length` bytes, read in chunks (a file cut meanwhile reads short)."""
    crc, offset, buffer = 0, 0, bytearray(min(CRC_CHUNK, max(length, 1)))
    view = memoryview(buffer)
    while offset < length:
        got = os.preadv(fd, [view[: min(len(buffer), length - offset)]], offset)
        if got <= 0:
            return -1
        crc = zlib.crc32(view[:got], crc)
        offset += got
    return crc


# -- the journal ----------------------------------------------------------------------------------
def frame(payload: bytes) -> bytes:
    return RECORD_START + f"{len(payload):x} {zlib.crc32(payload):08x} ".encode() + payload


@dataclass(frozen=True)
class Damage:
    """The first byte that is neither part of a verified record nor a torn tail."""

    offset: int
    kind: str  # "crlf", "marker", "checksum", "length", "record"
    detail: str = ""

    def describe(self) -> str:
        where = f"byte {self.offset:,}"
        if self.kind == "crlf":
            return (f"its line endings were converted to CRLF (by git autocrlf, an editor or a file transfer), "
                    f"first at {where}")
        what = {"marker": "not the start of a record", "checksum": "a record whose checksum does not match",
                "length": "a record whose length field does not match", "record": "a record that is not valid"}
        return f"damaged at {where}: {what.get(self.kind, self.kind)}{': ' + self.detail if self.detail else ''}"

    def short(self) -> str:
        if self.kind == "crlf":
            return f"converted to CRLF at byte {self.offset:,}"
        return f"damaged at byte {self.offset:,}"


@dataclass
class JournalScan:
    records: list[tuple[int, int, Tables]] = field(default_factory=list)  # (start, end, documents), in order
    end: int = 0  # where the last record before any damage ends: the length a writer may append at
    torn: int = 0  # bytes of an incomplete last record (0: none)
    damage: list[Damage] = field(default_factory=list)  # each stretch skipped to find the next good record
    skipped_bytes: int = 0


def _record_at(raw: bytes, offset: int, path: Path, loose: bool = False) -> tuple[int, Tables] | Damage | None:
    """The record framed at `offset`: (its end, its documents), the damage found there, or None for a torn tail.
    `loose`: whatever the two marker bytes are (a record whose marker alone was damaged)."""
    match = (_LOOSE_HEADER if loose else _HEADER).match(raw, offset)
    rest_has_newline = raw.find(b"\n", offset + 1) >= 0
    if loose and match is None:
        return Damage(offset, "marker")
    if match is None:
        if not rest_has_newline and _PARTIAL_HEADER.fullmatch(raw, offset):
            return None  # the header itself was cut short
        cr = raw[offset : offset + 3] == b"\r\n#"
        return Damage(offset, "marker", "a carriage return (CR) before the record marker" if cr else "")
    length, crc = int(match.group(1), 16), int(match.group(2), 16)
    start = match.end()
    payload = raw[start : start + length]
    if len(payload) < length:
        if zlib.crc32(payload) == crc or rest_has_newline:
            return Damage(offset, "length")  # the whole record is there: its length field was changed
        return None  # the payload runs past the end of the file: torn
    if zlib.crc32(payload) != crc:
        return Damage(offset, "checksum")
    try:
        record = check_tables(loads(payload, path), path, "journal: ")
    except StoreCorrupt as error:
        return Damage(offset, "record", error.message)
    return start + length, record


def scan_journal(raw: bytes, start: int, path: Path) -> JournalScan:
    """Every record from `start` that verifies, the torn tail, and the damage met on the way (see the module
    docstring). `start` is where a record (its leading newline) is expected."""
    scan = JournalScan(end=start)
    offset, clean, crlf = start, True, None
    while offset < len(raw):
        found = _record_at(raw, offset, path)
        if found is None:
            scan.torn = len(raw) - offset
            break
        if isinstance(found, Damage):
            crlf = all_crlf(raw) if crlf is None else crlf
            if crlf:
                found = Damage(found.offset, "crlf")
            scan.damage.append(found)
            clean = False
            recovered = _record_at(raw, offset, path, loose=True) if found.kind == "marker" else None
            if isinstance(recovered, tuple):  # only its marker was hit: the record itself verifies
                scan.records.append((offset, recovered[0], recovered[1]))
                offset = recovered[0]
                continue
            following = _next_good(raw, offset + 1, path)
            scan.skipped_bytes += following - offset
            offset = following
            continue
        end, record = found
        scan.records.append((offset, end, record))
        offset = end
        if clean:
            scan.end = end
    return scan


def _next_good(raw: bytes, after: int, path: Path) -> int:
    """The offset of the next marker after `after` that frames a good record (or is a torn tail); else the end."""
    at = raw.find(RECORD_START, after)
    while at >= 0:
        if not isinstance(_record_at(raw, at, path), Damage):
            return at
        at = raw.find(RECORD_START, at + 1)
    return len(raw)


def all_crlf(raw: bytes) -> bool:
    """Every newline of the file is preceded by a CR: a line-ending conversion (octotui never writes a CR byte:
    JSON escapes it), undone losslessly by turning every CRLF back into LF."""
    newlines = raw.count(b"\n")
    return newlines > 0 and raw.count(b"\r\n") == newlines


def tail_is_torn(tail: bytes, path: Path) -> bool:
    """`tail` (what follows the last good record) is one record cut short: safe to cut off."""
    return not tail or _record_at(tail, 0, path) is None


_SEAL = re.compile(rb'[,{]"~sum":([0-9]{1,10})\}\}')


def find_sealed_end(raw: bytes, limit: int) -> int:
    """The end of a sealed snapshot in `raw[:limit]`, found by its checksum line (the journal's first marker
    was damaged, so the snapshot seemed to run on), or -1."""
    for match in _SEAL.finditer(raw, 0, limit):
        if zlib.crc32(memoryview(raw)[: match.start(1)]) == int(match.group(1)):
            return match.end()
    return -1
