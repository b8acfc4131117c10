"""Benchmarks: prints numbers, asserts nothing. `python tests/benchmarks/run.py [--quick]`

1. Whole-process time to first paint of `octotui` vs a bare Textual app (Header + DataTable with as many
   rows + Footer), launched alternately in real pseudo-terminals, median of N runs each, as a ratio.
2. The store's save latency (median, p95) at each size.
3. `space` on a checklist item: key to repaint with the durable save, net of a no-op key's cost.
4. The decision log at 10k decisions: open, and each search keystroke.
5. CPU used by the ticking incident clock while idle, vs the bare app idle.
6. A timeline note on an incident that already has 10k / 100k events (median, p95).
7. Another process changes one record of a 10k-document database: the app's event loop's longest stall
   while it picks the change up (a probe task measures how late its 2 ms sleeps wake).

8. `space` on a checklist item through a real terminal: bytes written to the pty -> the repainted `[x]`
   read back (octotui paints it only after the save is durable), alternating with a bare Textual app
   whose space flips one DataTable cell.

9. The growth curve: databases made by `octotui demo --size N` (1k, 10k, 50k, 125k records): first paint
   (vs the bare app showing as many rows), a save's median, and the resident memory after the first paint.

10. Team mode on a local throwaway PostgreSQL server (fsync on), at team scale and 50k records, beside the
   journaled file with the same data: a save (median / p95), `space` through a real terminal to the repainted
   mark (painted only once committed), first paint vs the bare app with as many rows, and a change made by
   another process until it is painted in a running octotui (pushed by NOTIFY).

11. The Reports screen (key 6) on `octotui demo --size 125000`, the clock at the data's end: key to the numbers
   on screen (computed in a thread), key to the charts (each laid out in a thread) and the event loop's longest
   stall till both are painted (a probe task measures how late its 2 ms sleeps wake), for the default 90 days and
   for all of it; beside it, the probe's worst with nothing to do (this machine's noise) and while a thread spins
   in Python (what any work off the loop costs it here: the GIL is shared). The first opening is the
   process's first (the screen's module was imported in a thread after start-up); later ones are on a fresh app
   in the same process. `--reports-db PATH` reuses a database made by `octotui demo --size 125000`.

12. The longest event-loop stall per action on `octotui demo --size 30000` (toggle an item, edit a release, a
   timeline note, a decision, each screen 1-6, the palette): a probe task measures how late its 2 ms sleeps
   wake while the action runs to its painted result; median of the runs, beside a bare Textual app pressing the
   same keys under the same probe (six screens of a 1,000-row table on keys 1-6, Textual's palette), alternately,
   in the same process. `--stalls-db PATH` reuses a database made by `octotui demo --size 30000`.

`--only 1,6,7` runs a subset.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: tests_support, pgcluster

from tests_support import bulk_decisions, bulk_team, bulk_timeline  # noqa: E402

from octotui.domain.clock import SystemClock  # noqa: E402
from octotui.domain.playbook import load_playbook  # noqa: E402
from octotui.services.workspace import RunRef, Workspace  # noqa: E402
from octotui.storage.file_store import Store, read_tables  # noqa: E402

SIZES = {"empty": (0, 0, 0), "team": (200, 100, 1000), "10k": (500, 500, 9000)}

BARE_APP = '''
import sys
from textual.app import App
from textual.widgets import DataTable, Footer, Header

class Bare(App):
    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("ID", "Version", "Type", "Title", "Captain", "Target", "Stage", "Done")
        for n in range(int(sys.argv[1])):
            table.add_row(f"REL-{n}", f"1.{n}.0", "minor", f"Release {n}", "cap", "2026-12-01", "Planned", "0/13")

Bare().run()
'''

# The bare app with a clock in its header line, repainted once a second: what "idle" costs any clock app.
BARE_CLOCK_APP = BARE_APP.replace("""    def on_mount(self):""", """    def on_mount(self):
        from datetime import datetime
        from textual.widgets import Static
        clock = Static(datetime.now().strftime("%H:%M:%S"))
        self.mount(clock, before=self.query_one(DataTable))
        self.set_interval(1, lambda: clock.update(datetime.now().strftime("%H:%M:%S")))""")


OCTOTUI = Path(sys.executable).with_name("octotui")
# What every launched process sees: a real terminal type, a fixed author, no settings file of this machine's.
TERMINAL_ENV = {**os.environ, "TERM": "xterm-256color", "OCTOTUI_USER": "bench", "OCTOTUI_CONFIG": "/nonexistent"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def make_db(folder: Path, name: str) -> Path:
    path = folder / f"{name}.json"
    workspace = Workspace(Store(path), load_playbook(), author="bench")
    releases, incidents, decisions = SIZES[name.rsplit("-", 1)[-1]]
    if releases or incidents:
        bulk_team(workspace, releases, incidents, 0)
    if decisions:
        bulk_decisions(workspace, decisions)
    workspace.save_ui_state({"mode": "board"})  # no first-start demo offer: measure the board
    return path


def spawn_in_pty(argv: list[str], env: dict[str, str], marker: bytes, timeout: float = 30.0) -> tuple[float, int]:
    """Seconds from fork to `marker` on the terminal; returns (seconds, pid still running)."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    seen = b""
    deadline = start + timeout
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            seen += chunk
            if marker in seen:
                return time.perf_counter() - start, pid, fd
    raise RuntimeError(f"{argv} never painted {marker!r}: {seen[-300:]!r}")


