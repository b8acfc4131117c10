"""The status page for stakeholders: open incidents first, then what was resolved and shipped lately.

Plain HTML and CSS (no JavaScript, no external resource), filled by Jinja2 with auto-escaping from
`data/status-page.html`; an update's text is Markdown rendered by markdown-it-py with raw HTML off. Every
stored string passes the display boundary (`domain.text`) first; every time carries its zone, as in the
comms templates. `octotui serve` shows it at /status; `octotui export status-page -o DIR` writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from octotui.domain.config import data_path
from octotui.domain.models import Incident, Release
from octotui.domain.stages import Stage
from octotui.domain.text import one_line, visible

RECENT = timedelta(days=30)
STYLESHEET = "status-page.css"
IN_FLIGHT = (Stage.PLANNED, Stage.GATE_PASSED, Stage.STAGING, Stage.ROLLING_BACK)
SHIPPED = (Stage.PRODUCTION, Stage.VERIFIED, Stage.ROLLED_BACK)


class StatusSource(Protocol):
    """What the page reads (the workspace is one)."""

    def now(self) -> datetime: ...
    def releases(self) -> list[Release]: ...
    def incidents(self) -> list[Incident]: ...
    def next_update_due(self, incident: Incident) -> datetime | None: ...
    def people_time(self, moment: datetime | None, with_date: bool = True) -> str: ...


@dataclass(frozen=True)
class IncidentView:
    key: str
    title: str
    severity: str
    status: str
    started: str
    resolved: str
    last_update: str  # when the last update was sent, with its zone ("" if none yet)
    update_html: Markup  # what stakeholders were last told (impact, current actions), as Markdown
    next_update: str
    releases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReleaseView:
    key: str
    version: str
    title: str
    stage: str
    stage_class: str
    shipped: str


@dataclass(frozen=True)
class StatusPage:
    generated: str
    open_incidents: list[IncidentView]
    resolved_incidents: list[IncidentView]
    in_flight: list[ReleaseView]
    shipped: list[ReleaseView]


# No raw HTML; no links or images either (a stakeholder page loads nothing and points nowhere it did not mean to).
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable(["image", "link", "autolink"])


def update_markdown(text: str) -> Markup:
    """A stored text as Markdown (emphasis, lists, code): raw HTML, links and images are shown as text."""
    return Markup(_MARKDOWN.render(visible(text)))


def build(source: StatusSource) -> StatusPage:
    now = source.now()
    versions = {release.id: release for release in source.releases()}
    incidents = source.incidents()
    open_ones = sorted((i for i in incidents if i.open), key=lambda i: (i.severity.value, i.started_at))
    resolved = sorted((i for i in incidents if not i.open and i.resolved_at and now - i.resolved_at <= RECENT),
                      key=lambda i: i.resolved_at or now, reverse=True)
    in_flight, shipped = [], []
    for release in sorted(versions.values(), key=lambda r: r.id, reverse=True):
        stage = release.stage
        shipped_at = _shipped_at(release)
        if stage in IN_FLIGHT:
            in_flight.append(_release_view(release, stage, shipped_at, source.people_time))
        elif stage in SHIPPED and shipped_at is not None and now - shipped_at <= RECENT:
            shipped.append(_release_view(release, stage, shipped_at, source.people_time))
    return StatusPage(
        generated=source.people_time(now),
        open_incidents=[_incident_view(i, source, versions) for i in open_ones],
        resolved_incidents=[_incident_view(i, source, versions) for i in resolved],
        in_flight=in_flight,
        shipped=shipped,
    )


def _shipped_at(release: Release) -> datetime | None:
    work = release.runs.get(release.work_role)
    times = [item.at for item in work.items if item.stage == "production" and item.settled and item.at] if work else []
    return min(times, default=None)


def _release_view(release: Release, stage: Stage, shipped_at: datetime | None,
                  people_time: Callable[..., str]) -> ReleaseView:
    return ReleaseView(release.key, one_line(release.version), one_line(release.title), stage.value,
                       stage.name.lower().replace("_", "-"), people_time(shipped_at) if shipped_at else "")


def _incident_view(incident: Incident, source: StatusSource, releases: dict[int, Release]) -> IncidentView:
    told = []
    if incident.impact.strip():
        told.append(f"**Impact:** {incident.impact}")
    if incident.current_actions.strip():
        told.append(f"**What we are doing:** {incident.current_actions}")
    due = source.next_update_due(incident) if incident.open else None
    linked = [f"{releases[n].version} ({releases[n].key})" if n in releases else f"REL-{n}" for n in incident.release_ids]
    return IncidentView(
        key=incident.key, title=one_line(incident.title), severity=incident.severity.value,
        status=incident.status.value, started=source.people_time(incident.started_at),
        resolved=source.people_time(incident.resolved_at) if incident.resolved_at else "",
        last_update=source.people_time(incident.last_update_at) if incident.last_update_at else "",
        update_html=update_markdown("\n\n".join(told)) if told else Markup(""),
        next_update=(source.people_time(due) + (" (overdue)" if due < source.now() else "")) if due else "",
        releases=[one_line(text) for text in linked],
    )


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(data_path())), autoescape=select_autoescape(default=True),
                       keep_trailing_newline=True)


def render(page: StatusPage, *, stylesheet_href: str | None = None, refresh_seconds: int | None = None) -> str:
    """The page as HTML: the stylesheet inline (one self-contained page), or linked beside it."""
    css = "" if stylesheet_href else stylesheet()
    template = _environment().get_template("status-page.html")
    return template.render(page=page, css=css, stylesheet_href=stylesheet_href, refresh_seconds=refresh_seconds)


def stylesheet() -> str:
    return data_path(STYLESHEET).read_text(encoding="utf-8")


MARKS = {"index.html": b"<!DOCTYPE html>\n<!-- octotui status page -->", STYLESHEET: b"/* octotui status page"}


def not_ours(folder: Path) -> list[Path]:
    """Files of the page's names in `folder` that octotui did not write (they are never overwritten)."""
    clashes = []
    for name, mark in MARKS.items():
        path = folder / name
        if path.is_symlink() or (path.exists() and not _starts_with(path, mark)):
            clashes.append(path)
    return clashes


def _starts_with(path: Path, mark: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(mark)) == mark
    except OSError:
        return False


def write(source: StatusSource, folder: Path, write_file: Callable[[Path, str], None]) -> list[Path]:
    """`index.html` and its stylesheet into `folder`, through the given safe writer (the caller checked
    `not_ours` first)."""
    page = render(build(source), stylesheet_href=STYLESHEET)
    written = [folder / "index.html", folder / STYLESHEET]
    write_file(written[0], page)
    write_file(written[1], stylesheet())
    return written
