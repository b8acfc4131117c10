"""Screen 6: how releases and incidents are going — the four keys beside the previous period, MTTA/MTTR by
severity, and charts. Computed in a thread (a year of records is read and summed off the event loop); the
screen says "computing…" meanwhile. Nothing stored as text (titles, names) is shown here: only numbers."""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable
from datetime import datetime

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult, RenderResult
from textual.containers import Horizontal
from textual.strip import Strip
from textual.widgets import Footer, Header, Static

# Imported with this screen (in a thread after start-up, ui/app.py's WARMED_SCREENS): start-up never pays for it.
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from octotui.comms.metrics_export import PeriodError, parse_moment
from octotui.domain.inputs import InputError
from octotui.domain.metrics import DEFINITIONS, NO_DEPLOYMENTS, SEVERITIES, Metrics, Period, Week, trend
from octotui.domain.refs import Shows
from octotui.services.reports import FactsCache, Report, build_report
from octotui.storage.errors import StoreError
from octotui.ui import actions
from octotui.ui.forms import FormField, FormScreen
from octotui.ui.widgets import LiveScreen, StatusLine

PRESETS: tuple[int | None, ...] = (30, 90, 365, None)  # days; None: all
MAX_POINTS = 26  # chart points: more weeks than this are summed into equal runs of weeks


def _num(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def _minutes(value: float | None) -> str:
    """Minutes as the export gives them, to one decimal (12.5 stays 12.5; 12.0 is 12): never rounded away."""
    return "—" if value is None else f"{value:.1f}".removesuffix(".0")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _arrow(key: str, now: float | None, before: float | None, words: bool) -> Text:
    verdict = trend(key, now, before)
    if not verdict:
        return Text("")
    if verdict == "same":
        return Text("=", style="dim")
    up = now is not None and before is not None and now > before
    return Text(("↑" if up else "↓") + (f" {verdict}" if words else ""), style="green" if verdict == "better" else "red")


def four_keys(metrics: Metrics, previous: Metrics | None, narrow: bool = False) -> Table:
    """The four keys (and updates on time) now and in the period before; `narrow` (80 columns) keeps every number
    and drops words."""
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), expand=not narrow, show_edge=False, pad_edge=False)
    for name in ("Key", "Now", "Prev" if narrow else "Before", ""):
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    before = previous
    h = "h" if narrow else " h"
    lead, recovery = metrics.lead_time_hours, metrics.recovery_time_hours
    rows = [
        ("Deploys/wk" if narrow else "Deploys/week", "deploys_per_week", metrics.deploys_per_week,
         before.deploys_per_week if before else None,
         f"{_num(metrics.deploys_per_week, digits=2)} ({metrics.deployments})",
         f"{_num(before.deploys_per_week, digits=2)} ({before.deployments})" if before else "—"),
        ("Lead time", "lead_time", lead.median, before.lead_time_hours.median if before else None,
         f"{_num(lead.median, h)} p90 {_num(lead.p90, h)}", _num(before.lead_time_hours.median, h) if before else "—"),
        ("Fail rate" if narrow else "Change failure", "change_failure_rate", metrics.change_failure_rate,
         before.change_failure_rate if before else None,
         f"{_rate(metrics.change_failure_rate)} ({metrics.failures}/{metrics.deployments})",
         _rate(before.change_failure_rate) if before else "—"),
        ("Recovery", "recovery_time", recovery.median, before.recovery_time_hours.median if before else None,
         f"{_num(recovery.median, h)} ({recovery.missing}{'' if narrow else ' open'})",
         _num(before.recovery_time_hours.median, h) if before else "—"),
    ]
    for label, key, now, then, shown, shown_before in rows:
        table.add_row(Text(label, style="bold"), shown, shown_before, _arrow(key, now, then, words=not narrow))
    table.add_row(Text("Updates ok" if narrow else "Updates on time", style="bold"),
                  f"{_rate(metrics.updates_on_time_rate)} of {metrics.updates_measured}",
                  _rate(before.updates_on_time_rate) if before else "—", "")
    return table


def severity_table(metrics: Metrics, narrow: bool = False) -> Table:
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), expand=not narrow, show_edge=False, pad_edge=False)
    headers = ("Sev", "Inc", "MTTA m", "MTTR m", "No ack/res") if narrow else \
        ("Sev", "Inc", "MTTA med/avg", "MTTR med/avg", "Unack/unres")
    for name in headers:
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    unit = "" if narrow else " m"
    for severity in SEVERITIES:
        count, mtta, mttr = metrics.incidents[severity]
        table.add_row(Text(severity, style="bold"), str(count),
                      f"{_minutes(mtta.median)}/{_minutes(mtta.mean)}{unit}",
                      f"{_minutes(mttr.median)}/{_minutes(mttr.mean)}{unit}", f"{mtta.missing}/{mttr.missing}")
    return table


