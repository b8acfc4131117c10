"""Pilot tests: the Reports screen on key 6 (computed in a thread, saying so; periods; help; 80x24)."""

from __future__ import annotations

import threading

from conftest import AWKWARD
from rich.console import Console
from scenes import reports_settled

from octotui.domain.models import Severity
from octotui.ui.forms import FormScreen
from octotui.ui.help import HelpScreen


def text_of(app, widget_id: str, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(app.screen.query_one(widget_id).content)
    return console.export_text()


computed = reports_settled  # the numbers, then the charts


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


def chart_lines(app, widget_id: str) -> list[str]:
    widget = app.screen.query_one(widget_id)
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def test_80x24_bars_of_1_2_and_3_deploys_differ_and_ticks_are_whole(demo_workspace, make_app) -> None:
    app = make_app(demo_workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        await computed(pilot)
        assert {1, 2, 3} <= {week.deployments for week in app.screen.report.metrics.weekly}  # the demo's 90 days
        lines = chart_lines(app, "#chart-deploys")
        plot = [line for line in lines if "┤" in line or line.lstrip().startswith("│")]
        assert len(plot) == 3  # three rows of bars at 80x24
        heights = {sum(line[column] == "█" for line in plot) for column in range(len(plot[0]))} - {0}
        assert heights == {1, 2, 3}  # one row per deployment: a week of 1 and a week of 2 look different
        assert [line.split("┤")[0].strip() for line in plot] == ["3", "2", "1"]


async def test_charts_are_laid_out_off_the_event_loop(demo_workspace, make_app, monkeypatch) -> None:
    from textual_plotext.plot import Plot

    real, threads = Plot.build, []

    def build(plot):
        threads.append(threading.current_thread())
        return real(plot)

    monkeypatch.setattr(Plot, "build", build)
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("6")
        await computed(pilot)
        assert "Deploys per week" in "\n".join(chart_lines(app, "#chart-deploys"))
        assert "Lead time & MTTR" in "\n".join(chart_lines(app, "#chart-trends"))
        assert threads and threading.main_thread() not in threads  # plotext's tens of ms never hold a frame


async def test_the_reports_module_is_imported_in_a_thread_once_start_up_is_over(demo_workspace, make_app,
                                                                              monkeypatch) -> None:
    import importlib

    real, imported = importlib.import_module, []

    def spy(name, *args):
        imported.append((name, threading.current_thread() is threading.main_thread()))
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", spy)
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        app._check_everything()  # what the start-up timer does (which may start it again meanwhile)
        for _ in range(100):
            await app.commands.wait_idle()
            await pilot.pause()
            if app._check_done:
                break
        await app.workers.wait_for_complete([worker for worker in app.workers if worker.group == "warm"])
        await pilot.pause()
        assert ("octotui.ui.screens.reports", False) in imported  # before 6 is pressed, not on the loop
        await pilot.press("6")
        await computed(pilot)
        # The key finds the module imported: a look-up, not an import.
        assert imported.index(("octotui.ui.screens.reports", False)) < imported.index(("octotui.ui.screens.reports", True))


async def test_a_new_theme_draws_the_charts_again_in_its_colours(demo_workspace, make_app) -> None:
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("6")
        await computed(pilot)
        chart = app.screen.query_one("#chart-deploys")
        before = chart.render_line(0)
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        await computed(pilot)
        after = chart.render_line(0)
        assert after.text == before.text and after != before  # the same chart, other colours


async def test_the_first_opening_parses_no_stylesheet_afresh(demo_workspace, make_app, monkeypatch) -> None:
    app = make_app(demo_workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        refreshed = []
        monkeypatch.setattr(app, "refresh_css", lambda *args, **kwargs: refreshed.append(args))
        await pilot.press("6")
        await computed(pilot)
        assert refreshed == []  # Textual's full re-parse of every rule: ~50 ms on the loop (the snapshot: same look)


def test_the_bar_scale_keeps_whole_ticks_and_every_week_visible() -> None:
    from octotui.ui.screens.reports import bar_scale

    assert bar_scale(3, 3) == (1.0, 3.0, [1, 2, 3])  # a row per deployment
    low, high, ticks = bar_scale(3, 16)
    assert (low, high, ticks) == (3 / 16, 3.0, [1, 2, 3])  # proportional: row r is r × 3/16
    assert bar_scale(10, 4) == (1.0, 10.0, [1, 4, 7, 10])  # more than rows: whole steps, the lowest row is 1
    assert bar_scale(11, 4) == (1.0, 13.0, [1, 5, 9, 13])
    assert bar_scale(0, 3) == (1 / 3, 1.0, [1])  # nothing deployed: an axis all the same
    assert bar_scale(5, 1)[2] == [1, 5]  # a chart squeezed to one row still has an axis


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


def test_a_chart_of_summed_weeks_says_how_many_weeks_each_bar_counts() -> None:
    """365 days draw 26 bars of two weeks each: a bar of 5 is two weeks' deploys, and the title says so."""
    from datetime import date, timedelta

    import plotext

    from octotui.domain.metrics import Week
    from octotui.ui.screens.reports import MAX_POINTS, chart_points, draw_deploys

    def title(count: int) -> str:
        weeks = [Week(week=f"2026-W{n:02}", start=date(2026, 1, 5) + timedelta(weeks=n), deployments=n % 3)
                 for n in range(count)]
        points = chart_points(weeks)
        assert sum(point[1] for point in points) == sum(week.deployments for week in weeks)
        plotext.clear_figure()
        draw_deploys(plotext, points, 10)
        return plotext.build()

    assert "Deploys per week (red: failed)" in title(MAX_POINTS)
    assert "Deploys per 2 weeks (red: failed)" in title(MAX_POINTS + 1)
    assert "Deploys per 3 weeks" in title(3 * MAX_POINTS)