def stop(pid: int, fd: int) -> None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(fd)


def first_paint(folder: Path, runs: int) -> None:
    print("\n1. Time to first paint (whole process, real pty 120x36), median of", runs, "runs each")
    print(f"   {'database':<8} {'octotui':>9} {'bare app':>9} {'ratio':>6}   target")
    bare = folder / "bare.py"
    bare.write_text(BARE_APP)
    octotui = OCTOTUI
    for size in SIZES:
        db = make_db(folder, size)
        rows = SIZES[size][0]
        env = TERMINAL_ENV
        ours, theirs = [], []
        for _ in range(runs):  # alternate, so both see the same machine state
            seconds, pid, fd = spawn_in_pty([str(octotui), "--db", str(db)], env, b"palette")
            stop(pid, fd)
            ours.append(seconds)
            seconds, pid, fd = spawn_in_pty([sys.executable, str(bare), str(rows)], env, b"palette")
            stop(pid, fd)
            theirs.append(seconds)
        ratio = statistics.median(ours) / statistics.median(theirs)
        target = {"empty": "", "team": "<= 1.3x", "10k": "<= 1.5x"}[size]
        print(f"   {size:<8} {statistics.median(ours) * 1000:>7.0f}ms {statistics.median(theirs) * 1000:>7.0f}ms "
              f"{ratio:>5.2f}x   {target}")


def store_latency(folder: Path, runs: int) -> None:
    print("\n2. One durable save (lock, fresh read, one appended journal record, fsync), through Workspace")
    print(f"   {'database':<8} {'median':>8} {'p95':>8}   target")
    for size in SIZES:
        path = make_db(folder, f"save-{size}")
        workspace = Workspace(Store(path), load_playbook(), clock=SystemClock(), author="bench")
        release = workspace.create_release(version="99.0.0", title="bench")
        ref = RunRef("release", release.id, "gate")
        times = []
        for number in range(runs):
            start = time.perf_counter()
            workspace.change_item(ref, number % 6, "note", text=f"note {number}")
            times.append(time.perf_counter() - start)
        target = "<= 10 ms median" if size == "team" else ""
        print(f"   {size:<8} {statistics.median(times) * 1000:>6.1f}ms {percentile(times, 0.95) * 1000:>6.1f}ms   {target}")


