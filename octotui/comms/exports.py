"""Decision exports: the team's `octoacme-decision-log.md`, and one MADR 4.0 file per decision."""

from __future__ import annotations

import json
import os
from pathlib import Path

from octotui.domain.models import Decision
from octotui.domain.text import markdown_block, markdown_inline, slug, visible


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
             f"decision-makers: {yaml_string(decision.owner)}"]
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


def write_private(path: Path, text: str) -> None:
    """Exports may hold incident details: created 0600, replaced atomically."""
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temp, path)


def write_madr_dir(decisions: list[Decision], directory: Path) -> list[Path]:
    """One file per decision; re-running updates files (a renamed title replaces the old file)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for decision in decisions:
        name = madr_filename(decision)
        for stale in directory.glob(f"{decision.id:04d}-*.md"):
            if stale.name != name:
                stale.unlink()
        target = directory / name
        write_private(target, madr(decision))
        written.append(target)
    return written
