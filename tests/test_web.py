"""`octotui serve` and the status page in a real browser: Debian's Chromium driven by Playwright.

The app in the page draws on a canvas (xterm.js), so what it shows is read where it arrives: the terminal
output the page receives on its websocket, escape sequences removed. Nothing waits a fixed time: every wait
is for something to appear (or a process to end), with a deadline only to fail instead of hanging.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web_support import (
    CHROMIUM,
    DEADLINE,
    HOSTILE_TITLE,
    HOSTILE_UPDATE,
    TOKEN,
    Screen,
    Served,
    digest,
    launch,
    sessions_of,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed here (.ci/run installs "
                                                            "Debian's chromium package)"),
]
@pytest.fixture
def demo_db(tmp_path) -> Path:
    db = tmp_path / "web.json"
    env = {**os.environ, "OCTOTUI_DB": str(db)}
    subprocess.run([sys.executable, "-m", "octotui", "demo"], check=True, env=env, capture_output=True)
    return db


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


def test_the_served_app_shows_the_board_and_changes_nothing(browser, demo_db):
    before = digest(demo_db)
    served = Served(demo_db)
    try:
        requests: list[str] = []
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("request", lambda request: requests.append(request.url))
        screen = Screen(page)
        page.goto(served.url)
        page.locator(".textual-terminal").click()
        screen.wait_for("Saved carts")  # a row of the demo board
        elsewhere = [url for url in requests if not url.startswith((served.base, f"ws://127.0.0.1:{served.port}"))]
        assert elsewhere == [], "the served app loads nothing from elsewhere (works offline, tells no one)"
        screen.wait_for("REL-2")
        assert "token" not in page.url, "the token left the address bar for a cookie"
        screen.press("2", "Pre-release requirements")
        screen.press("1", "Release board")
        screen.press("n", "read-only")
        assert "Create a release" not in screen.text
        assert len(sessions_of(demo_db)) == 1
        page.close()
        end = time.monotonic() + DEADLINE
        while sessions_of(demo_db):  # a closed tab ends its process
            assert time.monotonic() < end, "the closed tab's octotui kept running"
            time.sleep(0.1)
    finally:
        assert served.stop() == 0
    assert digest(demo_db) == before


def test_without_the_token_401_and_no_process(browser, demo_db):
    import urllib.error
    import urllib.request

    served = Served(demo_db)
    try:
        for path in ("/", "/ws", "/static/js/textual.js", "/status", f"/?token={TOKEN[:-1]}"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(served.base + path)
            assert refused.value.code == 401, path
        page = browser.new_page()
        response = page.goto(served.base + "/")
        assert response.status == 401 and "access token" in page.content()
        assert sessions_of(demo_db) == []
    finally:
        served.stop()


def test_a_websocket_from_another_origin_is_refused(browser, demo_db):
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import aiohttp

    served = Served(demo_db)

    async def handshake(origin: str) -> int:
        async with aiohttp.ClientSession(cookies={"octotui_token": TOKEN}) as session:
            try:
                async with session.ws_connect(f"{served.base}/ws?width=80&height=24", headers={"Origin": origin}):
                    return 101
            except aiohttp.WSServerHandshakeError as error:
                return error.status

    try:
        def status(origin: str) -> int:  # aiohttp's own loop, beside the one Playwright runs here
            with ThreadPoolExecutor(1) as pool:
                return pool.submit(asyncio.run, handshake(origin)).result()

        assert status("http://evil.example") == 403
        assert status(f"http://attacker.example:{served.port}") == 403
        assert sessions_of(demo_db) == []
        assert status(served.base) == 101, "the server's own origin is let in (so the 403s above mean something)"
        # And from a page of another site in the browser, holding the cookie: the socket never opens.
        page = browser.new_page()
        page.goto(served.url)  # the cookie is set
        other = browser.new_page()
        other.set_content("<p>another site</p>")
        opened = other.evaluate("""url => new Promise(resolve => {
            const socket = new WebSocket(url);
            socket.onopen = () => resolve("open");
            socket.onerror = () => resolve("refused");
        })""", f"ws://127.0.0.1:{served.port}/ws")
        assert opened == "refused"
    finally:
        served.stop()


def test_the_ninth_tab_is_told_the_server_is_full_and_stopping_ends_every_session(browser, demo_db):
    served = Served(demo_db)  # --max-sessions defaults to 8
    try:
        context = browser.new_context(viewport={"width": 800, "height": 500})
        for _tab in range(8):
            page = context.new_page()
            screen = Screen(page)
            page.goto(served.url)
            screen.wait_for("REL-2")
        assert len(sessions_of(demo_db)) == 8
        ninth = context.new_page()
        response = ninth.goto(served.url)
        assert response.status == 503
        assert ninth.locator("h1").inner_text() == "The server is full"
        assert len(sessions_of(demo_db)) == 8
    finally:
        code = served.stop()
    assert code == 0
    assert sessions_of(demo_db) == [], "Ctrl+C left octotui sessions running"


def test_ctrl_c_in_a_terminal_stops_the_server_and_its_sessions(browser, demo_db):
    served = Served(demo_db)
    try:
        for _tab in range(2):
            page = browser.new_page()
            screen = Screen(page)
            page.goto(served.url)
            screen.wait_for("REL-2")
        assert len(sessions_of(demo_db)) == 2
    finally:
        code = served.stop(whole_group=True)  # what Ctrl+C in the terminal does
    assert code == 0
    end = time.monotonic() + DEADLINE
    while sessions_of(demo_db):
        assert time.monotonic() < end, "Ctrl+C left octotui sessions running"
        time.sleep(0.1)


def test_the_status_page_in_the_browser(browser, tmp_path):
    from octotui.domain.playbook import load_playbook
    from octotui.services.demo import load_demo
    from octotui.services.workspace import Workspace
    from octotui.storage.file_store import Store

    db = tmp_path / "status.json"
    workspace = Workspace(Store(db), load_playbook())
    load_demo(workspace)
    incident = workspace.start_incident(HOSTILE_TITLE, "P0")
    workspace.set_impact(incident.id, HOSTILE_UPDATE)
    workspace.create_release(version="9.9.9", title=HOSTILE_TITLE, type="major")
    workspace.store.close()

    served = Served(db, "--public-status")
    dialogs = []
    try:
        page = browser.new_page(viewport={"width": 375, "height": 812}, is_mobile=True)
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        response = page.goto(served.base + "/status")  # no token: the one public path
        assert response.status == 200
        assert page.get_by_role("heading", name="Open incidents").is_visible()
        assert page.get_by_role("heading", level=3).first.inner_text().endswith(HOSTILE_TITLE)
        assert "<script>alert(2)</script>" in page.locator(".update").first.inner_text()
        assert page.locator("script, img, svg, iframe").count() == 0
        assert dialogs == [], "no script ran"
        assert requests == [served.base + "/status"], "nothing else is loaded"
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1] == 375, f"horizontal scroll at 375 px: {width}"
        assert page.locator('meta[http-equiv="refresh"]').get_attribute("content") == "60"
        # The rest still needs the token.
        assert page.goto(served.base + "/").status == 401
    finally:
        served.stop()


def test_the_exported_page_at_phone_width(browser, demo_db, tmp_path):
    out = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "octotui", "--db", str(demo_db), "export", "status-page", "-o", str(out)],
                   check=True, capture_output=True)
    page = browser.new_page(viewport={"width": 375, "height": 812})
    page.goto((out / "index.html").as_uri())
    colour = page.evaluate("getComputedStyle(document.querySelector('.severity')).backgroundColor")
    assert colour != "rgba(0, 0, 0, 0)", "the stylesheet beside the page is used"
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1]


def test_beyond_loopback_one_warning_line_naming_who():
    from octotui.web.serve import exposure_warning

    assert exposure_warning("127.0.0.1", 8000) is None and exposure_warning("localhost", 8000) is None
    everyone = exposure_warning("0.0.0.0", 8000)
    assert everyone is not None and "\n" not in everyone and "every network this machine is on" in everyone
    assert "anyone who can reach 192.168.1.5" in str(exposure_warning("192.168.1.5", 8000))

