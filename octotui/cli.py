"""Command line: `octotui` runs the app; `octotui export ...` prints or writes without a screen.

Every failure a person can cause (a bad flag, an unreadable path, a malformed playbook) is one line
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from octotui import __version__
from octotui.domain.clock import Clock
from octotui.domain.config import CLIPBOARD_MODES, ConfigProblem, default_config_path, default_db_path
from octotui.storage.backends import POSTGRES_EXTRA, is_postgres_url, masked, open_repository
from octotui.storage.base import Repository
from octotui.storage.errors import StoreCorrupt, StoreError
from octotui.storage.tinydb_store import SCHEMA_VERSION, Store

if TYPE_CHECKING:  # the models and the workspace load on first use: a quick start paints before them
    from octotui.comms.templates import CommsTemplate
    from octotui.services.workspace import Workspace

EXIT_USAGE = 2
EXIT_MISSING = 3  # a text for people would go out with gaps: nothing written unless --allow-missing


class UsageError(Exception):
    """A problem the person can fix; printed as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one clear line, not usage + message
        raise UsageError(f"{message} (see octotui --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="octotui", description="OctoAcme's Release & Deployment Guide in your terminal.")
    parser.add_argument("--db", metavar="PATH|URL",
                        help="database file, or postgresql://… for the team database "
                             "(default: $OCTOTUI_DB, else `db =` in the settings, else the user data folder)")
    parser.add_argument("--playbook", metavar="PATH", type=Path, help="use another guide of the same shape")
    parser.add_argument("--templates", metavar="DIR", type=Path, help="folder of templates overriding the bundled ones")
    parser.add_argument("--clipboard", choices=CLIPBOARD_MODES, help="how `y` copies (default: auto)")
    parser.add_argument("--version", action="version", version=f"octotui {__version__}")
    parser.add_argument("--read-only", action="store_true",
                        help="open the database without the write lock and change nothing (no writing key works)")
    parser.add_argument("--check", action="store_true",
                        help="load the playbook, templates and styles headless, print a summary, and exit")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    export = commands.add_parser("export", help="print or write a template or the decision log")
    export.add_argument("what", nargs="?", help="a template name, `decisions`, `release-report` or `status-page`")
    export.add_argument("--list", action="store_true", help="list the templates")
    export.add_argument("--release", metavar="VERSION|REL-n")
    export.add_argument("--incident", metavar="INC-n")
    export.add_argument("--format", choices=("log", "madr"), default="log", help="for `decisions`")
    export.add_argument("-o", "--output", metavar="PATH", type=Path, help="file (or folder for madr)")
    export.add_argument("--copy", action="store_true", help="also copy to the clipboard")
    serve = commands.add_parser("serve", help="read-only octotui in the browser, and the status page at /status "
                                               "(needs the octotui[web] extra)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default: 8000)")
    serve.add_argument("--token", help="the access token (default: $OCTOTUI_SERVE_TOKEN, else a new random one)")
    serve.add_argument("--max-sessions", type=_sessions, default=8, metavar="N",
                       help="browser tabs served at once (default: 8); one more is told the server is full")
    serve.add_argument("--public-status", action="store_true", help="/status is reachable without the token")
    demo = commands.add_parser("demo", help="fill an empty database: the small demo, or about N records (--size)")
    database = commands.add_parser("db", help="the database itself: upgrade its schema, copy it elsewhere")
    db_commands = database.add_subparsers(dest="db_command", parser_class=_Parser, required=True)
    upgrade = db_commands.add_parser("upgrade", help="bring a database (file or PostgreSQL) to this octotui's schema")
    copy = db_commands.add_parser("copy", help="copy everything between a file and a PostgreSQL database (ids kept)")
    copy.add_argument("source", metavar="SOURCE", help="file path or postgresql:// URL")
    copy.add_argument("target", metavar="TARGET", help="file path or postgresql:// URL")
    copy.add_argument("--replace", action="store_true", help="overwrite a target that already holds records")
    for sub in (export, demo, upgrade, serve):  # `octotui demo --db PATH` reads as well as `octotui --db PATH demo`
        sub.add_argument("--db", metavar="PATH|URL", default=argparse.SUPPRESS, help="database (as above)")
    demo.add_argument("--size", type=_size, metavar="N",
                      help="about N records in a fixed mix (releases with histories, incidents, decisions); "
                           "the same for the same N")
    export.add_argument("--allow-missing", action="store_true",
                        help="write a text with missing values anyway (marked ⟦name⟧) instead of exiting 3")
    return parser


def _size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number") from None
    if not 0 <= value <= 2_000_000:
        raise argparse.ArgumentTypeError("must be between 0 and 2,000,000")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a port (1-65535)")
    return int(text)


def _sessions(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a number of sessions (1-1000)")
    return int(text)


def resolve_db_location(flag: str | None, configured: str | None = None) -> str:
    """`--db` wins over `$OCTOTUI_DB`, then `db =` in the settings, then the platform's user data folder.
    A `postgresql://` URL is the team database; anything else a file path."""
    chosen = flag or os.environ.get("OCTOTUI_DB") or configured or str(default_db_path())
    return chosen if is_postgres_url(chosen) else str(Path(chosen).expanduser())


def open_workspace(args: argparse.Namespace, clock: Clock | None = None, check_all: bool = True,
                   read_only: bool = False, store: Repository | None = None) -> Workspace:
    from octotui.domain.playbook import load_playbook
    from octotui.domain.settings import load_settings
    from octotui.services.workspace import Workspace

    settings = load_settings()
    if args.clipboard:
        settings.clipboard = args.clipboard
    if args.templates:
        settings.templates_dir = args.templates
    playbook = load_playbook(args.playbook)
    # Read-only commands read without the write lock: the file is only ever appended to or replaced
    # atomically, so a plain read is consistent even while another octotui holds the lock.
    if store is None:
        store = open_read_only(resolve_db_location(args.db, settings.db)) if getattr(args, "read_only", False) \
            else open_repository(resolve_db_location(args.db, settings.db), read_only=read_only)
    workspace = Workspace(store, playbook, clock=clock, settings=settings)
    if check_all:
        workspace.validate_all()
    # Otherwise the workspace parsed what the first screen shows (releases, open incidents); the app
    # parses the rest (resolved incidents, decisions) in its worker right after the first paint.
    return workspace


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.playbook is not None and not args.playbook.is_file():
            raise UsageError(f"{args.playbook}: playbook not found or not a file")
        if args.templates is not None and not args.templates.is_dir():
            raise UsageError(f"{args.templates}: templates folder not found")
        if args.command == "export":
            return run_export(args)
        if args.command == "demo":
            return run_demo(args)
        if args.command == "db":
            return run_db(args)
        if args.command == "serve":
            return run_serve(args)
        if args.check:
            return run_check(args)
        return run_app(args)
    except UsageError as error:
        print(f"octotui: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigProblem as error:
        print(f"octotui: {error}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as error:
        print(f"octotui: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def run_app(args: argparse.Namespace) -> int:
    # Start-up allocates a lot and frees almost nothing: the cyclic GC would rescan it all several times.
    # It is turned back on (with the loaded heap frozen) right after the first paint.
    gc.disable()
    from octotui.services.startup import QuickStart
    from octotui.ui.app import OctoApp, RecoveryApp  # the UI is imported only when there is a screen

    try:
        store = _open_for_quick_start(args)
        quick = QuickStart.read(store) if store is not None else None
        if quick is not None:
            app = OctoApp.quick(quick, lambda: _finish_start(args, quick.store))
            app.run()
            if not isinstance(app.start_error, StoreCorrupt):
                if app.start_error is not None:
                    raise app.start_error
                return app.return_code or 0
            raise app.start_error  # a record the board rows did not show is damaged: the recovery below
        workspace, templates = _finish_start(args, store)  # a full start over the store already read
    except StoreCorrupt as error:
        if not sys.stdin.isatty():
            raise
        recovery = RecoveryApp(error)
        if not recovery.run():
            print(f"octotui: {error}", file=sys.stderr)
            return EXIT_USAGE
        workspace, templates = _finish_start(args)
    app = OctoApp(workspace, templates)
    app.run()
    return app.return_code or 0


def _open_for_quick_start(args: argparse.Namespace) -> Repository | None:
    """The store, opened before any model is imported, when a quick start may do (see services.startup);
    None when the person's own guide, templates or settings are to be checked first (a mistake in them
    stays one line on stderr, before any screen)."""
    if args.playbook or args.templates or default_config_path().is_file():
        return None
    if args.read_only:
        return open_read_only(resolve_db_location(args.db))
    return open_repository(resolve_db_location(args.db))


READ_ONLY_REASON = "opened with --read-only: nothing can be changed here"


def open_read_only(location: str) -> Repository:
    """The store for a person who only reads: no write lock taken, nothing written (no migration, no
    compaction, no saved screen). A file of an older schema is refused with the command that upgrades it."""
    store = open_repository(location, read_only=True, create=False)
    if isinstance(store, Store) and store.schema < SCHEMA_VERSION:
        store.close()
        raise UsageError(f"{store.location}: an older octotui file (schema {store.schema}; this version reads "
                         f"{SCHEMA_VERSION}); upgrade it first with: octotui db upgrade --db '{store.location}'")
    store.read_only_reason = READ_ONLY_REASON
    return store


def _finish_start(args: argparse.Namespace, store: Repository | None = None) -> tuple[Workspace, dict[str, CommsTemplate]]:
    """Everything else a session needs: settings, the guide, the workspace over the store, the templates."""
    from octotui.comms.templates import load_templates

    workspace = open_workspace(args, check_all=False, store=store)
    return workspace, load_templates(workspace.settings.templates_dir)


def run_demo(args: argparse.Namespace) -> int:
    from octotui.services.bulk import NotEmpty, generate
    from octotui.services.demo import load_demo

    workspace = open_workspace(args)
    if args.size is None:
        if not workspace.is_empty():
            raise UsageError(f"{workspace.store.location} already holds records; the demo goes into an empty database")
        load_demo(workspace)
        print(f"wrote the demo data to {workspace.store.location}", file=sys.stderr)
        return 0
    try:
        releases, incidents, decisions = generate(workspace, args.size)
    except NotEmpty as error:
        raise UsageError(str(error)) from None
    print(f"wrote {releases:,} releases, {incidents:,} incidents and {decisions:,} decisions to "
          f"{workspace.store.location}", file=sys.stderr)
    return 0


def run_db(args: argparse.Namespace) -> int:
    if args.db_command == "upgrade":
        from octotui.domain.settings import load_settings

        location = resolve_db_location(args.db, load_settings().db)
        if not is_postgres_url(location):
            return _upgrade_file(location)
        try:
            from octotui.storage.postgres_store import upgrade_database
        except ImportError:
            raise UsageError(f"PostgreSQL needs the psycopg driver: {POSTGRES_EXTRA}") from None
        before, after = upgrade_database(location)
        name = masked(location)
        print(f"{name}: schema {before} → {after}" if before != after else f"{name}: already at schema {after}",
              file=sys.stderr)
        return 0
    return run_db_copy(args.source, args.target, replace=args.replace)


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
        print(warning, file=sys.stderr)

    def announce(url: str) -> None:
        print(f"octotui serve: open {url}  (Ctrl+C stops the server and every session)", flush=True)

    serve("exec " + shlex.join(command), host=args.host, port=args.port, token=token,
          max_sessions=args.max_sessions, public_status=args.public_status, status_html=status_html, announce=announce)
    return 0


def _upgrade_file(location: str) -> int:
    """A file is upgraded by opening it for writing (a backup of the old file is kept first)."""
    if not Path(location).is_file():
        raise UsageError(f"{location}: no database file here")
    before = open_repository(location, read_only=True, create=False)
    old = before.schema if isinstance(before, Store) else SCHEMA_VERSION
    before.close()
    store = open_repository(location)
    store.close()
    print(f"{location}: schema {old} → {SCHEMA_VERSION}" if old != SCHEMA_VERSION else
          f"{location}: already at schema {SCHEMA_VERSION}", file=sys.stderr)
    return 0


def run_db_copy(source_location: str, target_location: str, replace: bool = False) -> int:
    """Everything from one database to another, ids, events and links kept; the source is only read."""
    source_location = resolve_db_location(source_location)
    target_location = resolve_db_location(target_location)
    if not is_postgres_url(source_location) and not Path(source_location).is_file():
        raise UsageError(f"{source_location}: no database file here")
    if source_location == target_location:
        raise UsageError("source and target are the same database")
    source = open_repository(source_location, read_only=True, create=False)
    try:
        if isinstance(source, Store) and source.schema < SCHEMA_VERSION:
            raise UsageError(f"{source.location}: an older octotui file (schema {source.schema}); "
                             "open it with octotui once, then copy it")
        tables = source.export_tables()
    finally:
        source.close()
    target = open_repository(target_location)
    try:
        target.import_tables(tables, replace=replace)
        counts = {name: len(tables.get(name, {})) for name in ("releases", "incidents", "decisions", "events")}
    finally:
        target.close()
    print(f"copied {counts['releases']:,} releases, {counts['incidents']:,} incidents, {counts['decisions']:,} "
          f"decisions and {counts['events']:,} events from {source.location} to {target.location}", file=sys.stderr)
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Headless proof that an installed app finds its playbook, templates and styles."""
    from octotui.comms.templates import load_templates
    from octotui.domain.playbook import load_playbook
    from octotui.services.workspace import Workspace
    from octotui.ui.app import OctoApp

    playbook = load_playbook(args.playbook)
    templates = load_templates(args.templates)
    items = sum(len(checklist.items) for checklist in playbook.checklists.values())
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace(Store(Path(folder) / "check.json"), playbook)

        async def render_once() -> int:
            app = OctoApp(workspace, templates, offer_demo=False)
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.pause()
                return len(app.screen.query("*"))

        widgets = asyncio.run(render_once())
    print(f"playbook: {playbook.path}: {len(playbook.checklists)} checklists, {items} items")
    if playbook.inferred:
        print(f"playbook: found by heading (no annotation): {', '.join(playbook.inferred)}")
    if playbook.defaults:
        print(f"playbook: not in this guide, octotui's defaults used: {', '.join(playbook.defaults)}")
    print(f"templates: {len(templates)} ({', '.join(sorted(templates))})")
    print(f"styles: loaded, board rendered with {widgets} widgets")
    return 0


def run_export(args: argparse.Namespace) -> int:
    # Imported here: the app's start-up never pays for the exports.
    from octotui.comms.exports import decision_log, write_madr_dir
    from octotui.comms.reports import release_report
    from octotui.comms.templates import load_templates, render
    from octotui.domain.models import parse_key

    workspace = open_workspace(args, read_only=True)
    torn = workspace.store.torn_tail_note()
    if torn:
        print(f"octotui: note: {torn}", file=sys.stderr)
    templates = load_templates(workspace.settings.templates_dir)
    if args.list:
        for name, template in sorted(templates.items()):
            print(f"{name}\t{template.context}\t{template.title}")
        print("decisions\t-\tDecision log (--format log|madr)")
        print("release-report\trelease\tRelease report: stages, every check, sign-offs, incidents, notes")
        print("status-page\t-\tStatus page for stakeholders: index.html and its stylesheet (-o DIR)")
        return 0
    if not args.what:
        raise UsageError("export needs a template name, `decisions`, or --list")
    if args.what == "release-report":
        if not args.release:
            raise UsageError("release-report needs --release VERSION or REL-n")
        return _emit(release_report(_find_release(workspace, args.release), workspace), args, workspace)
    if args.what == "status-page":
        return _export_status_page(args, workspace)
    if args.what == "decisions":
        decisions = workspace.decisions_newest_first()
        if args.format == "madr":
            if args.output is None:
                raise UsageError("--format madr needs -o DIR")
            if args.output.exists() and not args.output.is_dir():
                raise UsageError(f"{args.output}: not a folder")
            try:
                result = write_madr_dir(decisions, args.output, protected=_own_files(workspace))
            except OSError as error:
                raise UsageError(f"{args.output}: cannot write ({error.strerror or error})") from None
            for clash in result.clashes:
                print(f"octotui: {clash}: exists and was not written by octotui; left as it is", file=sys.stderr)
            print(f"wrote {len(result.written)} MADR file(s) to {args.output}"
                  + (f", replaced {len(result.removed)} renamed" if result.removed else "")
                  + (f", skipped {len(result.clashes)} name clash(es)" if result.clashes else ""), file=sys.stderr)
            return 1 if result.clashes else 0
        return _emit(decision_log(decisions), args, workspace)
    found = templates.get(args.what)
    if found is None:
        raise UsageError(f"unknown template {args.what!r} (octotui export --list shows them)")
    template = found
    if template.context == "release":
        if not args.release:
            raise UsageError(f"{args.what} needs --release VERSION or REL-n")
        owner = _find_release(workspace, args.release)
    else:
        if not args.incident:
            raise UsageError(f"{args.what} needs --incident INC-n")
        number = parse_key(args.incident, "INC")
        owner = workspace.incident(number) if number else None
        if owner is None:
            raise UsageError(f"unknown incident {args.incident!r}")
    filled = render(template, owner, workspace)
    if filled.missing and not args.allow_missing:
        print(f"octotui: {args.what} for {owner.key} is missing: {', '.join(filled.missing)} "
              "(fill them in the app, or pass --allow-missing to write it with the gaps marked)", file=sys.stderr)
        return EXIT_MISSING
    if filled.missing:
        print(f"octotui: note: written with missing values: {', '.join(filled.missing)}", file=sys.stderr)
    return _emit(filled.text, args, workspace)


def _export_status_page(args: argparse.Namespace, workspace: Workspace) -> int:
    from octotui.comms import status_page
    from octotui.comms.exports import write_private
    from octotui.storage.fs import make_private_dir

    if args.output is None:
        raise UsageError("status-page needs -o DIR (index.html and its stylesheet are written there)")
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"{args.output}: not a folder")
    clashes = status_page.not_ours(args.output)
    if clashes:
        raise UsageError(f"{clashes[0]}: exists and was not written by octotui; left as it is (choose another folder)")
    try:
        make_private_dir(args.output)
        written = status_page.write(workspace, args.output,
                                    lambda path, text: write_private(path, text, protected=_own_files(workspace)))
    except OSError as error:
        raise UsageError(f"{args.output}: cannot write ({error.strerror or error})") from None
    print(f"wrote {', '.join(str(path) for path in written)}", file=sys.stderr)
    return 0


def _find_release(workspace: Workspace, text: str):
    from octotui.domain.models import parse_key

    number = parse_key(text, "REL") if text.upper().startswith("REL-") else None
    for row in workspace.board_rows():
        if row.id == number or row.version == text.strip():
            return workspace.release(row.id)
    raise UsageError(f"unknown release {text!r}")


def _emit(text: str, args: argparse.Namespace, workspace: Workspace) -> int:
    from octotui.comms.clipboard import copy_text
    from octotui.comms.exports import write_private

    if args.output is not None:
        if args.output.is_dir():
            raise UsageError(f"{args.output}: is a folder; give a file path")
        try:
            write_private(args.output, text, protected=_own_files(workspace))
        except OSError as error:
            raise UsageError(f"{args.output}: cannot write ({error.strerror or error})") from None
    elif not args.copy:
        sys.stdout.write(text)
    if args.copy:
        fallback = workspace.store.path.with_name("octotui-clipboard.md")
        try:
            outcome = copy_text(text, workspace.settings.clipboard, fallback, send_osc52=_osc52_to_tty)
        except OSError as error:
            raise UsageError(f"{fallback}: cannot write the clipboard file ({error.strerror or error})") from None
        print(outcome.message(), file=sys.stderr)
    return 0


def _own_files(workspace: Workspace) -> list[Path]:
    """What an export must never overwrite: the database (which is also its own lock)."""
    return [workspace.store.path]


def _osc52_to_tty(text: str) -> bool:
    """Headless OSC 52: straight to the controlling terminal, if there is one."""
    try:
        with open("/dev/tty", "w") as tty:
            tty.write(f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\a")
    except OSError:
        return False
    return True
