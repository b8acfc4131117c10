"""Decision exports: the team's `octoacme-decision-log.md`, and one MADR 4.0 file per decision."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from octotui.domain.models import Decision
from octotui.domain.text import markdown_block, markdown_inline, slug, visible
from octotui.storage.fs import RefusedPath, make_private_dir, write_atomically

OWNER_MARK = "octotui-record"  # front matter key naming the decision a MADR file was written for
_OWNER_LINE = re.compile(rb'^octotui-record:\s*"(DEC-\d+)"\s*$', re.MULTILINE)
_MADR_NAME = re.compile(r"^\d{4}-.*\.md$")


def decision_log(decisions: list[Decision]) -> str:
    """One Markdown file, newest first."""
    out = ["# OctoAcme Decision Log", ""]
    for decision in sorted(decisions, key=lambda d: d.id, reverse=True):
        out.append(f"## {decision.key}: {markdown_inline(decision.title)}")
        out.append("")
        rows = [("Date", decision.date.isoformat()), ("Status", _status(decision)),
                ("Owner", decision.owner), ("Links", decision.links_label())]
        if decision.item:
            rows.append(("Checklist item", decision.item))
        for label, value in rows:
            out.append(f"- **{label}:** {markdown_inline(value) if value else '—'}")
        for label, value in (("Context", decision.context), ("Decision", decision.decision),
                             ("Alternatives considered", decision.alternatives),
                             ("Consequences", decision.consequences)):
            out += ["", f"**{label}:**", "", markdown_block(value) if value.strip() else "—"]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _status(decision: Decision) -> str:
    text = decision.status_label()
    if decision.supersedes:
        text += f"; supersedes DEC-{decision.supersedes}"
    return text


def madr_filename(decision: Decision) -> str:
    return f"{decision.id:04d}-{slug(decision.title, 50).replace('_', '-') or 'decision'}.md"


def madr(decision: Decision) -> str:
    """A MADR 4.0 record: YAML front matter, then the standard sections."""

    def yaml_string(value: str) -> str:
        return json.dumps(visible(value), ensure_ascii=False)  # JSON strings are valid YAML scalars

    lines = ["---", f"status: {yaml_string(decision.status.value)}", f"date: {decision.date.isoformat()}",
             f"decision-makers: {yaml_string(decision.owner)}", f"{OWNER_MARK}: {yaml_string(decision.key)}"]
    if decision.superseded_by:
        lines.append(f"superseded-by: {yaml_string(f'DEC-{decision.superseded_by}')}")
    lines += ["---", "", f"# {markdown_inline(decision.title)}", "",
              "## Context and Problem Statement", "", markdown_block(decision.context) or "—", "",
              "## Considered Options", ""]
    options = [line.strip(" -*") for line in decision.alternatives.splitlines() if line.strip(" -*")]
    lines += [f"* {markdown_inline(decision.title)} (chosen)"] + [f"* {markdown_inline(option)}" for option in options]
    lines += ["", "## Decision Outcome", "", f"Chosen option: {markdown_block(decision.decision)}", "",
              "### Consequences", "", markdown_block(decision.consequences) or "—", "",
              "## More Information", "", f"- Record: {decision.key}"]
    if decision.links_label():
        lines.append(f"- Links: {decision.links_label()}")
    if decision.supersedes:
        lines.append(f"- Supersedes DEC-{decision.supersedes}")
    if decision.superseded_by:
        lines.append(f"- Superseded by DEC-{decision.superseded_by}")
    if decision.item:
        lines.append(f"- Checklist item: {markdown_inline(decision.item)}")
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str, protected: Iterable[Path] = ()) -> None:
    """Exports may hold incident details: written through the one safe writer (0600, atomic, no links
    followed, never onto octotui's own database or lock)."""
    write_atomically(Path(path), text.encode("utf-8"), protected=protected)


def write_export(path: Path, text: str, protected: Iterable[Path] = (), *, force: bool = False) -> None:
    """An export's `-o PATH`: a new file is created (never onto one that appears meanwhile); an existing
    link, device, FIFO or folder is refused (never followed, never replaced); an existing regular file is
    someone's unless `force` says it may be replaced (RefusedPath for each refusal)."""
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        try:
            write_atomically(path, text.encode("utf-8"), protected=protected, exclusive=True)
        except FileExistsError:
            raise RefusedPath(_NOT_OURS.format(path=path)) from None
        return
    if stat.S_ISLNK(mode):
        raise RefusedPath(f"{path} is a link; refusing to follow or replace it (give another path)")
    if stat.S_ISDIR(mode):
        raise RefusedPath(f"{path} is a folder; give a file path")
    if not stat.S_ISREG(mode):
        raise RefusedPath(f"{path} is not a regular file; refusing to write to it (use `-o -` for standard output)")
    if not force:
        raise RefusedPath(_NOT_OURS.format(path=path))
    write_private(path, text, protected)


_NOT_OURS = "{path} exists and was not written by this export; pass --force to replace it"


@dataclass
class MadrExport:
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)  # our own files for a decision whose title changed
    clashes: list[Path] = field(default_factory=list)  # a file of that name exists that octotui did not write
    # Someone else's file under a number octotui wrote (`0001-mine.md` beside `0001-adopt-semver.md`): both kept.
    shared_numbers: list[tuple[Path, Path]] = field(default_factory=list)  # (theirs, ours)


def _written_for(path: Path) -> str | None:
    """The decision a MADR file was written for, read from its front matter; None if not octotui's."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    if not head.startswith(b"---"):
        return None
    front = head.split(b"\n---", 1)[0]
    match = _OWNER_LINE.search(front)
    return match.group(1).decode() if match else None


def write_madr_dir(decisions: list[Decision], directory: Path, protected: Iterable[Path] = ()) -> MadrExport:
    """One file per decision. Files octotui wrote are updated (a renamed title replaces its old file);
    any other file is never overwritten or deleted: a name clash is reported instead."""
    make_private_dir(directory)
    ours: dict[str, list[Path]] = {}
    foreign: list[Path] = []
    for entry in directory.iterdir():
        if _MADR_NAME.match(entry.name) and entry.is_file() and not entry.is_symlink():
            key = _written_for(entry)
            if key is not None:
                ours.setdefault(key, []).append(entry)
            else:
                foreign.append(entry)
    result = MadrExport()
    for decision in decisions:
        target = directory / madr_filename(decision)
        mine = ours.get(decision.key, [])
        if os.path.lexists(target) and target not in mine:
            result.clashes.append(target)
            continue
        write_private(target, madr(decision), protected)
        result.written.append(target)
        for stale in mine:
            if stale != target:
                stale.unlink()
                result.removed.append(stale)
    for target in result.written:
        result.shared_numbers += [(theirs, target) for theirs in sorted(foreign)
                                  if theirs.name[:5] == target.name[:5] and theirs not in result.clashes]
    return result
