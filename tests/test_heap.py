"""The heap kept away from the cyclic collector (services/heap.py): what a large read makes is frozen, the collector
is paused while it is made, full collections wait for idle time. Counted (objects, collections), never timed."""

from __future__ import annotations

import gc
import shutil
import threading

from octotui.domain.models import Decision
from octotui.services import heap
from octotui.services.bulk import generate
from octotui.services.workspace import Workspace
from octotui.storage.file_store import Store


class _Made:
    """An object the collector tracks, told apart from everything else in the heap."""


def _tracked(kind: type) -> int:
    """How many live objects of `kind` the collector still walks (frozen ones it does not)."""
    return sum(1 for thing in gc.get_objects() if isinstance(thing, kind))


class _FullCollections:
    """Counts the collector's passes over the oldest generation while it is in use."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            self.count += 1

    def __enter__(self) -> _FullCollections:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self)


def test_what_a_long_lived_read_makes_is_frozen_and_the_collector_paused_meanwhile():
    assert gc.isenabled()
    with heap.long_lived():
        assert not gc.isenabled()  # 100,000s of records made: no pass over them while they are
        made = [_Made() for _ in range(1000)]
    assert gc.isenabled()
    assert _tracked(_Made) == 0  # frozen: never walked again
    assert len(made) == 1000  # and alive all the same
    gc.unfreeze()
    assert _tracked(_Made) == 1000


def test_nested_and_concurrent_reads_restore_the_collector_once_the_last_ends():
    entered, leave = threading.Event(), threading.Event()

    def other_read() -> None:
        with heap.long_lived():
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=other_read)
    thread.start()
    assert entered.wait(10)
    with heap.long_lived():
        with heap.long_lived():
            pass
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread's read is still under way
    leave.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_read_during_start_up_leaves_the_collector_paused_until_start_up_settles():
    heap.pause_for_start_up()
    with heap.long_lived():
        pass
    assert not gc.isenabled()  # start-up paused it: a read in the middle does not turn it back on
    heap.settle()
    assert gc.isenabled()


def test_settling_while_a_read_is_under_way_turns_the_collector_on_when_it_ends():
    heap.pause_for_start_up()
    with heap.long_lived():
        heap.settle()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_settled_full_collections_wait_for_idle_time():
    made = [_Made() for _ in range(100)]
    heap.settle()
    assert _tracked(_Made) == 0 and len(made) == 100
    assert gc.get_threshold()[2] == heap.FULL_COLLECTION_AFTER  # Python's own: 10
    with _FullCollections() as full:
        gc.collect(1)  # something reached the oldest generation
        assert heap.collect_while_idle()
        assert full.count == 1
        assert not heap.collect_while_idle()  # nothing new there since: no pass
        assert full.count == 1


def test_reading_every_decision_freezes_them(tmp_path, playbook, clock):
    """The decision log's read of every decision (27,000 at `demo --size 30000`) is frozen once made: before, each
    full collection walked them all again, 100-300 ms on the event loop's thread."""
    path = tmp_path / "large.json"
    store = Store(path)
    generate(Workspace(store, playbook, author="gen"), 600)
    store.compact()
    copy = tmp_path / "copy.json"
    shutil.copy(path, copy)
    workspace = Workspace(Store(copy), playbook, clock=clock, author="tester")
    gc.unfreeze()
    gc.collect()
    walked_before = _tracked(Decision)
    workspace.read_decisions()
    decisions = workspace.decisions()
    assert len(decisions) > 400
    assert _tracked(Decision) == walked_before  # none of the new ones is walked by the collector
    gc.unfreeze()
    assert _tracked(Decision) >= walked_before + len(decisions)


async def test_the_app_collects_in_full_only_after_a_second_without_input(workspace, make_app):
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        app.ticker.pause()  # its ticks are called here, one at a time
        with _FullCollections() as full:
            gc.collect(1)  # something in the oldest generation for a full pass to walk
            await pilot.press("j")
            app._tick()  # the tick after a key: not idle
            assert full.count == 0
            app._tick()  # a whole tick without input: idle
            assert full.count == 1
            app._tick()  # nothing new in the oldest generation: no pass
            assert full.count == 1


async def test_a_modes_first_switch_parses_no_stylesheet_afresh(workspace, make_app, monkeypatch):
    """Before, the first switch to each mode parsed every rule of the app twice (30-50 ms on the loop): the new
    screen looked as if it had missed a theme change."""
    from textual.css.stylesheet import Stylesheet

    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        reparsed: list[str] = []
        reparse = Stylesheet.reparse

        def counting(stylesheet: Stylesheet) -> None:
            reparsed.append(f"all rules, at {app.current_mode}")
            reparse(stylesheet)

        monkeypatch.setattr(Stylesheet, "reparse", counting)
        for key in ("2", "3", "4", "5", "6", "1"):
            await pilot.press(key)
            await pilot.pause()
        assert reparsed == []


async def test_typing_a_release_title_does_not_read_every_release(workspace, make_app, monkeypatch):
    """The type's warning reads every row of the board; it is asked again for the version and the type only."""
    from octotui.services.releases import ReleasesMixin
    from octotui.ui.forms import FormScreen

    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, FormScreen)
        asked: list[str] = []
        warning = ReleasesMixin.type_warning

        def counting(self: ReleasesMixin, *args: object, **kwargs: object) -> str:
            asked.append(str(args[0]))
            return warning(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(ReleasesMixin, "type_warning", counting)
        form.query_one("#f-title").focus()
        await pilot.press(*"Faster search")
        assert asked == []
        form.query_one("#f-version").focus()
        await pilot.press("9")
        await pilot.pause()
        assert len(asked) == 1
