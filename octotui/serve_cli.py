"""`octotui serve`: read-only octotui in the browser (textual-serve, the `web` extra) and the status page."""

from __future__ import annotations

import argparse
import os
import sys

from octotui.cli_common import UsageError, note, open_read_only, open_workspace, resolve_db_location

WEB_EXTRA = "octotui serve needs the web extra: pip install 'octotui[web]'"


def run_serve(args: argparse.Namespace) -> int:
    """Each browser tab runs `octotui --read-only` on this database; /status is built here on each request."""
    import shlex

    try:
        from octotui.web.serve import exposure_warning, new_token, serve
    except ImportError:
        raise UsageError(WEB_EXTRA) from None
    from octotui.comms import status_page
    from octotui.domain.settings import load_settings

    token = args.token or os.environ.pop("OCTOTUI_SERVE_TOKEN", "") or new_token()
    os.environ.pop("OCTOTUI_SERVE_TOKEN", None)  # the sessions do not need it
    if len(token) < 16 or not token.isprintable() or " " in token:
        raise UsageError("the token must be at least 16 printable characters without spaces")
    location = resolve_db_location(args.db, load_settings().db)
    open_read_only(location).close()  # a database that cannot be read is one line now, not in every tab
    command = [sys.executable, "-m", "octotui", "--read-only", "--db", location]
    if args.playbook:
        command += ["--playbook", str(args.playbook.resolve())]
    if args.templates:
        command += ["--templates", str(args.templates.resolve())]

    def status_html() -> str:
        workspace = open_workspace(argparse.Namespace(**{**vars(args), "db": location}), check_all=False, read_only=True)
        try:
            return status_page.render(status_page.build(workspace), refresh_seconds=60)
        finally:
            workspace.store.close()

    warning = exposure_warning(args.host, args.port)
    if warning:
        note(warning)

    def announce(url: str) -> None:
        print(f"octotui serve: open {url}  (Ctrl+C stops the server and every session)", flush=True)

    serve("exec " + shlex.join(command), host=args.host, port=args.port, token=token,
          max_sessions=args.max_sessions, public_status=args.public_status, status_html=status_html, announce=announce)
    return 0
