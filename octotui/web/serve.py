"""`octotui serve`: each browser tab a read-only octotui on the same database, behind an access token.

Built on textual-serve (the `octotui[web]` extra), imported only by this module. Its aiohttp application is
wrapped, not forked: one middleware asks every request for the token (a query parameter once, then an
HttpOnly, SameSite=Strict cookie) and lets only the server's own pages open the websocket; the websocket
handler counts sessions (`max_sessions`) and every session it started is ended when the server stops.
`/status` is the stakeholders' status page (the one path without the token when `public_status`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import re
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

COOKIE = "octotui_token"
TOKEN_PARAMETER = "token"
STATUS_PATH = "/status"
REFRESH_SECONDS = 60
STOP_WAIT = 5.0  # seconds a session has to quit before it is killed

FULL_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>octotui: server is full</title></head>
<body><h1>The server is full</h1><p>This octotui serves at most {limit} browser tabs at once, and all are open.
Close one, or try again later.</p></body></html>
"""
UNAUTHORIZED = "401: this octotui needs its access token (open the URL printed when the server started)\n"

log = logging.getLogger("octotui.web")
_REMOTE_STYLESHEET = re.compile(r"<link\s[^>]*href=\"https?://[^\"]*\"[^>]*>", re.IGNORECASE)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int) -> str | None:
    """One line naming who can reach the server, when it listens beyond this machine."""
    if is_loopback(host):
        return None
    who = ("anyone on every network this machine is on" if host in ("0.0.0.0", "::", "")
           else f"anyone who can reach {host}")
    return (f"octotui serve: warning: listening on {host}:{port}: {who} can open it with the token "
            "(and read the whole database)")


class OctoServer(Server):
    def __init__(self, command: str, *, host: str, port: int, token: str, max_sessions: int = 8,
                 public_status: bool = False, status_html: Callable[[], str] | None = None) -> None:
        super().__init__(command, host=host, port=port, title="octotui")
        self.token = token
        self.max_sessions = max_sessions
        self.public_status = public_status
        self.status_html = status_html
        self.sessions: set[AppService] = set()
        self.processes: list[asyncio.subprocess.Process] = []
        self.ready: Callable[[], None] | None = None  # called once listening (tests, the start message)

    # -- the aiohttp application, wrapped ---------------------------------------------------------------
    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._require_token)
        app.router.add_get(STATUS_PATH, self.handle_status)
        return app

    def _has_token(self, request: web.Request) -> bool:
        given = request.cookies.get(COOKIE, "")
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    @web.middleware
    async def _require_token(self, request: web.Request,
                             handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if request.path == STATUS_PATH and self.public_status:
            return await handler(request)
        offered = request.query.get(TOKEN_PARAMETER)
        if offered is not None and hmac.compare_digest(offered.encode(), self.token.encode()):
            # The token leaves the address bar: kept in a cookie only this site's own requests carry.
            query = {key: value for key, value in request.query.items() if key != TOKEN_PARAMETER}
            target = request.rel_url.with_query(query)
            response = web.HTTPSeeOther(str(target))
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict", path="/")
            raise response
        if not self._has_token(request):
            return web.Response(status=401, text=UNAUTHORIZED)
        if request.path == "/ws" and not self._same_origin(request):
            return web.Response(status=403, text="403: a websocket from another site is refused\n")
        return await handler(request)

    def _same_origin(self, request: web.Request) -> bool:
        """Cross-site websocket hijacking: only a page of this server may open the websocket."""
        origin = request.headers.get("Origin")
        if not origin:
            return False
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc == request.host

    # -- pages ---------------------------------------------------------------------------------------------
    async def handle_index(self, request: web.Request) -> Any:
        if len(self.sessions) >= self.max_sessions:
            return web.Response(status=503, text=FULL_PAGE.format(limit=self.max_sessions), content_type="text/html")
        # The page's own URLs (websocket, statics) on the host the browser used, so its cookie goes along.
        self.public_url = f"{request.scheme}://{request.host}"
        response = await super().handle_index(request)
        if isinstance(response, web.Response) and response.text:
            # textual-serve's page links a web font from Google: nothing is loaded from elsewhere here.
            response.text = _REMOTE_STYLESHEET.sub("", response.text)
        return response

    async def handle_status(self, request: web.Request) -> web.Response:
        if self.status_html is None:
            raise web.HTTPNotFound()
        html = await asyncio.to_thread(self.status_html)
        return web.Response(text=html, content_type="text/html", headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    # -- sessions ------------------------------------------------------------------------------------------
    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's handler, with each session counted while it runs and its process kept."""
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        if len(self.sessions) >= self.max_sessions:
            await websocket.close(code=1013, message=b"server is full")
            return websocket
        width = _int(request.query.get("width"), 80)
        height = _int(request.query.get("height"), 24)
        async def close() -> None:
            await websocket.close()

        service = AppService(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                             close=close, download_manager=self.download_manager, debug=self.debug)
        self.sessions.add(service)
        try:
            await service.start(width, height)
            self.processes = [process for process in self.processes if process.returncode is None]
            if service._process is not None:
                self.processes.append(service._process)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:  # noqa: BLE001 - one browser tab's trouble never stops the server
            log.exception("a session failed")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(service.stop(), STOP_WAIT)
            self.sessions.discard(service)
            _kill(service._process)
        return websocket

    async def on_startup(self, app: web.Application) -> None:
        """Nothing to print here (textual-serve prints its logo): `ready` is told once the socket listens."""

    def serve(self, debug: bool = False) -> None:
        """textual-serve's serve(), except that `ready` is told once the socket listens: aiohttp's run_app calls
        `print` after its sites started, while on_startup runs before them (a client told the URL then was refused)."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, self.request_exit)
            loop.add_signal_handler(signal.SIGTERM, self.request_exit)
        web.run_app(self._make_app(), host=self.host, port=self.port, handle_signals=False, loop=loop,
                    print=lambda *_args: self.ready() if self.ready is not None else None)

    async def on_shutdown(self, app: web.Application) -> None:
        """Ctrl+C: every session this server started ends; one that does not quit in time is killed."""
        for service in list(self.sessions):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(service.stop(), STOP_WAIT)
        for process in self.processes:
            if process.returncode is None:
                _kill(process)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(process.wait(), STOP_WAIT)

    def initialize_logging(self) -> None:
        logging.basicConfig(level=logging.WARNING, format="octotui serve: %(message)s", stream=sys.stderr)


def _int(text: str | None, default: int) -> int:
    try:
        return max(1, min(1000, int(text or default)))
    except ValueError:
        return default


def _kill(process: asyncio.subprocess.Process | None) -> None:
    if process is not None and process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()


def serve(command: str, *, host: str, port: int, token: str, max_sessions: int, public_status: bool,
          status_html: Callable[[], str], announce: Callable[[str], None]) -> None:
    server = OctoServer(command, host=host, port=port, token=token, max_sessions=max_sessions,
                        public_status=public_status, status_html=status_html)
    shown_host = f"[{host}]" if ":" in host else host
    server.ready = lambda: announce(f"http://{shown_host}:{port}/?{TOKEN_PARAMETER}={token}")
    server.serve()
