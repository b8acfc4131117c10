"""The status page: what it lists and in which order, escaping, valid HTML, no script, contrast, the export."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from html_check import problems

from octotui.cli import main
from octotui.comms import status_page

HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
HOSTILE_UPDATE = "<script>alert(2)</script> **calm** [click](javascript:alert(3)) ![i](http://evil.example/x.png)"


@pytest.fixture
def hostile(demo_workspace, clock):
    """The demo plus an open P0 with a hostile title and impact, a release titled the same, and two resolved
    incidents: one 10 days ago (listed), one 40 days ago (not)."""
    workspace = demo_workspace
    old = workspace.start_incident("Old outage", "P2", started_at=clock.now() - timedelta(days=41))
    clock.advance(days=-40)
    workspace.set_status(old.id, "Resolved", confirm=True)
    clock.advance(days=30)
    recent = workspace.start_incident("Login slow", "P3", started_at=clock.now() - timedelta(hours=1))
    workspace.set_status(recent.id, "Resolved", confirm=True)
    clock.advance(days=10)
    incident = workspace.start_incident(HOSTILE_TITLE, "P0")
    workspace.set_impact(incident.id, HOSTILE_UPDATE)
    workspace.create_release(version="9.9.9", title=HOSTILE_TITLE, type="major")
    return workspace


def test_open_incidents_first_then_recent_resolved_and_releases(hostile):
    page = status_page.build(hostile)
    assert [i.severity for i in page.open_incidents] == ["P0", "P1"], "most severe first"
    resolved = [i.title for i in page.resolved_incidents]  # the demo's history resolves some lately too
    assert "Login slow" in resolved and "Old outage" not in resolved, "resolved in the last 30 days only"
    assert "9.9.9" in [r.version for r in page.in_flight]
    assert {r.stage for r in page.shipped} <= {"Production", "Verified", "Rolled back"} and page.shipped
    demo = page.open_incidents[1]
    assert demo.next_update and demo.last_update and demo.releases == ["2.4.0 (REL-2)", "2.4.1 (REL-8)"]


def test_every_time_carries_its_zone(hostile):
    html = status_page.render(status_page.build(hostile))
    times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d(?: [A-Z][A-Za-z0-9+:-]*)?", html)
    assert times and all(time.endswith(" UTC") for time in times), times


def test_hostile_text_is_shown_as_text(hostile):
    html = status_page.render(status_page.build(hostile))
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "<strong>calm</strong>" in html, "update text is Markdown"
    elements = re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>", html)
    assert {tag.lower() for tag, _attrs in elements} & {"script", "img", "iframe", "object", "a"} == set()
    attributes = " ".join(attrs for _tag, attrs in elements).lower()
    assert " on" not in attributes and "javascript:" not in attributes
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", attributes), "no external resource"


@pytest.mark.both_backends
def test_controls_from_storage_never_reach_the_page(workspace):
    workspace.start_incident("bell\x07 and \x1b[31mred", "P1")
    html = status_page.render(status_page.build(workspace))
    assert "\x07" not in html and "\x1b" not in html


@pytest.mark.parametrize("inline", [True, False], ids=["served", "exported"])
def test_the_page_validates(hostile, inline):
    html = status_page.render(status_page.build(hostile), stylesheet_href=None if inline else status_page.STYLESHEET,
                              refresh_seconds=60 if inline else None)
    assert problems(html) == []
    assert ('http-equiv="refresh" content="60"' in html) is inline


def test_the_check_finds_what_it_should():
    """The html.parser-based check is not a check that cannot fail."""
    assert problems("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>x</title></head>"
                    "<body><h1>a</h1><p><b>x</p></b></body></html>")
    assert problems("<html><body></body></html>")


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_colour_pair_passes_wcag_aa():
    css = status_page.stylesheet()
    page_background = re.search(r"body\s*{[^}]*background:\s*(#[0-9a-f]{6})", css).group(1)
    pairs = []
    for selector, body in re.findall(r"([^{}]+){([^}]*)}", css):
        colour = re.search(r"(?<![-\w])color:\s*(#[0-9a-f]{6})", body)
        background = re.search(r"background:\s*(#[0-9a-f]{6})", body)
        if colour:
            pairs.append((selector.strip(), colour.group(1), background.group(1) if background else page_background))
    assert len(pairs) >= 10
    failing = [(s, f, b, round(contrast(f, b), 2)) for s, f, b in pairs if contrast(f, b) < 4.5]
    assert failing == []


def test_export_writes_the_page_and_its_stylesheet(demo_workspace, tmp_path, capsys):
    db = str(demo_workspace.store.path)
    out = tmp_path / "site"
    assert main(["--db", db, "export", "status-page", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "status-page.css"]
    html = (out / "index.html").read_text()
    assert '<link rel="stylesheet" href="status-page.css">' in html and problems(html) == []
    assert main(["--db", db, "export", "status-page", "-o", str(out)]) == 0, "its own files are replaced"


def test_export_never_overwrites_a_file_it_did_not_write(demo_workspace, tmp_path, capsys):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("the team's own page")
    assert main(["--db", str(demo_workspace.store.path), "export", "status-page", "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "not written by octotui" in error
    assert (out / "index.html").read_text() == "the team's own page" and not (out / "status-page.css").exists()
    assert main(["--db", str(demo_workspace.store.path), "export", "status-page"]) == 2
    assert "needs -o DIR" in capsys.readouterr().err
