"""Command line: `octotui` runs the app; `octotui export ...` prints or writes without a screen.

Every failure a person can cause (a bad flag, an unreadable path, a malformed playbook) is one line
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from octotui import __version__
from octotui.cli_common import (
    EXIT_MISSING,
    EXIT_OUTPUT,
    EXIT_USAGE,
    OutputClosed,
    UsageError,
    find_owner,
    note,
    open_read_only,
    open_workspace,
    resolve_db_location,
    say,
    write_stdout,
)
from octotui.cli_common import find_release as _find_release
from octotui.domain.config import CLIPBOARD_MODES, ConfigProblem, default_config_path, settings_in_environment
from octotui.domain.quoting import quoted
from octotui.domain.text import one_line, visible
from octotui.logs import LEVELS, chosen_level, chosen_log_path, configure, log
from octotui.storage.backends import (
    open_repository,
    password_warning,
)
from octotui.storage.base import Repository
from octotui.storage.errors import StoreCorrupt, StoreError

if TYPE_CHECKING:  # the models and the workspace load on first use: a quick start paints before them
    from octotui.comms.templates import CommsTemplate
    from octotui.services.workspace import Workspace
    from octotui.ui.handle import Octo

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
    parser.add_argument("--log-file", metavar="PATH", type=Path,
                        help="where the log goes (default: $OCTOTUI_LOG_FILE, else the user log folder)")
    parser.add_argument("--log-level", metavar="LEVEL", type=str.upper, choices=LEVELS,
                        help="DEBUG, INFO (default, or $OCTOTUI_LOG_LEVEL), WARNING or ERROR")
    parser.add_argument("--read-only", action="store_true",
                        help="open the database without the write lock and change nothing (no writing key works)")
    parser.add_argument("--check", action="store_true",
                        help="load the playbook, templates and styles headless, print a summary, and exit")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    export = commands.add_parser("export", help="print or write a template or the decision log")
    export.add_argument("what", nargs="?", help="a template name, `decisions`, `release-report`, `status-page`, `metrics` or `data`")
    export.add_argument("--list", action="store_true", help="list the templates")
    export.add_argument("--release", metavar="VERSION|REL-n")
    export.add_argument("--incident", metavar="INC-n")
    export.add_argument("--format", choices=("log", "madr", "md", "csv", "json"),
                        help="`decisions`: log (default) or madr; `metrics`: md (default), csv or json")
    export.add_argument("--since", metavar="DATE", help="`metrics`: start of the period (default: 90 days before --until)")
    export.add_argument("--until", metavar="DATE", help="`metrics`: end of the period, excluded (default: now)")
    export.add_argument("-o", "--output", metavar="PATH", type=Path,
                        help="file (or folder for madr and status-page); `-` is standard output")
    export.add_argument("--force", action="store_true",
                        help="replace an existing regular file at -o (links, devices and folders are always refused)")
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
    database = commands.add_parser("db", help="the database itself: upgrade its schema, copy it elsewhere, its people")
    db_commands = database.add_subparsers(dest="db_command", parser_class=_Parser, required=True)
    upgrade = db_commands.add_parser("upgrade", help="bring a database (file or PostgreSQL) to this octotui's schema")
    copy = db_commands.add_parser("copy", help="copy everything between a file and a PostgreSQL database (ids kept)")
    copy.add_argument("source", metavar="SOURCE", help="file path or postgresql:// URL")
    copy.add_argument("target", metavar="TARGET", help="file path or postgresql:// URL")
    copy.add_argument("--replace", action="store_true", help="overwrite a target that already holds records")
    check = db_commands.add_parser("check", help="say what a database file holds: damage by offset, a torn tail, CRLF "
                                                 "(exit 0 clean, 1 damaged)")
    repair = db_commands.add_parser("repair", help="write a copy of a damaged database file with every record that "
                                                   "still verifies (the file itself is left alone)")
    repair.add_argument("--to", metavar="NEW", required=True, type=Path, help="the new file (must not exist)")
    people = db_commands.add_parser("people", help="team mode: list the roles' display names and signers, or `set` one")
    people.add_argument("action", nargs="?", choices=("set",), help="set: name ROLE and/or mark it a signer")
    people.add_argument("role", nargs="?", metavar="ROLE", help="a database login role")
    people.add_argument("name", nargs="?", metavar="NAME", help="the display name people see")
    people.add_argument("--signer", action=argparse.BooleanOptionalAction, default=None,
                        help="may sign off releases (every machine enforces the database's list)")
    for sub in (export, demo, upgrade, check, repair, people, serve):  # `octotui demo --db PATH` reads as well as `octotui --db PATH demo`
        sub.add_argument("--db", metavar="PATH|URL", default=argparse.SUPPRESS, help="database (as above)")
    demo.add_argument("--size", type=_size, metavar="N",
                      help="about N records in a fixed mix (releases with histories, incidents, decisions); "
                           "the same for the same N")
    from octotui.outbox_cli import add_commands

    add_commands(commands)  # send, outbox
    export.add_argument("--allow-missing", action="store_true",
                        help="write a text with missing values anyway (marked ⟦name⟧) instead of exiting 3")
    return parser


def _size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a whole number") from None
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


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _start_logging(args)
        if args.playbook is not None and not args.playbook.is_file():
            raise UsageError(f"{args.playbook}: playbook not found or not a file")
        if args.templates is not None and not args.templates.is_dir():
            raise UsageError(f"{args.templates}: templates folder not found")
        # Said once, however many URLs carry one, once the database opened (an error stays one line).
        given = (getattr(args, "db", None), getattr(args, "source", None), getattr(args, "target", None))
        args.password_warning = next(filter(None, map(password_warning, given)), None)
        code = _dispatch(args)
        _warn_password(args)
        return code
    except (UsageError, ConfigProblem, StoreError) as error:
        say(str(error))
        return EXIT_USAGE
    except OutputClosed as error:
        _silence_stdout()
        say(f"standard output closed or full ({error}); nothing more was written")
        return EXIT_OUTPUT
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - the one line for what nobody foresaw; its traceback goes to the log
        return _unexpected(error)


def _unexpected(error: Exception) -> int:
    """A refusal raised by a service (a form would show it by its field) is one line, exit 2; anything else is
    one line naming the log file, exit 1. Never a traceback."""
    inputs = sys.modules.get("octotui.domain.inputs")  # loaded when a service ran: not imported just to compare
    if inputs is not None and isinstance(error, inputs.InputError):
        say("; ".join(error.errors.values()))
        return EXIT_USAGE
    from octotui.logs import unexpected_line

    say(unexpected_line(error))
    return 1


def _start_logging(args: argparse.Namespace) -> None:
    """A log file asked for by name must open (one line, exit 2 otherwise); the default one is best effort."""
    level = chosen_level(args.log_level)
    if level is None:
        raise UsageError(f"OCTOTUI_LOG_LEVEL: must be one of {', '.join(LEVELS)}")
    asked = args.log_file or os.environ.get("OCTOTUI_LOG_FILE")
    path = chosen_log_path(args.log_file)
    try:
        configure(path, level)
    except OSError as error:
        if asked:
            raise UsageError(f"{path}: cannot write the log file ({error.strerror or error})") from None
        return
    log.info("octotui %s: %s", __version__, args.command or ("check" if args.check else "app"))


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "export":
        return run_export(args)
    if args.command == "demo":
        return run_demo(args)
    if args.command == "db":
        from octotui.db_cli import run_db

        return run_db(args)
    if args.command == "serve":
        from octotui.serve_cli import run_serve

        return run_serve(args)
    if args.command in ("send", "outbox"):
        from octotui.outbox_cli import run_outbox, run_send

        return run_send(args) if args.command == "send" else run_outbox(args)
    if args.check:
        return run_check(args)
    return run_app(args)


def _warn_password(args: argparse.Namespace) -> None:
    """The password-in-the-URL line, once (before the app's first screen, or after a command)."""
    warning, args.password_warning = getattr(args, "password_warning", None), None
    if warning:
        note(warning)


def run_app(args: argparse.Namespace) -> int:
    from octotui.services import heap

    heap.pause_for_start_up()  # turned back on, with the loaded heap frozen, once start-up is painted
    from octotui.services.startup import QuickStart
    from octotui.ui.app import OctoApp  # the UI is imported only when there is a screen
    from octotui.ui.recovery import RecoveryApp

    try:
        store = _open_for_quick_start(args)
        quick = QuickStart.read(store) if store is not None else None
        if quick is not None:
            app = OctoApp.quick(quick, lambda: _finish_start(args, quick.store))
            _warn_password(args)
            _run(app)
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
            say(str(error))
            return EXIT_USAGE
        workspace, templates = _finish_start(args)
    app = OctoApp(workspace, templates)
    _warn_password(args)
    _run(app)
    return app.return_code or 0


def _run(app: Octo) -> None:
    app.run()
    if app.fatal_line is not None:  # a bug ended it: one line, its traceback in the log
        say(app.fatal_line)


def _open_for_quick_start(args: argparse.Namespace) -> Repository | None:
    """The store, opened before any model is imported, when a quick start may do (see services.startup);
    None when the person's own guide, templates or settings are to be checked first (a mistake in them
    stays one line on stderr, before any screen)."""
    if args.playbook or args.templates or os.path.lexists(default_config_path()) \
            or settings_in_environment():  # settings and channels are checked first
        return None
    if args.read_only:
        return open_read_only(resolve_db_location(args.db))
    return open_repository(resolve_db_location(args.db))


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
        note(f"wrote the demo data to {workspace.store.location}")
        return 0
    try:
        releases, incidents, decisions = generate(workspace, args.size)
    except NotEmpty as error:
        raise UsageError(str(error)) from None
    note(f"wrote {releases:,} releases, {incidents:,} incidents and {decisions:,} decisions to "
          f"{workspace.store.location}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Headless proof that an installed app finds its playbook, templates and styles."""
    from octotui.comms.templates import load_templates
    from octotui.domain.playbook import SCOPES, load_playbook
    from octotui.domain.text import plain
    from octotui.services.workspace import Workspace
    from octotui.ui.app import OctoApp

    playbook = load_playbook(args.playbook)
    templates = load_templates(args.templates)
    items = sum(len(checklist.items) for checklist in playbook.checklists.values())
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace(open_repository(str(Path(folder) / "check.json")), playbook)

        async def render_once() -> int:
            app = OctoApp(workspace, templates, offer_demo=False)
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.pause()
                return len(app.screen.query("*"))

        widgets = asyncio.run(render_once())
    lines = [f"playbook: {playbook.path}: {len(playbook.checklists)} checklists, {items} items"]
    if playbook.inferred:
        lines.append(f"playbook: found by heading (no annotation): {', '.join(playbook.inferred)}")
    if playbook.defaults:
        lines.append(f"playbook: not in this guide, octotui's defaults used: {', '.join(playbook.defaults)}")
    for role in playbook.missing:  # only the gate is required: a flow that needs one of these says so
        lines.append(f"playbook: missing {role.value}: {role.missing_text()}")
    for scope in SCOPES:
        for extra in playbook.extras(scope):
            count = len(extra.items)
            lines.append(f"playbook: {plain(extra.name)!r} ({count} item{'' if count == 1 else 's'}) runs for each {scope}")
    for spec in playbook.checklists.values():
        for name, reference in spec.reference:
            lines.append(f"playbook: {plain(name)!r} ({len(reference)} lines, no checkboxes) kept as reference text for "
                         f"{plain(spec.name)!r}")
    lines.append(f"templates: {len(templates)} ({', '.join(sorted(templates))})")
    lines.append(f"styles: loaded, board rendered with {widgets} widgets")
    write_stdout("".join(one_line(line) + "\n" for line in lines))
    return 0


def run_export(args: argparse.Namespace) -> int:
    # Imported here: the app's start-up never pays for the exports.
    from octotui.comms.exports import decision_log, write_madr_dir
    from octotui.comms.reports import release_report
    from octotui.comms.templates import load_templates, render

    if args.list:  # what can be exported is the templates' business, not the database's: none is opened
        from octotui.domain.settings import load_settings

        lines = [f"{one_line(name)}\t{template.context}\t{one_line(template.title)}" for name, template
                 in sorted(load_templates(args.templates or load_settings().templates_dir).items())]
        lines.append("decisions\t-\tDecision log (--format log|madr)")
        lines.append("release-report\trelease\tRelease report: stages, every check, sign-offs, incidents, notes")
        lines.append("status-page\t-\tStatus page for stakeholders: index.html and its stylesheet (-o DIR)")
        lines.append("metrics\t-\tDeploys, lead time, change failure rate, recovery, MTTA/MTTR "
                     "(--since --until --format md|csv|json)")
        lines.append("data\t-\tThe whole database as plain JSON that TinyDB opens")
        write_stdout("\n".join(lines) + "\n")
        return 0
    workspace = open_workspace(args, read_only=True)
    damage = getattr(workspace.store, "damage_note", lambda: None)()
    if damage:  # what is shown would lack acknowledged records: said, not exported
        raise UsageError(f"{damage}; nothing was exported")
    torn = workspace.store.torn_tail_note()
    if torn:
        say(f"note: {torn}")
    templates = load_templates(workspace.settings.templates_dir)
    if not args.what:
        raise UsageError("export needs a template name, `decisions`, or --list")
    if args.what == "release-report":
        if not args.release:
            raise UsageError("release-report needs --release VERSION or REL-n")
        return _emit(release_report(_find_release(workspace, args.release), workspace), args, workspace)
    if args.what == "status-page":
        return _export_status_page(args, workspace)
    if args.what in ("metrics", "data"):
        return _emit(_report_export(args, workspace), args, workspace)
    if args.format not in (None, "log", "madr"):
        raise UsageError(f"--format {args.format} is for `metrics`")
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
                say(f"{clash}: exists and was not written by octotui; left as it is")
            for theirs, ours in result.shared_numbers:
                say(f"note: {theirs.name} (not written by octotui, left as it is) has the same number as {ours.name}")
            note(f"wrote {len(result.written)} MADR file(s) to {args.output}"
                  + (f", replaced {len(result.removed)} renamed" if result.removed else "")
                  + (f", skipped {len(result.clashes)} name clash(es)" if result.clashes else ""))
            return 1 if result.clashes else 0
        return _emit(decision_log(decisions), args, workspace)
    found = templates.get(args.what)
    if found is None:
        raise UsageError(f"unknown template {args.what!r} (octotui export --list shows them)")
    template = found
    owner = find_owner(workspace, template, args.release, args.incident)
    filled = render(template, owner, workspace)
    if filled.problems and not args.allow_missing:  # the text would say something untrue now
        print(f"octotui: {args.what} for {owner.key} is not true now: {'; '.join(filled.problems)} "
              "(pass --allow-missing to write it as it is)", file=sys.stderr)
        return EXIT_MISSING
    if filled.missing and not args.allow_missing:
        say(f"{args.what} for {owner.key} is missing: {', '.join(filled.missing)} "
            "(fill them in the app, or pass --allow-missing to write it with the gaps marked)")
        return EXIT_MISSING
    code = _emit(filled.text, args, workspace)
    notes = [*filled.problems] + ([f"missing values: {', '.join(filled.missing)}"] if filled.missing else [])
    if notes:  # said after the fact: only a text that went out was written with gaps
        say(f"note: written with {'; '.join(notes)}")
    return code


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
    note(f"wrote {', '.join(str(path) for path in written)}")
    return 0
def _report_export(args: argparse.Namespace, workspace: Workspace) -> str:
    if args.what == "data":
        from octotui.services.data_export import export_data_text

        return export_data_text(workspace)
    from octotui.comms.metrics_export import PeriodError, parse_period, render_metrics
    from octotui.services.reports import build_report

    if args.format not in (None, "md", "csv", "json"):
        raise UsageError(f"--format {args.format} is for `decisions`; metrics are md, csv or json")
    try:
        period = parse_period(args.since, args.until, workspace.now())
    except PeriodError as error:
        raise UsageError(str(error)) from None
    report = build_report(workspace.store.snapshot, workspace.settings, period, previous=False)
    return render_metrics(report.metrics, args.format or "md")


def _emit(text: str, args: argparse.Namespace, workspace: Workspace) -> int:
    from octotui.comms.clipboard import copy_text
    from octotui.comms.exports import write_export
    from octotui.storage.fs import RefusedPath

    text = visible(text)  # the one display boundary, for stdout, the file and the clipboard alike
    to_stdout = args.output is not None and str(args.output) == "-"
    if args.output is not None and not to_stdout:
        try:  # a link, device, FIFO or folder is refused; someone's existing file too, unless --force
            write_export(args.output, text, protected=_own_files(workspace), force=args.force)
        except RefusedPath as error:
            raise UsageError(str(error)) from None
        except OSError as error:
            raise UsageError(f"{args.output}: cannot write ({error.strerror or error})") from None
    elif to_stdout or not args.copy:
        write_stdout(text)
    if args.copy:
        fallback = workspace.store.path.with_name("octotui-clipboard.md")
        outcome = copy_text(text, workspace.settings.clipboard, fallback, send_osc52=_osc52_to_tty)
        if not outcome.reached:  # never exit 0 for a copy that reached nothing
            raise UsageError(outcome.message())
        note(outcome.message())
    return 0


def _silence_stdout() -> None:
    """After a failed write, Python would flush stdout again at exit and print a traceback-like warning:
    point it at /dev/null so the exit is quiet."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


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