# label, deployments, failures, lead time h, MTTR h, weeks summed in the point (1: one week)
Point = tuple[str, int, int, float | None, float | None, int]


def chart_points(weeks: list[Week]) -> list[Point]:
    """(label, deployments, failures, lead time h, MTTR h, weeks) per point: a week, or a run of weeks summed when
    the period has more weeks than fit (their medians averaged; the chart's title then says how many weeks)."""
    size = max(1, math.ceil(len(weeks) / MAX_POINTS))
    points = []
    for start in range(0, len(weeks), size):
        run = weeks[start : start + size]
        lead = [week.lead_time_hours for week in run if week.lead_time_hours is not None]
        mttr = [week.mttr_minutes / 60 for week in run if week.mttr_minutes is not None]
        label = run[0].week[5:] if size == 1 else run[0].start.strftime("%y-%m")
        points.append((label, sum(week.deployments for week in run), sum(week.failures for week in run),
                       sum(lead) / len(lead) if lead else None, sum(mttr) / len(mttr) if mttr else None, len(run)))
    return points


CHART_FRAME_ROWS = 4  # a chart's rows that are not the plot: its title, the frame's two lines, the x labels


def bar_scale(largest: int, rows: int) -> tuple[float, float, list[int]]:
    """The deploys chart's y axis for `rows` rows of bars: (low, high, ticks), whole-number ticks. Row r (from 1)
    stands for r × high / rows, so bars keep their proportions and a week of 1 never looks like a week of 2;
    with more deployments than rows, the lowest row is 1 (no week with one is blank) and each row above a whole
    number more, the row labelled n filled when a bar reaches n."""
    largest, rows = max(largest, 1), max(rows, 2)
    if largest <= rows:
        return largest / rows, float(largest), list(range(1, largest + 1))
    step = math.ceil((largest - 1) / (rows - 1))
    return 1.0, float(1 + step * (rows - 1)), [1 + step * row for row in range(rows)]


