"""What the command line and its subcommand modules share: the one usage error, where the database is,
opening a workspace for a command, and finding a release by version or key."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TYPE_CHECKING

from octotui.domain.clock import Clock
from octotui.domain.config import default_db_path
from octotui.domain.text import one_line
from octotui.logs import log
from octotui.storage.backends import (
    check_file_location,
    check_postgres_url,
    file_schema,
    is_postgres_url,
    open_repository,
)
from octotui.storage.base import Repository

if TYPE_CHECKING:
    from octotui.comms.templates import CommsTemplate
    from octotui.domain.models import Incident, Release
    from octotui.services.workspace import Workspace

EXIT_USAGE = 2
EXIT_MISSING = 3  # a text for people would go out with gaps: nothing written unless --allow-missing


class UsageError(Exception):
    """A problem the person can fix; printed as one line."""



EXIT_OUTPUT = 1  # stdout closed or full: nothing more can be said there


class OutputClosed(Exception):
    """Standard output could not take the text (a closed pipe, a full disk): the export did not happen."""


def say(message: str) -> None:
    """One line on stderr, through the display boundary: paths, keys and URLs in it may hold anything."""
    with contextlib.suppress(OSError, ValueError):  # stderr closed too: there is no one left to tell
        print(f"octotui: {one_line(message)}", file=sys.stderr, flush=True)


def note(message: str) -> None:
    """A line for the person that is not an error (`wrote …`, `copied …`), through the same boundary."""
    with contextlib.suppress(OSError, ValueError):
        print(one_line(message), file=sys.stderr, flush=True)


def write_stdout(text: str) -> None:
    """All of the text to stdout, flushed here, so a closed pipe or a full disk is one line, not a traceback."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except (OSError, ValueError) as error:  # BrokenPipeError, ENOSPC, or stdout already closed
        raise OutputClosed(getattr(error, "strerror", None) or str(error) or type(error).__name__) from None


def resolve_db_location(flag: str | None, configured: str | None = None, what: str = "--db") -> str:
    """`--db` wins over `$OCTOTUI_DB`, then `db =` in the settings, then the platform's user data folder.
    A `postgresql://` URL is the team database; anything else a file path. An empty flag is a mistake, not
    a request for the default."""
    if flag is not None and not flag.strip():
        raise UsageError(f"{what} is empty: give a file path or a postgresql:// URL"
                         + (" (or leave --db out for the default)" if what == "--db" else ""))
    chosen = flag or os.environ.get("OCTOTUI_DB") or configured or str(default_db_path())
    return check_postgres_url(chosen) if is_postgres_url(chosen) else check_file_location(chosen)


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
    log.info("guide %s; %s database %s%s", playbook.path, "PostgreSQL" if is_postgres_url(store.location) else "file",
             store.location, " (read-only)" if store.read_only else "")
    if check_all:
        workspace.validate_all()
    # Otherwise the workspace parsed what the first screen shows (releases, open incidents); the app
    # parses the rest (resolved incidents, decisions) in its worker right after the first paint.
    return workspace


READ_ONLY_REASON = "opened with --read-only: nothing can be changed here"


def open_read_only(location: str) -> Repository:
    """The store for a person who only reads: no write lock taken, nothing written (no migration, no
    compaction, no saved screen). A file of an older schema is refused with the command that upgrades it."""
    store = open_repository(location, read_only=True, create=False)
    versions = file_schema(store)
    if versions is not None and versions[0] < versions[1]:
        store.close()
        raise UsageError(f"{store.location}: an older octotui file (schema {versions[0]}; this version reads "
                         f"{versions[1]}); upgrade it first with: octotui db upgrade --db '{store.location}'")
    store.read_only_reason = READ_ONLY_REASON
    return store


def find_release(workspace: Workspace, text: str) -> Release:
    from octotui.domain.models import parse_key

    number = parse_key(text, "REL") if text.upper().startswith("REL-") else None
    for row in workspace.board_rows():
        release = workspace.release(row.id) if row.id == number or row.version == text.strip() else None
        if release is not None:
            return release
    raise UsageError(f"unknown release {text!r}")


def find_owner(workspace: Workspace, template: CommsTemplate, release: str | None, incident: str | None) -> Release | Incident:
    """The record a template is filled for: `--release VERSION|REL-n` or `--incident INC-n`, as it asks."""
    from octotui.domain.models import parse_key

    if template.context == "release":
        if not release:
            raise UsageError(f"{template.name} needs --release VERSION or REL-n")
        return find_release(workspace, release)
    if not incident:
        raise UsageError(f"{template.name} needs --incident INC-n")
    number = parse_key(incident, "INC")
    found = workspace.incident(number) if number else None
    if found is None:
        raise UsageError(f"unknown incident {incident!r}")
    return found
