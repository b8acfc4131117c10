"""The fixed scenes behind both the snapshot tests and `screenshots/`: demo data, frozen clock, named keys."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from octotui.comms.templates import load_templates
from octotui.domain.clock import FrozenClock
from octotui.domain.playbook import load_playbook
from octotui.services.demo import load_demo
from octotui.services.workspace import Workspace
from octotui.storage.file_store import Store

FROZEN_AT = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scene:
    name: str
    keys: tuple[str, ...] = ()
    size: tuple[int, int] = (120, 36)
    setup: Callable[[object], None] | None = None  # app state to set before the keys


def _checklist_of(release_id: int):
    def setup(app) -> None:
        app.selected_release_id = release_id
        app.checklist_owner = ("release", release_id)
    return setup


def _second_incident_overdue(app) -> None:
    """A P0 started 20 minutes ago beside the demo's P1: its first update (15-minute cadence) is overdue."""
    from datetime import timedelta

    workspace = app.workspace
    workspace.start_incident("Payments API times out for card checkouts in every EU region at once", "P0",
                             started_at=workspace.now() - timedelta(minutes=20),
                             impact="Card payments fail for roughly 40% of EU customers; PayPal still works")
    app.active_incident_id = 1


SCENES = [
    Scene("board"),
    Scene("board-80x24", size=(80, 24)),
    Scene("checklist", keys=("2", "j", "j", "j"), setup=_checklist_of(5)),
    Scene("checklist-80x24", keys=("2", "j", "j", "j"), size=(80, 24), setup=_checklist_of(5)),
    Scene("checklist-hotfix", keys=("2",), setup=_checklist_of(8)),
    Scene("incident", keys=("3",)),
    Scene("decision-log", keys=("4",)),
    Scene("comms", keys=("5", "down", "down", "down")),
    Scene("help", keys=("question_mark",)),
    Scene("new-release-form", keys=("n",)),
    Scene("na-reason-form", keys=("2", "j", "j", "x"), setup=_checklist_of(6)),
    Scene("gate-blocked", keys=("2", "j", "j", "j", "j", "j", "j", "j", "j", "j", "space"), setup=_checklist_of(6)),
    Scene("decision-form", keys=("D",)),
    Scene("start-incident-form", keys=("i",)),
    Scene("incident-status-choice", keys=("3", "s")),
    Scene("incident-80x24-two-open", keys=("3",), size=(80, 24), setup=_second_incident_overdue),
    Scene("status-update-form", keys=("3", "u")),
    Scene("rollback-form", keys=("down", "down", "down", "down", "r")),
    Scene("reports", keys=("6",)),
    Scene("reports-80x24", keys=("6",), size=(80, 24)),
]


def build_app(folder: Path):
    """A fresh demo database in `folder`, opened by an app whose clock never moves."""
    from octotui.ui.app import OctoApp

    os.environ["TZ"] = "UTC"
    time.tzset()
    clock = FrozenClock(FROZEN_AT)
    workspace = Workspace(Store(folder / "octotui.json"), load_playbook(), clock=clock, author="maria")
    load_demo(workspace)
    app = OctoApp(workspace, load_templates(), offer_demo=False)
    app.cursor_blink = False
    return app


def scene_runner(scene: Scene) -> Callable[[object], Awaitable[None]]:
    async def run_before(pilot) -> None:
        if scene.setup is not None:
            scene.setup(pilot.app)
        for key in scene.keys:
            await pilot.press(key)
        await reports_settled(pilot)
    return run_before


async def reports_settled(pilot) -> None:
    """The reports are computed in a thread and each chart laid out in another, once its size is known: a scene
    is what shows once they are all in (no-op on other screens)."""
    for _ in range(50):
        await pilot.app.workers.wait_for_complete(
            [worker for worker in pilot.app.workers if worker.group in ("reports", "charts")])
        await pilot.pause()
        screen = pilot.app.screen
        if not getattr(screen, "computing", False) and getattr(screen, "charts_drawn", True):
            return
    raise AssertionError("the reports never settled")


async def save_scene(scene: Scene, target: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = build_app(Path(folder))
        async with app.run_test(size=scene.size) as pilot:
            await scene_runner(scene)(pilot)
            await pilot.pause()
            app.save_screenshot(filename=target.name, path=str(target.parent))