def _x_axis(plt: Plot, labels: list[str]) -> None:
    positions = [float(n) for n in range(1, len(labels) + 1)]
    step = max(1, len(labels) // 6)
    plt.xticks(positions[::step], labels[::step])
    plt.xlim(0.5, len(labels) + 0.5)


def draw_deploys(plt: Plot, points: list[Point], rows: int) -> None:
    weeks = max((point[5] for point in points), default=1)
    plt.title(f"Deploys per {'week' if weeks == 1 else f'{weeks} weeks'} (red: failed)")
    if not points:
        return
    positions = [float(n) for n in range(1, len(points) + 1)]
    plt.stacked_bar(positions, [[p[1] - p[2] for p in points], [p[2] for p in points]],
                    color=["green", "red"], width=0.6)  # type: ignore[arg-type]  # plotext takes a list
    low, high, ticks = bar_scale(max(p[1] for p in points), rows)
    plt.ylim(low, high)
    plt.yticks(ticks)  # type: ignore[arg-type]  # plotext takes a list
    _x_axis(plt, [p[0] for p in points])


def draw_trends(plt: Plot, points: list[Point], _rows: int) -> None:
    plt.title("Lead time & MTTR (hours; x: failure)")
    positions = [float(n) for n in range(1, len(points) + 1)]
    for index, name, color in ((3, "lead", "cyan"), (4, "MTTR", "magenta")):
        xs = [x for x, p in zip(positions, points, strict=True) if p[index] is not None]
        ys = [p[index] for p in points if p[index] is not None]
        if xs:
            plt.plot(xs, ys, label=name, color=color, marker="braille")
    failed = [x for x, p in zip(positions, points, strict=True) if p[2]]
    if failed:
        plt.scatter(failed, [0] * len(failed), marker="x", color="red")
    if points:
        _x_axis(plt, [p[0] for p in points])


Draw = Callable[[Plot, list[Point], int], None]


# Two threads laying out at once would leave the event loop a third of the interpreter (the GIL), not a half.
_ONE_BUILD_AT_A_TIME = threading.Lock()
Built = tuple[tuple[int, int, str, int], list[Strip]]  # (width, height, theme, points' version): its lines


class Chart(PlotextPlot):
    """A plotext chart laid out in a thread: plotext lays out and colours a chart, and Rich and Textual turn
    its colours into styled lines, each for tens of milliseconds that on the event loop would hold a frame. It
    shows the lines last built (blank before the first) and builds again when its points, size or theme change.
    Each build draws on a figure of its own."""

    def __init__(self, draw: Draw, *, id: str) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._draw = draw
        self._points: list[Point] | None = None
        self._version = 0  # of the points
        self._built: Built | None = None
        self._building: tuple[int, int, str, int] | None = None

    @property
    def drawn(self) -> bool:
        """Showing its current points at its current size (or nothing to show: no points, no room)."""
        wanted = self._wanted()
        return self._points is None or not wanted[0] or not wanted[1] or (
            self._built is not None and self._built[0] == wanted)

    def show(self, points: list[Point]) -> None:
        self._points, self._version = points, self._version + 1
        self._build_if_needed()

    def _wanted(self) -> tuple[int, int, str, int]:
        return self.size.width, self.size.height, self._get_plotext_theme_name(self.app.theme), self._version

    def _build_if_needed(self) -> None:
        points, wanted = self._points, self._wanted()
        if points is None or self.drawn or self._building == wanted:
            return
        self._building = wanted
        self._build(wanted, points)

    def on_resize(self, _event: events.Resize) -> None:
        self._build_if_needed()

    def _register_theme(self, app_theme_name: str) -> None:
        super()._register_theme(app_theme_name)
        self._build_if_needed()  # the colours of the new theme

    @work(thread=True, group="charts")
    def _build(self, wanted: tuple[int, int, str, int], points: list[Point]) -> None:
        with _ONE_BUILD_AT_A_TIME:
            strips = self._lines(wanted, points)
        self.app.call_from_thread(self._done, wanted, strips)

    def _lines(self, wanted: tuple[int, int, str, int], points: list[Point]) -> list[Strip]:
        width, height, theme, _ = wanted
        plt = Plot()
        self._draw(plt, points, height - CHART_FRAME_ROWS)
        plt.plotsize(width, height)
        plt._set_size(width, height)  # as PlotextPlot.render does (textual-plotext's issue 5)
        plt.theme(theme)
        console = Console(width=width, height=height, color_system="truecolor", file=io.StringIO())
        lines = console.render_lines(Text.from_ansi(plt.build()), console.options, pad=True)
        return [Strip(line, width) for line in lines]

    def _done(self, wanted: tuple[int, int, str, int], strips: list[Strip]) -> None:
        if self._building == wanted:
            self._building = None
        if wanted[3] == self._version and (self._built is None or self._built[0][3] <= wanted[3]):
            self._built = (wanted, strips)  # the newest points' chart, if of another size, until rebuilt
            self.refresh()
        self._build_if_needed()

    def render(self) -> RenderResult:
        return Text("")  # never PlotextPlot's (plotext on the loop): the lines are `render_line`'s

    def render_line(self, y: int) -> Strip:
        strips = self._built[1] if self._built is not None else []
        return strips[y].crop_extend(0, self.size.width, None) if y < len(strips) else Strip.blank(self.size.width)


class ReportsScreen(LiveScreen):
    TITLE = "Reports"
    SHOWS = Shows.of("release", "incident")
    MODE = "reports"
    BINDINGS = actions.bindings(MODE)  # from the one registry (ui/actions.py)
    HELP_NOTES = DEFINITIONS  # the help lists what each number means
    DEFAULT_CSS = """
    #report-period { height: auto; padding: 0 1; }
    #report-numbers { height: auto; }
    #report-keys, #report-severity { width: 1fr; height: auto; }
    #report-keys { padding-right: 2; }
    #report-numbers.narrow { layout: vertical; }  /* 80 columns: one table under the other, every number whole */
    #report-charts { height: 1fr; min-height: 4; max-height: 20; }
    #report-charts Chart { width: 1fr; height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.days: int | None = 90
        self.custom: Period | None = None  # since/until chosen by hand (wins over `days`)
        self.report: Report | None = None
        self.computing = False
        self._token = 0
        self.cache = FactsCache()  # facts of records unchanged since the last computation are not read again

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusLine()
        yield Static(id="report-period")
        with Horizontal(id="report-numbers"):
            yield Static(id="report-keys")
            yield Static(id="report-severity")
        with Horizontal(id="report-charts"):
            yield Chart(draw_deploys, id="chart-deploys")
            yield Chart(draw_trends, id="chart-trends")
        yield Footer()

    def period(self) -> Period:
        return self.custom or Period.last_days(self.days, self.octo.workspace.now())

    def period_label(self, metrics: Metrics | None = None) -> Text:
        if self.custom is not None:
            since = f"{self.custom.since.astimezone():%Y-%m-%d %H:%M}" if self.custom.since else "the first record"
            label = Text(f"{since} to {self.custom.until.astimezone():%Y-%m-%d %H:%M}", style="bold")  # local time
        elif self.days is None:
            label = Text("All time", style="bold")
            if metrics is not None and metrics.since is not None:
                label.append(f" (since {metrics.since.astimezone():%Y-%m-%d})", style="dim")
        else:
            label = Text(f"Last {self.days} days", style="bold")
        if self.custom is None and self.days is not None and self.size.width >= 110:
            label.append(" · before: the same length just before", style="dim")
        label.append("  p: 30/90/365/all · s: since/until · ?: definitions" if self.size.width >= 110 else "  p · s · ?",
                     style="dim")
        return label

    def reload(self) -> None:
        """Compute again (a change to a release or incident, a new period): in a thread, saying so."""
        self._token += 1
        self.computing = True
        label = self.period_label()
        label.append("  computing…", style="bold yellow")
        self.query_one("#report-period", Static).update(label)
        self.call_after_refresh(self._start, self._token)  # the screen painted first, the loop alone

    def _start(self, token: int) -> None:
        if token == self._token:  # else a newer reload starts its own
            self._compute(self.period(), token)

    @work(thread=True, exclusive=True, group="reports")
    def _compute(self, period: Period, token: int) -> None:
        workspace, cache = self.octo.workspace, self.cache
        try:
            with cache.lock:  # one computation at a time uses the cache (a newer one waits for an older one)
                cache.catch_up(workspace.store)
                report = build_report(workspace.store.snapshot, workspace.settings, period, cache=cache)
        except StoreError as error:
            self.app.call_from_thread(self._failed, str(error), token)
            return
        self.app.call_from_thread(self._show, report, token)

    def _failed(self, message: str, token: int) -> None:
        if token != self._token:
            return
        self.computing = False
        label = self.period_label()
        label.append(f"  could not read the records: {message}", style="bold red")
        self.query_one("#report-period", Static).update(label)

    def _show(self, report: Report, token: int) -> None:
        if token != self._token:
            return  # a newer computation is on its way
        self.computing = False
        self.report = report
        metrics = report.metrics
        label = self.period_label(metrics)
        if metrics.empty:
            label.append(f"  {NO_DEPLOYMENTS}", style="bold yellow")
        self.query_one("#report-period", Static).update(label)
        narrow = self.size.width < 110
        self.query_one("#report-numbers").set_class(narrow, "narrow")
        self.query_one("#report-keys", Static).update(four_keys(metrics, report.previous, narrow))
        self.query_one("#report-severity", Static).update(severity_table(metrics, narrow))
        self._draw_charts(metrics)

    def _draw_charts(self, metrics: Metrics) -> None:
        points = chart_points(metrics.weekly)

        def show() -> None:
            for chart in self.query(Chart):
                chart.show(points)

        self.call_after_refresh(show)  # the numbers painted first, with the interpreter to the loop alone

    @property
    def charts_drawn(self) -> bool:
        return all(chart.drawn for chart in self.query(Chart))

    def action_next_period(self) -> None:
        self.custom = None
        self.days = PRESETS[(PRESETS.index(self.days) + 1) % len(PRESETS)] if self.days in PRESETS else 90
        self.reload()

    def action_choose_period(self) -> None:
        now = self.octo.workspace.now()
        current = self.period()
        since_text = current.since.astimezone().strftime("%Y-%m-%d") if current.since else ""

        def submit(values: dict[str, str]) -> Period:
            try:
                until = parse_moment(values["until"], "until") if values["until"].strip() else now
                since = parse_moment(values["since"], "since")
            except PeriodError as error:
                raise InputError({error.field: str(error).split(": ", 1)[-1]}) from None
            if since >= until:
                raise InputError({"since": "must be before until"})
            return Period(since, until)

        def chosen(period: Period | None) -> None:
            if period is not None:
                self.custom = period
                self.reload()

        self.octo.push_screen(FormScreen("Report period [since, until)", [
            FormField("since", "Since (YYYY-MM-DD or an ISO time)", since_text),
            FormField("until", "Until, excluded (empty: now)", "", placeholder=_now_hint(now))], submit), chosen)


def _now_hint(now: datetime) -> str:
    return f"now ({now.astimezone():%Y-%m-%d %H:%M})"