async def keystrokes(folder: Path, runs: int) -> None:
    from octotui.comms.templates import load_templates
    from octotui.ui.app import OctoApp

    print("\n3. `space` on a checklist item: key -> durable save -> repaint (Pilot, net of a no-op key)")
    print(f"   {'database':<8} {'median':>8} {'p95':>8} {'no-op key':>10}   target")
    for size in ("team", "10k"):
        path = make_db(folder, f"keys-{size}")
        workspace = Workspace(Store(path), load_playbook(), author="bench")
        release = workspace.create_release(version="99.0.0", title="bench")
        app = OctoApp(workspace, load_templates(), offer_demo=False)
        async with app.run_test(size=(120, 36)) as pilot:
            app.selected_release_id = release.id
            app.checklist_owner = ("release", release.id)
            await pilot.press("2")
            await pilot.pause()
            baseline, spaced = [], []
            for _ in range(runs):
                start = time.perf_counter()
                await pilot.press("F12")  # bound to nothing: the cost of a key through Pilot
                await app.commands.wait_idle()
                await pilot.pause()
                baseline.append(time.perf_counter() - start)
                start = time.perf_counter()
                await pilot.press("space")
                await app.commands.wait_idle()  # the save is on disk (the worker finished its commit)
                await pilot.pause()  # and its result is painted
                spaced.append(time.perf_counter() - start)
            noop = statistics.median(baseline)
            net = [max(0.0, value - noop) for value in spaced]
            target = {"team": "<= 30 ms p95", "10k": "<= 60 ms p95"}[size]
            print(f"   {size:<8} {statistics.median(net) * 1000:>6.1f}ms {percentile(net, 0.95) * 1000:>6.1f}ms "
                  f"{noop * 1000:>8.1f}ms   {target}")

    print("\n4. Decision log with 10,000 decisions: open it, and type a search (Pilot)")
    opened: dict[int, list[float]] = {}
    for count in (0, 10_000):
        path = folder / f"decisions-{count}.json"
        workspace = Workspace(Store(path), load_playbook(), author="bench")
        if count:
            bulk_decisions(workspace, count)
        workspace.validate_all()
        app = OctoApp(workspace, load_templates(), offer_demo=False)
        async with app.run_test(size=(120, 36)) as pilot:
            opened[count] = []
            for _ in range(5):
                start = time.perf_counter()
                await app.switch_mode("decisions")
                await pilot.pause()
                opened[count].append(time.perf_counter() - start)
                await app.switch_mode("board")
                await pilot.pause()  # showing it again rebuilds its rows, as after a change
            if not count:
                continue
            await app.switch_mode("decisions")
            await pilot.press("slash")
            screen = app.screen
            searching = screen.reload
            plain, typed, handler = [], [], []
            for text in ["service 12", "latency b", "option 2"] * max(1, runs // 24):
                for with_search, times in ((False, plain), (True, typed)):
                    # The same keystrokes into the same input, with and without the search behind it.
                    screen.reload = searching if with_search else (lambda: None)
                    for char in text:
                        start = time.perf_counter()
                        await pilot.press("space" if char == " " else char)
                        times.append(time.perf_counter() - start)
                    screen.reload = searching
                    screen._built = ()  # force the rebuild a new query causes
                    start = time.perf_counter()
                    screen.reload()  # what one keystroke runs: the core search and one page of rows
                    handler.append(time.perf_counter() - start)
                    for _ in text:
                        await pilot.press("backspace")
            screen.reload = searching
            added = [max(0.0, with_search - without) for with_search, without in zip(typed, plain, strict=True)]
    empty, full = statistics.median(opened[0]), statistics.median(opened[10_000])
    print(f"   open: {full * 1000:.0f} ms with 10,000 decisions, {empty * 1000:.0f} ms with none: "
          f"{(full - empty) * 1000:.0f} ms added by the data (target <= 150 ms); the very first open, which "
          f"also builds the screen: {opened[10_000][0] * 1000:.0f} ms (vs {opened[0][0] * 1000:.0f} ms empty)")
    print(f"   search keystroke (Pilot): {statistics.median(typed) * 1000:.0f} ms median, {percentile(typed, 0.95) * 1000:.0f} ms p95; "
          f"the same keys into the input with no search behind it: {statistics.median(plain) * 1000:.0f} / "
          f"{percentile(plain, 0.95) * 1000:.0f} ms")
    print(f"   added by the search: median {statistics.median(added) * 1000:.1f} ms, p95 {percentile(added, 0.95) * 1000:.1f} ms "
          f"(target <= 50 ms p95); core search + page rewrite alone {statistics.median(handler) * 1000:.1f} ms")


def cpu_idle(folder: Path, seconds: float) -> None:
    print(f"\n5. CPU while idle for {seconds:.0f} s, vs the bare app with a 1 Hz clock (target: <= 1.5x)")
    quiet, busy = folder / "idle-board.json", folder / "idle-incident.json"
    Workspace(Store(quiet), load_playbook(), author="bench").save_ui_state({"mode": "board"})
    workspace = Workspace(Store(busy), load_playbook(), author="bench")
    workspace.start_incident("Idle check", "P1")
    workspace.save_ui_state({"mode": "incident"})
    bare = folder / "bare-clock.py"
    bare.write_text(BARE_CLOCK_APP)
    env = TERMINAL_ENV
    octotui = str(OCTOTUI)
    results = {}
    for name, argv, marker in (("bare app, 1 Hz clock", [sys.executable, str(bare), "0"], b"palette"),
                               ("octotui board, no incident", [octotui, "--db", str(quiet)], b"Incident!"),
                               ("octotui incident screen", [octotui, "--db", str(busy)], b"Incident!")):
        _seconds, pid, fd = spawn_in_pty(argv, env, marker)
        time.sleep(1.0)  # settle after start-up
        before = _cpu_seconds(pid)
        end = time.monotonic() + seconds
        while time.monotonic() < end:  # keep draining the pty so the app never blocks on output
            if select.select([fd], [], [], 0.1)[0]:
                os.read(fd, 65536)
        results[name] = _cpu_seconds(pid) - before
        stop(pid, fd)
    base = results["bare app, 1 Hz clock"]
    for name, used in results.items():
        print(f"   {name:<27} {used:.3f} s CPU = {100 * used / seconds:.2f}% of one core  "
              f"({used / base:.2f}x the bare clock)")


def timeline_notes(folder: Path, runs: int) -> None:
    print("\n6. A timeline note on an incident with a long history (one durable save each)")
    print(f"   {'events':<8} {'median':>8} {'p95':>8} {'file':>8}   target")
    for count, target in ((10_000, "<= 20 ms median"), (100_000, "<= 30 ms median")):
        path = folder / f"notes-{count}.json"
        workspace = Workspace(Store(path), load_playbook(), clock=SystemClock(), author="bench")
        incident = workspace.start_incident("Busy incident", "P1")
        bulk_timeline(workspace, incident.id, count)
        workspace = Workspace(Store(path), load_playbook(), clock=SystemClock(), author="bench")  # as after a start
        times = []
        for number in range(runs):
            start = time.perf_counter()
            workspace.add_note(incident.id, f"bench note {number}")
            times.append(time.perf_counter() - start)
        size = path.stat().st_size / 2**20
        print(f"   {count:<8,} {statistics.median(times) * 1000:>6.1f}ms {percentile(times, 0.95) * 1000:>6.1f}ms "
              f"{size:>6.1f}MB   {target}")


async def external_change(folder: Path, runs: int) -> None:
    from octotui.comms.templates import load_templates
    from octotui.ui.app import OctoApp

    print("\n7. Another process changes one record (10k documents): the event loop's longest stall while the")
    print("   app picks it up (stat on the loop; read, parse and validate in the command worker)")
    path = make_db(folder, "external-10k")
    writer = Workspace(Store(path), load_playbook(), author="other")
    app = OctoApp(Workspace(Store(path), load_playbook(), author="bench"), load_templates(), offer_demo=False)
    stalls, totals = [], []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await asyncio.sleep(1.5)  # past the start-up checks (decisions validated, heap frozen), as in use
        for number in range(runs):
            writer.update_release(1 + number % 50, version=f"{(1 + number % 50) // 100}.{(1 + number % 50) % 100}.0",
                                  title=f"renamed {number}")
            worst, done = 0.0, asyncio.Event()

            async def probe(done: asyncio.Event = done) -> None:
                nonlocal worst
                while not done.is_set():
                    before = time.perf_counter()
                    await asyncio.sleep(0.002)
                    worst = max(worst, time.perf_counter() - before - 0.002)

            task = asyncio.create_task(probe())
            start = time.perf_counter()
            app.poll_store()
            await app.commands.wait_idle()
            await pilot.pause()
            totals.append(time.perf_counter() - start)
            done.set()
            await task
            stalls.append(worst)
    print(f"   longest loop stall: median {statistics.median(stalls) * 1000:.1f} ms, worst {max(stalls) * 1000:.1f} ms "
          f"(target <= 50 ms); change on screen after {statistics.median(totals) * 1000:.0f} ms median")


BARE_TOGGLE = '''
from rich.text import Text
from textual.app import App
from textual.widgets import DataTable, Footer, Header

class Bare(App):
    BINDINGS = [("space", "flip", "Flip")]

    def compose(self):
        yield Header()
        yield DataTable(cursor_type="row")
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("", "Item", "By / when", "")
        for n in range(20):
            table.add_row(Text("[ ]"), Text(f"Checklist item {n}"), Text(""), Text(""), key=str(n))
        self.done = False

    def action_flip(self):
        self.done = not self.done
        table = self.query_one(DataTable)
        table.update_cell("0", list(table.columns)[0], Text("[x]" if self.done else "[ ]"))

Bare().run()
'''


def _read_until(fd: int, marker: bytes, timeout: float = 10.0) -> float:
    start = time.perf_counter()
    seen = b""
    while time.perf_counter() - start < timeout:
        if select.select([fd], [], [], 0.05)[0]:
            seen += os.read(fd, 65536)
            if marker in seen:
                return time.perf_counter() - start
    raise RuntimeError(f"never saw {marker!r}")


def toggle_in_terminal(folder: Path, runs: int) -> None:
    print("\n8. `space` on a checklist item through a real terminal (pty 120x36): key written -> repainted mark")
    print("   read back; octotui repaints only after the save is durable. Alternating with a bare Textual app")
    print(f"   {'database':<8} {'octotui':>16} {'bare app':>16}   added (median / p95)   target")
    bare = folder / "bare-toggle.py"
    bare.write_text(BARE_TOGGLE)
    env = TERMINAL_ENV
    octotui = OCTOTUI
    for size in ("team", "10k"):
        db = make_db(folder, f"toggle-{size}")
        workspace = Workspace(Store(db), load_playbook(), author="bench")
        release = workspace.create_release(version="99.0.0", title="bench")
        workspace.save_ui_state({"mode": "checklist", "release": release.id, "owner": ["release", release.id],
                                 "row": f"REL-{release.id}:gate:0"})
        ours, theirs = [], []
        apps = [(ours, [str(octotui), "--db", str(db)]), (theirs, [sys.executable, str(bare)])]
        for times, argv in apps:
            _seconds, pid, fd = spawn_in_pty(argv, env, b"palette")
            _settle(fd)
            times.extend(_toggles(fd, runs))
            stop(pid, fd)
        added = statistics.median(ours) - statistics.median(theirs)
        added95 = percentile(ours, 0.95) - percentile(theirs, 0.95)
        target = {"team": "p95 <= 30 ms (issue 11)", "10k": "p95 <= 60 ms (issue 11)"}[size]
        print(f"   {size:<8} {statistics.median(ours) * 1000:>6.1f} / {percentile(ours, 0.95) * 1000:>5.1f} ms "
              f"{statistics.median(theirs) * 1000:>6.1f} / {percentile(theirs, 0.95) * 1000:>5.1f} ms   "
              f"{added * 1000:>+6.1f} / {added95 * 1000:>+6.1f} ms      {target}")


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def growth(folder: Path, sizes: list[int], runs: int) -> None:
    print(f"\n9. Growth curve (databases from `octotui demo --size N`), first paint median of {runs} runs")
    print("   RSS at the first paint; once settled (start-up's work done, the check of every record included);")
    print("   after 10 checklist saves; the limit (the empty database's settled RSS + 3x the releases shown, as JSON);")
    print("   the bare app's RSS, and what showing the rows costs it (beside its RSS with no row)")
    print(f"   {'records':>8} {'file':>8} {'octotui':>9} {'bare':>7} {'ratio':>6} {'save p50':>9} {'RSS':>7} "
          f"{'settled':>8} {'saved':>7} {'limit':>7} {'bare':>7} {'rows':>5} {'shown':>8}")
    octotui = str(OCTOTUI)
    bare = folder / "bare.py"
    bare.write_text(BARE_APP)
    env = TERMINAL_ENV
    empty = folder / "growth-empty.json"
    Workspace(Store(empty), load_playbook(), author="bench").save_ui_state({"mode": "board"})
    _seconds, pid, fd = spawn_in_pty([octotui, "--db", str(empty)], env, b"palette", timeout=120)
    _until_idle(pid, fd)
    base = _rss_mib(pid)
    stop(pid, fd)
    _seconds, pid, fd = spawn_in_pty([sys.executable, str(bare), "0"], env, b"palette", timeout=120)
    bare_base = _rss_mib(pid)
    stop(pid, fd)
    for size in sizes:
        db = folder / f"growth-{size}.json"
        subprocess.run([octotui, "demo", "--size", str(size), "--db", str(db)], check=True, env=env,
                       capture_output=True, timeout=900)
        workspace = Workspace(Store(db), load_playbook(), author="bench")
        workspace.save_ui_state({"mode": "board"})
        shown = len(workspace.board_rows())
        incident = workspace.start_incident("growth", "P3")
        saves = []
        for number in range(20):
            began = time.perf_counter()
            workspace.add_note(incident.id, f"note {number}")
            saves.append(time.perf_counter() - began)
        workspace.set_status(incident.id, "Resolved", confirm=True)
        # What the board shows: the releases as stored (JSON bytes), beside which RSS is judged.
        shown_mib = len(json.dumps(read_tables(db).get("releases", {}))) / 2**20
        ours, theirs, rss, settled, bare_rss = [], [], [], [], []
        for run in range(runs):
            seconds, pid, fd = spawn_in_pty([octotui, "--db", str(db)], env, b"palette", timeout=120)
            rss.append(_rss_mib(pid))
            if run == 0:  # once: after start-up's work (the check of every record) is done
                _until_idle(pid, fd)
                settled.append(_rss_mib(pid))
            stop(pid, fd)
            ours.append(seconds)
            seconds, pid, fd = spawn_in_pty([sys.executable, str(bare), str(shown)], env, b"palette", timeout=120)
            bare_rss.append(_rss_mib(pid))
            stop(pid, fd)
            theirs.append(seconds)
        # Then a working session: the newest release's checklist, ten saves, RSS once idle again.
        newest = max(workspace.board_rows(), key=lambda row: row.id)
        workspace.save_ui_state({"mode": "checklist", "release": newest.id, "owner": ["release", newest.id],
                                 "row": f"REL-{newest.id}:gate:0"})
        _seconds, pid, fd = spawn_in_pty([octotui, "--db", str(db)], env, b"palette", timeout=120)
        _until_idle(pid, fd)
        _toggles(fd, 10)
        _until_idle(pid, fd)
        saved = _rss_mib(pid)
        stop(pid, fd)
        mine, theirs_median = statistics.median(ours), statistics.median(theirs)
        print(f"   {size:>8,} {db.stat().st_size / 2**20:>6.1f}MB {mine * 1000:>7.0f}ms {theirs_median * 1000:>5.0f}ms "
              f"{mine / theirs_median:>5.2f}x {statistics.median(saves) * 1000:>7.1f}ms {statistics.median(rss):>5.0f}MiB "
              f"{settled[0]:>5.0f}MiB {saved:>4.0f}MiB {base + 3 * shown_mib:>4.0f}MiB "
              f"{statistics.median(bare_rss):>4.0f}MiB {statistics.median(bare_rss) - bare_base:>+4.1f} {shown_mib:>6.1f}MB")
    print(f"   the empty database's settled RSS (the fixed base): {base:.0f} MiB; the bare app with no row: {bare_base:.0f} MiB")
    print("   targets: first paint <= 2 s at 125k; save <= 5 ms median at every size; RSS after start <= the limit")


async def reports_screen(folder: Path, runs: int, size: int = 125_000, db: Path | None = None) -> None:
    from octotui.comms.templates import load_templates
    from octotui.domain.clock import FrozenClock
    from octotui.services.bulk import END
    from octotui.ui.app import OctoApp

    print(f"\n11. Reports (key 6) at `demo --size {size:,}`: key to numbers on screen; longest event-loop stall")
    made, db = db, folder / f"reports-{size}.json"
    if made is not None:  # one made earlier by `octotui demo --size N` (copied: the runs write their UI state)
        shutil.copyfile(made, db)
    else:
        subprocess.run([str(OCTOTUI), "demo", "--size", str(size), "--db", str(db)], check=True, env=TERMINAL_ENV,
                       capture_output=True, timeout=1800)
    templates = load_templates()
    results: dict[str, list[tuple[float, float, float, float]]] = {"90 days": [], "all": []}
    floor: list[float] = []
    busy: list[float] = []

    async def probed(work: Callable[[], Awaitable[None]]) -> float:
        """The longest stall of the event loop while `work` runs (how late 2 ms sleeps wake)."""
        worst, done = 0.0, asyncio.Event()

        async def probe() -> None:
            nonlocal worst
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.002)
                worst = max(worst, time.perf_counter() - before - 0.002)

        task = asyncio.create_task(probe())
        await work()
        done.set()
        await task
        return worst

    async def press_and_wait(app: OctoApp, pilot: Any, keys: tuple[str, ...], marks: dict[str, float]) -> None:
        start, cpu = time.perf_counter(), time.process_time()
        for key in keys:
            await pilot.press(key)
        while getattr(app.screen, "computing", True) or getattr(app.screen, "report", None) is None:
            await asyncio.sleep(0.005)
        await pilot.pause()  # painted
        marks["numbers"] = time.perf_counter() - start
        while not getattr(app.screen, "charts_drawn", True):  # each laid out in a thread once its size is known
            await asyncio.sleep(0.005)
        await pilot.pause()
        marks["charts"], marks["cpu"] = time.perf_counter() - start, time.process_time() - cpu

    for _run in range(runs):
        workspace = Workspace(Store(db), load_playbook(), clock=FrozenClock(END), author="bench")
        workspace.save_ui_state({"mode": "board"})
        app = OctoApp(workspace, templates, offer_demo=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            waited = time.perf_counter()  # past start-up's check of every record (its child process, the heap
            while not app._check_done and time.perf_counter() - waited < 300:  # settled), as in use
                await asyncio.sleep(0.05)
            await app.commands.wait_idle()
            await asyncio.sleep(1.0)
            floor.append(await probed(lambda: asyncio.sleep(1.0)))  # this machine's noise: nothing to do
            busy.append(await probed(lambda: asyncio.to_thread(_spin, 1.0)))  # any work in a thread shares the GIL
            # p goes 30 → 90 → 365 → all: from the default 90 days, twice (365 is computed on the way).
            for label, keys in (("90 days", ("6",)), ("all", ("p", "p"))):
                marks: dict[str, float] = {}
                stall = await probed(partial(press_and_wait, app, pilot, keys, marks))
                assert getattr(app.screen, "days", 0) == (90 if label == "90 days" else None), label
                results[label].append((marks["numbers"], marks["charts"], stall, marks["cpu"]))
            await pilot.press("1")
    for label, values in results.items():
        first, rest = values[0], values[1:] or values
        print(f"   {label:<8} first opening: numbers {first[0] * 1000:>5.0f} ms, charts {first[1] * 1000:>5.0f} ms "
              f"(stall {first[2] * 1000:.0f} ms, CPU {first[3] * 1000:.0f} ms); then median: numbers "
              f"{statistics.median(v[0] for v in rest) * 1000:>5.0f} ms, charts "
              f"{statistics.median(v[1] for v in rest) * 1000:>5.0f} ms (CPU "
              f"{statistics.median(v[3] for v in rest) * 1000:.0f} ms), stall median "
              f"{statistics.median(v[2] for v in rest) * 1000:.0f} ms, worst {max(v[2] for v in rest) * 1000:.0f} ms")
    print(f"   the same probe with nothing to do (1 s, this machine's noise): median {statistics.median(floor) * 1000:.0f} "
          f"ms, worst {max(floor) * 1000:.0f} ms; while a thread spins in Python (1 s, the floor of any work off the "
          f"loop in this process): median {statistics.median(busy) * 1000:.0f} ms, worst {max(busy) * 1000:.0f} ms")
    print(f"   load average while measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (CPU: this process's, "
          "key to charts painted)")
    print("   targets: numbers within 1 s of the key; no frame held over 50 ms")


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(range(1000))


def _settle(fd: int) -> None:
    time.sleep(2.0)  # past start-up work (decisions checked, heap frozen)
    while select.select([fd], [], [], 0.1)[0]:
        os.read(fd, 65536)


def _until_idle(pid: int, fd: int, limit: float = 120.0) -> None:
    """Until the process stops using CPU and has no child (its start-up work, the check a child process may
    do for it included, is done), reading what it paints meanwhile."""
    deadline, last = time.monotonic() + limit, -1.0
    while time.monotonic() < deadline:
        used = _cpu_seconds(pid)
        if used - last < 0.02 and not _children(pid):
            return
        last = used
        while time.monotonic() < deadline and select.select([fd], [], [], 0.5)[0]:
            os.read(fd, 65536)


def _toggles(fd: int, runs: int) -> list[float]:
    times, checked = [], False
    for _ in range(runs):
        checked = not checked
        start = time.perf_counter()
        os.write(fd, b" ")
        _read_until(fd, b"[x]" if checked else b"[ ]")
        times.append(time.perf_counter() - start)
        time.sleep(0.05)
        while select.select([fd], [], [], 0.02)[0]:
            os.read(fd, 65536)
    return times


def team_mode(folder: Path, sizes: dict[str, int], runs: int, saves: int) -> None:
    from pgcluster import Cluster

    from octotui.storage.postgres_store import PostgresStore

    print("\n10. Team mode: PostgreSQL 15 on this machine (fsync on) beside the journaled file, same data")
    print(f"   {'size':<5} {'backend':<8} {'save p50/p95':>15} {'toggle p50/p95':>17} {'first paint':>12} "
          f"{'bare':>7} {'ratio':>6} {'seen elsewhere p50/p95':>23}")
    octotui = str(OCTOTUI)
    bare = folder / "bare.py"
    bare.write_text(BARE_APP)
    env = TERMINAL_ENV
    cluster = Cluster().start()
    try:
        for label, size in sizes.items():
            path = folder / f"team-{label}.json"
            subprocess.run([octotui, "demo", "--size", str(size), "--db", str(path)], check=True, env=env,
                           capture_output=True, timeout=900)
            url = cluster.create_database(f"bench_{label}")
            subprocess.run([octotui, "db", "copy", str(path), url], check=True, env=env, capture_output=True, timeout=900)
            for backend, location in (("tinydb", str(path)), ("postgres", url)):
                store = PostgresStore(location) if backend == "postgres" else Store(location)
                workspace = Workspace(store, load_playbook(), clock=SystemClock(), author="bench")
                release = workspace.create_release(version=f"99.{len(backend)}.0", title="bench")
                incident = workspace.start_incident("bench", "P3")
                save_times = []
                for number in range(saves):
                    began = time.perf_counter()
                    workspace.add_note(incident.id, f"note {number}")
                    save_times.append(time.perf_counter() - began)
                workspace.set_status(incident.id, "Resolved", confirm=True)
                shown = len(workspace.releases())
                workspace.save_ui_state({"mode": "board"})
                ours, theirs = [], []
                for _ in range(runs):
                    seconds, pid, fd = spawn_in_pty([octotui, "--db", location], env, b"palette", timeout=120)
                    stop(pid, fd)
                    ours.append(seconds)
                    seconds, pid, fd = spawn_in_pty([sys.executable, str(bare), str(shown)], env, b"palette", timeout=120)
                    stop(pid, fd)
                    theirs.append(seconds)
                workspace.save_ui_state({"mode": "checklist", "release": release.id, "owner": ["release", release.id],
                                         "row": f"REL-{release.id}:gate:0"})
                _seconds, pid, fd = spawn_in_pty([octotui, "--db", location], env, b"palette", timeout=120)
                _settle(fd)
                toggles = _toggles(fd, 20 if runs < 5 else 40)
                # Another process (this one) checks the next item; the running octotui paints it when told.
                seen = []
                ref = RunRef("release", release.id, "gate")
                workspace.refresh()
                for index in range(1, 6 if runs < 5 else 21):
                    row = 1 + (index % 5)
                    state_before = workspace.run(ref).items[row].state
                    began = time.perf_counter()
                    workspace.change_item(ref, row, "toggle", confirm=True)
                    _read_until(fd, b"[x]" if state_before == "todo" else b"[ ]", timeout=10)
                    seen.append(time.perf_counter() - began)
                    time.sleep(0.1)
                    while select.select([fd], [], [], 0.02)[0]:
                        os.read(fd, 65536)
                stop(pid, fd)
                store.close()
                mine, base = statistics.median(ours), statistics.median(theirs)
                print(f"   {label:<5} {backend:<8} {statistics.median(save_times) * 1000:>6.1f}/{percentile(save_times, 0.95) * 1000:>5.1f}ms "
                      f"{statistics.median(toggles) * 1000:>7.1f}/{percentile(toggles, 0.95) * 1000:>5.1f}ms "
                      f"{mine * 1000:>10.0f}ms {base * 1000:>5.0f}ms {mine / base:>5.2f}x "
                      f"{statistics.median(seen) * 1000:>12.0f}/{percentile(seen, 0.95) * 1000:>5.0f}ms")
    finally:
        cluster.stop()
    print("   targets (PostgreSQL): save <= 5 ms median at both sizes; first paint at 50k <= 1.5x the bare app;")
    print("   a change visible in a second instance <= 500 ms p95 (the file is polled once a second)")


def _children(pid: int) -> list[str]:
    return [child for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run, not for the record)")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8", help="which sections, e.g. 1,6,7")
    parser.add_argument("--reports-db", type=Path, help="section 11: a database made earlier by `octotui demo "
                        "--size 125000` (copied first; it takes a minute to make)")
    parser.add_argument("--stalls-db", type=Path, help="section 12: a database made earlier by `octotui demo "
                        "--size 30000` (copied before each run)")
    args = parser.parse_args()
    only = {int(part) for part in args.only.split(",") if part.strip()}
    runs = 3 if args.quick else 7
    os.environ.setdefault("OCTOTUI_USER", "bench")
    print(f"octotui benchmarks — {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("sizes: team = 200 releases, 100 incidents, 1,000 decisions; 10k = 500 + 500 + 9,000 documents")
    with tempfile.TemporaryDirectory() as folder:
        if 1 in only:
            first_paint(Path(folder), runs)
        if 2 in only:
            store_latency(Path(folder), 15 if args.quick else 60)
        if 3 in only or 4 in only:
            asyncio.run(keystrokes(Path(folder), 15 if args.quick else 40))
        if 5 in only:
            cpu_idle(Path(folder), 5 if args.quick else 20)
        if 6 in only:
            timeline_notes(Path(folder), 15 if args.quick else 60)
        if 7 in only:
            asyncio.run(external_change(Path(folder), 5 if args.quick else 15))
        if 8 in only:
            toggle_in_terminal(Path(folder), 20 if args.quick else 60)
        if 10 in only:
            team_mode(Path(folder), {"team": 1_300, "50k": 50_000}, 3 if args.quick else 5, 20 if args.quick else 100)
        if 11 in only:
            asyncio.run(reports_screen(Path(folder), 2 if args.quick else 5, db=args.reports_db))
        if 12 in only:
            asyncio.run(loop_stalls(Path(folder), 3 if args.quick else 5, db=args.stalls_db))
        if 9 in only:
            growth(Path(folder), [1_000, 10_000] if args.quick else [1_000, 10_000, 50_000, 125_000], 3 if args.quick else 5)


class _StallProbe:
    """The event loop's longest stall while it runs: how late a task's 2 ms sleeps wake (an async context)."""

    async def __aenter__(self) -> _StallProbe:
        self.worst, self._done = 0.0, asyncio.Event()
        self._task = asyncio.create_task(self._probe())
        await asyncio.sleep(0)  # it is sleeping before the action starts
        return self

    async def _probe(self) -> None:
        while not self._done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.002)
            self.worst = max(self.worst, time.perf_counter() - before - 0.002)

    async def __aexit__(self, *_exc: object) -> None:
        self._done.set()
        await self._task


