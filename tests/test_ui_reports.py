"""Pilot tests: the Reports screen on key 6 (computed in a thread, saying so; periods; help; 80x24)."""

from __future__ import annotations

import threading

from conftest import AWKWARD
from rich.console import Console

from octotui.domain.models import Severity
from octotui.ui.forms import FormScreen
from octotui.ui.help import HelpScreen


def text_of(app, widget_id: str, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(app.screen.query_one(widget_id).content)
    return console.export_text()


async def computed(pilot) -> None:
    await pilot.app.workers.wait_for_complete([w for w in pilot.app.workers if w.group == "reports"])
    await pilot.pause()


async def test_key_6_shows_computing_then_the_numbers(demo_workspace, make_app, monkeypatch) -> None:
    from octotui.ui.screens import reports

    gate = threading.Event()
    real = reports.build_report
    calls = []

    def held(*args, **kwargs):
        calls.append(args[2])
        gate.wait(timeout=30)
        return real(*args, **kwargs)

    monkeypatch.setattr(reports, "build_report", held)
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("6")
        assert isinstance(app.screen, reports.ReportsScreen)
        assert "computing…" in text_of(app, "#report-period")  # the loop is free while the thread reads
        assert app.screen.computing
        gate.set()
        await computed(pilot)
        assert not app.screen.computing and "computing" not in text_of(app, "#report-period")
        keys = text_of(app, "#report-keys")
        # The demo's last 90 days: 22 deployments (1.71 a week), 11 in the 90 days before (0.86): more is better.
        assert "Deploys/week" in keys and "1.71 (22)" in keys and "0.86 (11)" in keys and "↑ better" in keys
        assert "32.1 h p90 54.1 h" in keys and "32% (7/22)" in keys and "2.5 h (0 open)" in keys and "75% of 24" in keys
        severity = text_of(app, "#report-severity")
        assert "P1" in severity and "12.5/12.5 m" in severity  # acknowledged after 9 and 16 minutes
        assert len(calls) == 1 and calls[0].since is not None


async def test_periods_cycle_and_since_until_checks_what_is_typed(demo_workspace, make_app) -> None:
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("6")
        await computed(pilot)
        assert "Last 90 days" in text_of(app, "#report-period")
        await pilot.press("p")
        await computed(pilot)
        assert "Last 365 days" in text_of(app, "#report-period")
        await pilot.press("p")
        await computed(pilot)
        assert "All time" in text_of(app, "#report-period") and "(33)" in text_of(app, "#report-keys")
        await pilot.press("s")
        assert isinstance(app.screen, FormScreen)
        app.screen.query_one("#f-since").value = "2026-13-45"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, FormScreen)  # refused, next to the field, nothing typed lost
        assert "not a date" in str(app.screen.query_one("#e-since").render())
        assert app.screen.query_one("#f-since").value == "2026-13-45"
        app.screen.query_one("#f-since").value = "2026-12-01"
        app.screen.query_one("#f-until").value = "2026-11-01"
        await pilot.press("ctrl+s")
        assert "must be before until" in str(app.screen.query_one("#e-since").render())
        app.screen.query_one("#f-since").value = "2026-01-01"
        app.screen.query_one("#f-until").value = "2026-02-01"
        await pilot.press("ctrl+s")
        await computed(pilot)
        label = text_of(app, "#report-period")
        assert "2026-01-01 00:00 to 2026-02-01 00:00" in label and "no deployments in this period" in label
        assert "— (0)" not in text_of(app, "#report-keys") and "0.00 (0)" in text_of(app, "#report-keys")


async def test_the_help_says_what_each_number_means(demo_workspace, make_app) -> None:
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("6")
        await computed(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        notes = str(app.screen.query_one("#help-notes").render())
        for name in ("Deployments", "Lead time", "Change failure rate", "Recovery time", "MTTA / MTTR",
                     "Updates on time"):
            assert name in notes
        assert "production_at − created_at" in notes


async def test_80x24_keeps_every_number_and_shrinks_the_charts(demo_workspace, make_app) -> None:
    app = make_app(demo_workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        await computed(pilot)
        screen = app.screen
        footer_top = 23
        for widget_id in ("#report-period", "#report-keys", "#report-severity"):
            region = screen.query_one(widget_id).region
            assert region.height > 0 and region.bottom <= footer_top, widget_id
        keys = text_of(app, "#report-keys", width=screen.query_one("#report-keys").region.width)
        assert "…" not in keys  # nothing cut short
        assert all(label in keys for label in ("Deploys/wk", "Lead time", "Fail rate", "Recovery", "Updates ok"))
        assert "1.71 (22)" in keys and "32.1h p90 54.1h" in keys and "32% (7/22)" in keys and "2.5h (0)" in keys
        severity = text_of(app, "#report-severity", width=screen.query_one("#report-severity").region.width)
        assert all(f"P{n}" in severity for n in range(4)) and "…" not in severity and "12.5/12.5" in severity  # as the export says: not rounded to 12
        charts = screen.query_one("#report-charts").region
        assert charts.height >= 4 and charts.bottom <= footer_top


async def test_hostile_titles_never_reach_the_terminal(demo_workspace, make_app) -> None:
    demo_workspace.start_incident(AWKWARD, Severity.P0)
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("6")
        await computed(pilot)
        assert "P0" in text_of(app, "#report-severity")
        screenshot = app.export_screenshot()
        assert "\x1b" not in screenshot and "]52;" not in screenshot and "[bold]x" not in screenshot


async def test_a_change_elsewhere_computes_again(demo_workspace, make_app, clock) -> None:
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("6")
        await computed(pilot)
        before = app.screen.report.metrics.incidents["P1"][0]
        await pilot.press("i", *"Search is down", "enter")
        clock.advance(minutes=1)  # the period ends now, excluded: the incident started a minute ago
        await pilot.press("6")
        await computed(pilot)
        assert app.screen.report.metrics.incidents["P1"][0] == before + 1  # the new incident is counted


def test_start_up_never_imports_plotext() -> None:
    import subprocess
    import sys

    code = ("import sys, octotui.cli, octotui.ui.app, octotui.services.workspace; "
            "print(sorted(m for m in sys.modules if 'plotext' in m or m.endswith('reports')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]"


async def test_the_palette_names_the_reports(demo_workspace, make_app) -> None:
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"view: reports", "reports: change period", "reports: since/until"} <= titles
        app.run_command("reports", "next_period")
        await pilot.pause()
        await computed(pilot)
        assert app.current_mode == "reports" and "Last 365 days" in text_of(app, "#report-period")
