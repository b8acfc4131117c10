"""Regenerate screenshots/: `python tests/screenshots.py [SCENE ...]` (same scenes as the snapshot tests), plus two
PNGs made in Debian's Chromium: the status page (phone width) and the board served in the browser."""

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from scenes import SCENES, save_scene  # noqa: E402

TARGET = Path(__file__).resolve().parent.parent / "screenshots"


async def main() -> None:
    TARGET.mkdir(exist_ok=True)
    chosen = set(sys.argv[1:])  # scene names: only those (default: all)
    for scene in SCENES:
        if chosen and scene.name not in chosen:
            continue
        path = TARGET / f"{scene.name}.svg"
        await save_scene(scene, path)
        print(f"wrote {path.relative_to(TARGET.parent)} ({scene.size[0]}x{scene.size[1]})")


def browser_pngs() -> None:
    """The status page from the demo data with the frozen clock, and `octotui serve` showing the board."""
    from datetime import UTC, datetime

    from playwright.sync_api import sync_playwright
    from web_support import CHROMIUM, Screen, Served, launch

    from octotui.comms import status_page
    from octotui.domain.clock import FrozenClock
    from octotui.domain.playbook import load_playbook
    from octotui.services.demo import load_demo
    from octotui.services.workspace import Workspace
    from octotui.storage.file_store import Store

    if not Path(CHROMIUM).exists():
        print("screenshots: no Chromium here; the PNGs were not made (apt-get install chromium)")
        return
    os.environ.update(TZ="UTC", OCTOTUI_USER="captain", OCTOTUI_CONFIG="/nonexistent/octotui-screenshots.toml")
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace(Store(Path(folder) / "status.json"), load_playbook(),
                              clock=FrozenClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC)))
        load_demo(workspace)
        page_file = Path(folder) / "status.html"
        page_file.write_text(status_page.render(status_page.build(workspace)))
        workspace.store.close()
        served_db = Path(folder) / "served.json"
        subprocess.run([sys.executable, "-m", "octotui", "--db", str(served_db), "demo"], check=True, capture_output=True)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            phone = browser.new_page(viewport={"width": 375, "height": 812}, device_scale_factor=2)
            phone.goto(page_file.as_uri())
            phone.screenshot(path=str(TARGET / "status-page.png"), full_page=True)
            print("wrote screenshots/status-page.png (375 px wide)")
            served = Served(served_db)
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 700})
                screen = Screen(page)
                page.goto(served.url)
                screen.wait_for("REL-2")
                page.locator(".textual-terminal").click()
                page.wait_for_timeout(500)  # the last frame painted on the canvas
                page.screenshot(path=str(TARGET / "browser-board.png"))
                print("wrote screenshots/browser-board.png (octotui serve, 1200x700)")
            finally:
                served.stop()
            browser.close()


if __name__ == "__main__":
    asyncio.run(main())
    browser_pngs()
