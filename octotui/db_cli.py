"""`octotui db …`: the database itself (upgrade, copy, check, repair, its people in team mode)."""

from __future__ import annotations

import argparse
from pathlib import Path

from octotui.cli_common import UsageError, note, resolve_db_location, write_stdout
from octotui.domain.text import one_line, visible
from octotui.storage.backends import (
    file_schema,
    is_postgres_url,
    masked,
    open_for_copy,
    open_repository,
    upgrade_database,
)


def run_db(args: argparse.Namespace) -> int:
    if args.db_command in ("check", "repair"):
        return run_db_file(args)
    if args.db_command == "upgrade":
        from octotui.domain.settings import load_settings

        location = resolve_db_location(args.db, load_settings().db)
        if not is_postgres_url(location):
            return _upgrade_file(location)
        before, after = upgrade_database(location)
        name = masked(location)
        note(f"{name}: schema {before} → {after}" if before != after else f"{name}: already at schema {after}")
        return 0
    if args.db_command == "people":
        return run_db_people(args)
    return run_db_copy(args.source, args.target, replace=args.replace)


def _upgrade_file(location: str) -> int:
    """A file is upgraded by opening it for writing (a backup of the old file is kept first)."""
    if not Path(location).is_file():
        raise UsageError(f"{location}: no database file here")
    before = open_repository(location, read_only=True, create=False)
    old, current = file_schema(before) or (0, 0)
    before.close()
    store = open_repository(location)
    store.close()
    note(f"{location}: schema {old} → {current}" if old != current else f"{location}: already at schema {current}")
    return 0


def run_db_file(args: argparse.Namespace) -> int:
    """`db check` and `db repair --to NEW` (storage.repair): the database file is only read."""
    from octotui.domain.settings import load_settings
    from octotui.storage import repair

    location = resolve_db_location(args.db, load_settings().db)
    if is_postgres_url(location):
        raise UsageError(f"db {args.db_command} is for a database file (PostgreSQL checks its own data)")
    if args.db_command == "check":
        report = repair.examine(location)
        write_stdout("".join(one_line(line) + "\n" for line in report.lines()))
        return 0 if report.clean else 1
    done = repair.repair(location, args.to)
    for line in done.report.lines()[:-1]:
        note(line)
    note(f"wrote {done.target}: {done.documents:,} documents; {done.report.path} was left as it is")
    return 0


def run_db_people(args: argparse.Namespace) -> int:
    from octotui.domain.inputs import InputError
    from octotui.domain.settings import load_settings
    from octotui.services import team

    location = resolve_db_location(args.db, load_settings().db)
    if not is_postgres_url(location):
        raise UsageError("db people is for a PostgreSQL database (--db postgresql://…): a file has no logins")
    if args.action is None and (args.role or args.signer is not None):
        raise UsageError("to change a role: octotui db people set ROLE [NAME] [--signer|--no-signer]")
    if args.action == "set" and (not args.role or (args.name is None and args.signer is None)):
        raise UsageError("octotui db people set ROLE NAME [--signer|--no-signer] (a name, --signer or both)")
    store = open_repository(location)
    try:
        if args.action == "set":
            try:
                team.set_person(store, args.role, args.name, args.signer)
            except InputError as error:
                raise UsageError(str(error)) from None
        for line in team.listing(store):
            write_stdout(visible(line) + "\n")
    finally:
        store.close()
    return 0


def run_db_copy(source_location: str, target_location: str, replace: bool = False) -> int:
    """Everything from one database to another, ids, events and links kept; the source is only read."""
    source_location = resolve_db_location(source_location, what="SOURCE")
    target_location = resolve_db_location(target_location, what="TARGET")
    if not is_postgres_url(source_location) and not Path(source_location).is_file():
        raise UsageError(f"{source_location}: no database file here")
    if source_location == target_location:
        raise UsageError("source and target are the same database")
    from octotui.storage.portable import portable_tables

    # A file is only read: an older octotui's is copied as this version reads it, another app's TinyDB file for
    # the octotui tables it may hold.
    source = open_for_copy(source_location)
    try:
        damage = getattr(source, "damage_note", lambda: None)()
        if damage:  # a copy would silently lack the records behind the damage
            raise UsageError(f"{damage}; nothing was copied")
        tables, changed = portable_tables(source.export_tables())
    finally:
        source.close()
    from octotui.services.records import first_invalid_record

    if (invalid := first_invalid_record(tables)) is not None:  # `export data` output, say: readable, not a database
        raise UsageError(f"{source.location}: {invalid}; not an octotui database this version can read, nothing was "
                         "copied")
    target = open_repository(target_location)
    try:
        target.import_tables(tables, replace=replace)
        counts = {name: len(tables.get(name, {})) for name in ("releases", "incidents", "decisions", "events")}
    finally:
        target.close()
    note(f"copied {counts['releases']:,} releases, {counts['incidents']:,} incidents, {counts['decisions']:,} "
          f"decisions and {counts['events']:,} events from {source.location} to {target.location}"
          + (f"; {changed:,} text(s) held a NUL or an unpaired surrogate, which no backend stores now: "
             "copied with ␀ / � in their place" if changed else ""))
    return 0
