"""Text helpers shared by the UI and the exports: user text is data, never markup or escapes."""

from __future__ import annotations

import re
import unicodedata

# C0 (but tab and newline), DEL and C1 controls, and the bidi controls and separators that reorder or break a
# line on screen (embeddings and overrides U+202A-202E, isolates U+2066-2069, marks U+200E/200F and U+061C,
# line and paragraph separators U+2028/2029): shown as visible symbols, never sent raw.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # U+2400 "control pictures"
    if code == 0x7F:
        return "\u2421"
    return "\ufffd"  # C1 and bidi controls: the replacement character


def has_controls(text: str) -> bool:
    return _CONTROL.search(text) is not None


def visible(text: str) -> str:
    """Replace control characters so no escape sequence (nor a bidi reordering) from user data reaches a
    terminal or a file meant for people. Newlines and tabs stay."""
    return _CONTROL.sub(_picture, text)


# What no backend can store: NUL (PostgreSQL's text and jsonb refuse it) and unpaired surrogates (not UTF-8 at
# all; they come from undecodable bytes, e.g. an environment variable). Refused at input, on every backend.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_at(text: str) -> int | None:
    """The position of the first character no backend can store, or None."""
    found = _UNSTORABLE.search(text)
    return found.start() if found else None


def storable(text: str) -> str:
    """For text that is already stored (an older file) or comes from outside (the environment): NUL shown as
    ␀ (U+2400), an unpaired surrogate as the replacement character."""
    return _UNSTORABLE.sub(lambda m: "\u2400" if m.group() == "\x00" else "\ufffd", text)


def one_line(text: str) -> str:
    """A single display line: newlines and tabs become spaces, controls become symbols."""
    return visible(text).replace("\r", " ").replace("\n", " ").replace("\t", " ")


def slug(text: str, max_length: int = 60) -> str:
    """`Migration steps (if any):` -> `migration_steps`; used for field and file names."""
    text = re.sub(r"\(.*?\)", "", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-zA-Z0-9]+", "_", text).strip("_").lower()
    return text[:max_length].strip("_")


def markdown_inline(text: str) -> str:
    """Escape what would break a Markdown export's structure (one field on one line)."""
    text = visible(text).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)
    return text.replace("\n", "<br>")


def markdown_block(text: str) -> str:
    """A multi-line field: keep lines, but stop a line from starting a heading or a rule."""
    lines = visible(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(re.sub(r"^(\s*)([#>]|-{3,}|={3,}|\+{3,})", r"\1\\\2", line) for line in lines)


_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def plain(text: str) -> str:
    """A guide item as words: `[Decision Log](./x.md)` shown as `Decision Log` (the stored text is unchanged)."""
    return _MD_LINK.sub(r"\1", text)