async def _settled(app, pilot) -> None:
    """Until what a key started is painted: commands saved, a screen's work in threads done."""
    for _ in range(2000):
        await app.commands.wait_idle()
        await app.workers.wait_for_complete()
        if not getattr(app.screen, "computing", False) and not app.commands.pending:
            break
        await asyncio.sleep(0.005)
    await pilot.pause()


async def loop_stalls(folder: Path, runs: int, size: int = 30_000, db: Path | None = None) -> None:
    import shutil

    from textual.app import App
    from textual.screen import Screen
    from textual.widgets import DataTable, Footer, Header

    from octotui.comms.templates import load_templates
    from octotui.domain.clock import FrozenClock
    from octotui.domain.models import Severity
    from octotui.domain.stages import Stage
    from octotui.services.bulk import END
    from octotui.ui.app import OctoApp

    print(f"\n12. Longest event-loop stall per action at `demo --size {size:,}` (median of {runs} runs; bare Textual "
          "app pressing the same keys)")
    if db is None:
        db = folder / f"stalls-{size}.json"
        subprocess.run([str(OCTOTUI), "demo", "--size", str(size), "--db", str(db)], check=True, env=TERMINAL_ENV,
                       capture_output=True, timeout=1800)

    class BareScreen(Screen[None]):
        def compose(self):
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("ID", "Version", "Type", "Title", "Captain", "Target", "Stage", "Done")
            for n in range(1000):
                table.add_row(f"REL-{n}", f"1.{n}.0", "minor", f"Release {n}", "cap", "2026-12-01", "Planned", "0/13")

    class Bare(App[None]):
        """Six screens on keys 1-6 as octotui's modes (each a header, a table of 1,000 rows, a footer): the
        same screen switches, the same palette; the other keys do nothing here."""

        MODES = {str(n): BareScreen for n in range(1, 7)}  # noqa: RUF012
        BINDINGS = [(str(n), f"switch_mode('{n}')", f"screen {n}") for n in range(1, 7)]  # noqa: RUF012

        def on_mount(self) -> None:
            self.switch_mode("1")

    def fill(app, **values: str) -> None:
        for name, value in values.items():
            app.screen.query_one(f"#f-{name}").value = value

    def first_gate_item(app) -> None:
        """The first gate item still to do (not the notes item: with empty notes it asks first)."""
        run = app.workspace.run(RunRef("release", app.selected_release_id, "gate"))
        index = next(n for n, item in enumerate(run.items) if item.state.value == "todo" and "notes" not in item.text)
        table = app.screen.query_one("#checklist", DataTable)
        table.move_cursor(row=table.get_row_index(f"REL-{app.selected_release_id}:gate:{index}"))

    # (name, keys, what is done in between on octotui's forms); every action ends with its result painted.
    actions = [
        ("1 board", ("1",), None),
        ("edit release", ("e", "ctrl+s"), lambda app, run: fill(app, title=f"bench edit {run}")),
        ("2 checklist", ("2",), None),
        ("toggle item", ("space",), None),  # on the first gate item (chosen before the probe starts)
        ("3 incident", ("3",), None),
        ("timeline note", ("t", "enter"), lambda app, run: fill(app, note=f"bench note {run}")),
        ("record decision", ("D", "ctrl+s"), lambda app, run: fill(app, title=f"bench {run}", decision="go")),
        ("4 decisions", ("4",), None),
        ("5 comms", ("5",), None),
        ("6 reports", ("6",), None),
        ("palette", ("ctrl+p", "escape"), None),
    ]
    templates = load_templates()
    # Each app does the actions twice: the first time opens each screen and form (imports, compose, styles);
    # the second is how they run in use.
    passes = ("first", "again")
    octo: dict[tuple[str, str], list[float]] = {(when, name): [] for when in passes for name, _keys, _b in actions}
    bare: dict[tuple[str, str], list[float]] = {(when, name): [] for when in passes for name, _keys, _b in actions}
    for run in range(runs):
        copy = folder / "stalls-run.json"  # each run from the same data (the actions write)
        shutil.copyfile(db, copy)
        workspace = Workspace(Store(copy), load_playbook(), clock=FrozenClock(END), author="bench")
        release = next(row for row in workspace.board_rows() if row.stage is Stage.PLANNED)
        if not workspace.open_incidents():
            workspace.start_incident("bench", Severity.P2)
        workspace.save_ui_state({"mode": "board"})
        app = OctoApp(workspace, templates, offer_demo=False)
        async with app.run_test(size=(120, 36)) as pilot:
            waited = time.perf_counter()  # past start-up's check of every record, as in use
            while not app._check_done and time.perf_counter() - waited < 300:
                await asyncio.sleep(0.05)
            await _settled(app, pilot)
            table = app.screen.query_one("#board", DataTable)
            table.move_cursor(row=table.get_row_index(str(release.id)))
            app.selected_release_id = release.id
            await pilot.pause()
            for when, (name, keys, between) in ((when, action) for when in passes for action in actions):
                if name == "toggle item":
                    first_gate_item(app)
                    await pilot.pause()
                async with _StallProbe() as probe:
                    await pilot.press(keys[0])
                    await _settled(app, pilot)
                    if between is not None:
                        between(app, f"{run}-{when}")
                    for key in keys[1:]:
                        await pilot.press(key)
                        await _settled(app, pilot)
                octo[when, name].append(probe.worst)
                assert app.screen is app.screen_stack[0], f"{name}: left {app.screen} open: {getattr(app.screen, 'question', '')}"
        async with Bare().run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            for when, (name, keys, _between) in ((when, action) for when in passes for action in actions):
                async with _StallProbe() as probe:
                    for key in keys:
                        await pilot.press(key)
                        await pilot.pause()
                bare[when, name].append(probe.worst)
    print(f"   {'action':<16} {'first time (ratio to bare)':>30} {'again (ratio to bare)':>28}   worst run again")
    for name, _keys, _between in actions:
        cells = []
        for when in passes:
            mine, theirs = statistics.median(octo[when, name]), statistics.median(bare[when, name])
            cells.append(f"{mine * 1000:>6.1f} ms vs {theirs * 1000:>5.1f} ms ({mine / max(theirs, 1e-4):>5.1f}x)")
        print(f"   {name:<16} {cells[0]:>30} {cells[1]:>28}   {max(octo['again', name]) * 1000:.0f} ms")
    print(f"   load average while measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; target: no action over 50 ms")


if __name__ == "__main__":
    main()
