"""The guide as data: checklists and template fields parsed from a Markdown playbook.

A checklist is the list under a heading. `<!-- octotui: checklist ROLE -->` under a heading says
which job it does in the app (a ChecklistRole); any other heading with `- [ ]` items is an extra
checklist, keyed by its heading's slug, run for each release, or for each incident when it says
`<!-- octotui: checklist-for incident -->` or its heading (or one it sits under) names an incident.
Item flags (optional, mentions the Decision Log, timed) come from the item's words.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from octotui.domain.config import ConfigProblem, data_path
from octotui.domain.record import Record
from octotui.domain.roles import (
    DEFAULTED_ROLES,
    REQUIRED_ROLES,
    STAGED_ROLES,
    ChecklistRole,
    MissingChecklist,
)
from octotui.domain.text import slug

FIELD_ROLES = ("release-notes", "incident-communication")
REQUIRED_FIELD_ROLES = ("release-notes",)

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MARKER = re.compile(r"^<!--\s*octotui:\s*(checklist|fields)\s+([\w-]+)\s*-->\s*$")
_ITEM = re.compile(r"^[-*]\s+(?:\[([ xX])\]\s+)?(.*)$")
_SCOPE_MARKER = re.compile(r"^<!--\s*octotui:\s*checklist-for\s+([\w-]+)\s*-->\s*$")
_INCIDENT_HEADING = re.compile(r"\bincident", re.IGNORECASE)
_ANNOTATION = re.compile(r"\s*<!--\s*(stage|followup|auto):\s*([\w-]+)\s*-->\s*$")
_OPTIONAL = re.compile(r"\(?\bif (?:needed|applicable)\b\)?", re.IGNORECASE)
_DECISION_LOG = re.compile(r"decision log", re.IGNORECASE)
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_DEADLINE = re.compile(r"\bwithin\s+(\d+)\s*(minute|hour|day)s?\b", re.IGNORECASE)
_WINDOW = re.compile(r"\bfor\s+(\d+)\+?\s*(minute|hour|day)s?\b", re.IGNORECASE)
_BAD_BOX = re.compile(r"^\[[^\]]{0,3}\](?!\()")  # `- [?] x`, `- [] x`, `- [ ]x`: a checkbox gone wrong
_PLAIN_ITEM = re.compile(r"^(\s*)[-*]\s+(.*)$")
STAGE_ANNOTATIONS = ("staging", "production")
# Facts the app itself sees happen; an item annotated `<!-- auto: FACT -->` is ticked by "auto" when it does.
AUTO_FACTS = ("severity", "commander", "roles", "channel", "update", "resolution", "hotfix", "decision")
FOLLOWUP_KINDS = ("release", "postmortem")


class Timing(Record):
    """`monitor for 30+ minutes` is a window; `within 48 hours` is a deadline."""

    kind: Literal["window", "deadline"]
    seconds: int
    phrase: str


class ItemSpec(Record):
    text: str
    optional: bool = False
    mentions_decision_log: bool = False
    timing: Timing | None = None
    stage: str | None = None
    followup: str | None = None
    auto: str | None = None


Scope = Literal["release", "incident"]
SCOPES: tuple[Scope, ...] = ("release", "incident")


class ChecklistSpec(Record):
    name: str
    role: ChecklistRole | None
    line: int
    items: list[ItemSpec]
    scope: Scope | None = None  # one of the guide's own checklists (no role): whose run it is
    # A plain list the guide keeps beside this checklist (e.g. "Rollback & Incident Playbook" for the rollback
    # checklist): not items to tick, shown as reference text. (heading, lines with their nesting)
    reference: list[tuple[str, list[str]]] = []

    @property
    def key(self) -> str:
        """What names its runs (RunRef.role, the runs' key in storage): the role, else the heading's slug."""
        return self.role.value if self.role is not None else slug(self.name)


class FieldSpec(Record):
    label: str
    key: str


class PlaybookError(ConfigProblem):
    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass
class Playbook:
    path: str
    checklists: dict[str, ChecklistSpec]
    fields: dict[str, list[FieldSpec]] = field(default_factory=dict)
    inferred: list[str] = field(default_factory=list)  # roles read from headings (no annotation), for --check
    defaults: list[str] = field(default_factory=list)  # roles the guide lacks, taken from octotui's defaults
    missing: list[ChecklistRole] = field(default_factory=list)  # roles the guide lacks: flows needing one say so

    def by_role(self, role: ChecklistRole) -> ChecklistSpec:
        """The guide's checklist for a role; MissingChecklist (one line, the fix) when the guide has none."""
        for checklist in self.checklists.values():
            if checklist.role == role:
                return checklist
        raise MissingChecklist(role)

    def has(self, role: ChecklistRole) -> bool:
        return role not in self.missing

    def extras(self, scope: Scope) -> list[ChecklistSpec]:
        """The guide's checklists with no role, run for each release (or incident) after the built-in ones."""
        return [c for c in self.checklists.values() if c.role is None and c.scope == scope]


def parse_timing(text: str) -> Timing | None:
    for kind, pattern in (("deadline", _DEADLINE), ("window", _WINDOW)):
        match = pattern.search(text)
        if match:
            seconds = int(match.group(1)) * _UNITS[match.group(2).lower()]
            return Timing(kind=kind, seconds=seconds, phrase=match.group(0))
    return None


def parse_item(text: str) -> ItemSpec:
    found: dict[str, str] = {}
    while match := _ANNOTATION.search(text):
        found[match.group(1)] = match.group(2)
        text = text[: match.start()]
    text = text.rstrip()
    return ItemSpec(
        text=text,
        optional=bool(_OPTIONAL.search(text)),
        mentions_decision_log=bool(_DECISION_LOG.search(text)),
        timing=parse_timing(text),
        stage=found.get("stage"),
        followup=found.get("followup"),
        auto=found.get("auto"),
    )


# A guide as published carries no annotations: each job is found by its heading. Annotations still win.
_ROLE_HEADINGS: list[tuple[str, str, re.Pattern[str]]] = [
    ("checklist", ChecklistRole.GATE, re.compile(r"pre-?release requirement", re.IGNORECASE)),
    ("checklist", ChecklistRole.HOTFIX, re.compile(r"hotfix", re.IGNORECASE)),
    ("checklist", ChecklistRole.ROLLBACK, re.compile(r"rollback", re.IGNORECASE)),
    ("checklist", ChecklistRole.ESCALATION, re.compile(r"escalation", re.IGNORECASE)),
    ("checklist", ChecklistRole.DEPLOYMENT, re.compile(r"deploy", re.IGNORECASE)),
    ("fields", "release-notes", re.compile(r"release notes", re.IGNORECASE)),
    ("fields", "incident-communication", re.compile(r"communication", re.IGNORECASE)),
]
_INFERRED_STAGE = [(re.compile(r"^deploy(?:ed)? to staging\b", re.IGNORECASE), "staging"),
                   (re.compile(r"^deploy(?:ed)? to production\b", re.IGNORECASE), "production")]
_INFERRED_FOLLOWUP = re.compile(r"^backport\b", re.IGNORECASE)


def _headings_with_lists(lines: list[str]) -> list[tuple[str, bool]]:
    """Each heading in order, and whether a list with checkboxes (`- [ ]`) sits right under it."""
    found: list[tuple[str, bool]] = []
    for raw in lines:
        if match := _HEADING.match(raw.rstrip()):
            found.append((match.group(2).strip(), False))
        elif found and re.match(r"^[-*]\s+\[[ xX]\]", raw):
            found[-1] = (found[-1][0], True)
    return found


def _infer_roles(lines: list[str]) -> dict[str, tuple[str, str]]:
    """Heading -> (kind, role) for every role the guide does not mark itself."""
    marked = {match.group(2) for raw in lines if (match := _MARKER.match(raw.strip()))}
    headings = _headings_with_lists(lines)
    taken: set[str] = set()
    inferred: dict[str, tuple[str, str]] = {}
    for kind, role, pattern in _ROLE_HEADINGS:
        if role in marked:
            continue
        for name, has_checkboxes in headings:
            plain_gate = role == ChecklistRole.GATE  # the gate is often a plain list ("- item"), the others checklists
            if name not in taken and pattern.search(name) and (kind == "fields" or has_checkboxes or plain_gate):
                inferred[name] = (kind, role)
                taken.add(name)
                break
    if ChecklistRole.GATE not in marked and not any(role == ChecklistRole.GATE for _kind, role in inferred.values()):
        first = next((name for name, has_checkboxes in headings if has_checkboxes and name not in taken), None)
        if first is not None:
            inferred[first] = ("checklist", ChecklistRole.GATE)
    return inferred


def parse_playbook(source: str, path: str = "<playbook>") -> Playbook:
    checklists: dict[str, ChecklistSpec] = {}
    fields: dict[str, list[FieldSpec]] = {}
    heading: tuple[str, int] | None = None
    marker: tuple[str, str, int] | None = None  # (kind, role, line) of the current heading
    scope: Scope | None = None  # `checklist-for` under the current heading
    parents: list[tuple[int, str]] = []  # the headings the current one sits under: (level, name)
    heading_level = 0
    items: list[ItemSpec] = []
    item_lines: list[int] = []
    plain_lines: list[str] = []  # a plain list under a heading that is no checklist (kept as reference text)
    references: dict[str, list[tuple[str, list[str]]]] = {}
    in_comment = False
    comment_line = 0

    def close_section() -> None:
        if heading is None:
            return
        name, line = heading
        if marker is None and not items:
            role = next((role for kind, role, pattern in _ROLE_HEADINGS if kind == "checklist" and pattern.search(name)),
                        None)
            if role is not None and plain_lines:
                references.setdefault(role, []).append((name, list(plain_lines)))
            return
        if marker is not None and not items:
            raise PlaybookError(path, marker[2], f"heading {name!r} is marked as {marker[0]} {marker[1]!r} but has no items")
        if marker is not None and marker[0] == "fields":
            labels = [item.text.rstrip(":").strip() for item in items]
            fields[marker[1]] = [FieldSpec(label=label, key=slug(label)) for label in labels]
            return
        if name in checklists:
            raise PlaybookError(path, line, f"duplicate checklist name {name!r} (first at line {checklists[name].line})")
        for item_line, item in zip(item_lines, items, strict=True):
            if item.stage is not None and item.stage not in STAGE_ANNOTATIONS:
                raise PlaybookError(path, item_line, f"unknown stage {item.stage!r} (use one of {', '.join(STAGE_ANNOTATIONS)})")
            if item.auto is not None and item.auto not in AUTO_FACTS:
                raise PlaybookError(path, item_line, f"unknown auto fact {item.auto!r} (use one of {', '.join(AUTO_FACTS)})")
            if item.followup is not None and item.followup not in FOLLOWUP_KINDS:
                raise PlaybookError(path, item_line, f"unknown followup {item.followup!r} (use one of {', '.join(FOLLOWUP_KINDS)})")
            if not item.text:
                raise PlaybookError(path, item_line, "checklist item has no text")
        role = ChecklistRole(marker[1]) if marker else None
        if role is not None and scope is not None:
            raise PlaybookError(path, line, f"checklist {name!r} has the role {role.value!r}: `checklist-for` is for a "
                                            "checklist without a role")
        placed = scope
        if role is None and placed is None:  # placed under (or named for) an incident: each incident runs it
            under = [text for _level, text in parents] + [name]
            placed = "incident" if any(_INCIDENT_HEADING.search(text) for text in under) else "release"
        spec = ChecklistSpec(name=name, role=role, line=line, items=list(items), scope=placed)
        taken = next((c for c in checklists.values() if c.key == spec.key), None)
        if role is None and (taken is not None or spec.key in set(ChecklistRole)):
            clash = f"as {taken.name!r} is" if taken is not None else "a built-in role's name"
            raise PlaybookError(path, line, f"checklist {name!r} would be named {spec.key!r}, {clash}: rename its heading")
        checklists[name] = spec

    lines = source.splitlines()
    inferred = _infer_roles(lines)
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if in_comment:
            in_comment = "-->" not in stripped
            continue
        if stripped.startswith("<!--") and "-->" not in stripped:
            in_comment, comment_line = True, number
            continue
        if match := _HEADING.match(line):
            close_section()
            level = len(match.group(1))
            if heading is not None:
                parents.append((heading_level, heading[0]))
            parents = [(lv, text) for lv, text in parents if lv < level]  # the headings this one sits under
            heading_level = level
            heading, marker, items, item_lines, plain_lines = (match.group(2).strip(), number), None, [], [], []
            scope = None
            if heading[0] in inferred:
                marker = (*inferred[heading[0]], number)
            continue
        if match := _SCOPE_MARKER.match(stripped):
            if match.group(1) not in SCOPES:
                raise PlaybookError(path, number, f"unknown checklist-for {match.group(1)!r} (use one of "
                                                  f"{', '.join(SCOPES)})")
            if heading is None:
                raise PlaybookError(path, number, "`checklist-for` is not under a heading")
            scope = "incident" if match.group(1) == "incident" else "release"
            continue
        if match := _MARKER.match(stripped):
            kind, role = match.groups()
            known = tuple(ChecklistRole) if kind == "checklist" else FIELD_ROLES
            if role not in known:
                raise PlaybookError(path, number, f"unknown {kind} role {role!r} (known: {', '.join(known)})")
            if heading is None:
                raise PlaybookError(path, number, f"marker for {kind} {role!r} is not under a heading")
            marker = (kind, role, number)
            continue
        if heading is not None and (plain := _PLAIN_ITEM.match(line)):
            plain_lines.append("  " * (len(plain.group(1).expandtabs(2)) // 2) + "• " + plain.group(2).strip())
        if line[:1] in "-*" and (match := _ITEM.match(line)):
            checkbox, text = match.groups()
            if checkbox is None and (bad := _BAD_BOX.match(text)):
                raise PlaybookError(path, number, f"malformed checkbox {bad.group(0)!r}: a checklist item is "
                                                  "`- [ ] text` (or `- [x] text`)")
            if heading is not None and (marker is not None or checkbox is not None):
                item = parse_item(text)
                if heading[0] in inferred and item.stage is None:
                    item.stage = next((stage for pattern, stage in _INFERRED_STAGE if pattern.search(item.text)), None)
                if heading[0] in inferred and item.followup is None and _INFERRED_FOLLOWUP.search(item.text):
                    item.followup = "release"
                items.append(item)
                item_lines.append(number)
            continue
    if in_comment:
        raise PlaybookError(path, comment_line, "this HTML comment is never closed (no `-->` after it)")
    close_section()

    if not checklists:
        raise PlaybookError(path, max(1, len(lines)), "no checklists found (a checklist is `- [ ] item` lines under a heading)")
    seen_roles: dict[ChecklistRole, str] = {}
    for checklist in checklists.values():
        if checklist.role:
            if checklist.role in seen_roles:
                raise PlaybookError(path, checklist.line, f"checklist role {checklist.role.value!r} is used twice ({seen_roles[checklist.role]!r} and {checklist.name!r})")
            seen_roles[checklist.role] = checklist.name
    defaults: list[str] = []
    missing: list[ChecklistRole] = []
    for role in ChecklistRole:
        if role not in seen_roles:
            default = _default_checklist(role) if role in DEFAULTED_ROLES else None
            if default is None and role in REQUIRED_ROLES:
                raise PlaybookError(path, 1, f"no checklist is marked `{role.marker}` and no heading names it")
            if default is None:
                missing.append(role)
                continue
            checklists[default.name] = default
            defaults.append(role.value)
    for role in STAGED_ROLES:
        staged = next((c for c in checklists.values() if c.role == role), None)
        if staged is None or role in defaults:
            continue
        for stage in STAGE_ANNOTATIONS:
            if all(item.stage != stage for item in staged.items):
                raise PlaybookError(path, staged.line, f"the {role} checklist {staged.name!r} has no item that moves "
                                    f"a release to {stage.capitalize()}: start one with “Deploy to {stage}” or end "
                                    f"it with `<!-- stage: {stage} -->`")
    for role, found in references.items():
        owner = next((c for c in checklists.values() if c.role == role), None)
        if owner is not None:
            owner.reference = found
    for role in REQUIRED_FIELD_ROLES:
        if role not in fields:
            raise PlaybookError(path, 1, f"no field list is marked `<!-- octotui: fields {role} -->`")
    if "incident-communication" not in fields and path != _BUNDLED_NAME:
        fields["incident-communication"] = bundled_playbook().fields.get("incident-communication", [])
        defaults.append("incident-communication")
    inferred_roles = [str(role) for _kind, role in inferred.values()]
    return Playbook(path=path, checklists=checklists, fields=fields, inferred=inferred_roles, defaults=defaults,
                    missing=missing)


# What octotui brings when a team's guide has none: its own escalation checklist (roles.DEFAULTED_ROLES) and
# update fields.
_BUNDLED_NAME = "<octotui defaults>"


@functools.cache
def bundled_playbook() -> Playbook:
    """octotui's own guide, parsed once: where a team's guide lacks something, and what the demo replays."""
    return parse_playbook(data_path("playbook.md").read_text(encoding="utf-8"), _BUNDLED_NAME)


def _default_checklist(role: ChecklistRole) -> ChecklistSpec | None:
    try:
        return bundled_playbook().by_role(role)
    except MissingChecklist:
        return None


def load_playbook(path: Path | None = None) -> Playbook:
    """Read and parse a playbook; the bundled guide when no path is given."""
    if path is None:
        resource = data_path("playbook.md")
        return parse_playbook(resource.read_text(encoding="utf-8"), str(resource))
    try:
        raw = Path(path).read_bytes()
    except IsADirectoryError:
        raise PlaybookError(str(path), 0, "is a directory, not a playbook file") from None
    except OSError as error:
        raise PlaybookError(str(path), 0, f"cannot read: {error.strerror or error}") from None
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise PlaybookError(str(path), line, "is not valid UTF-8") from None
    return parse_playbook(source, str(path))

