"""`octotui send` and `octotui outbox`: posting headless, for pipelines and scripts (see services.outbox).

Exit codes: 0 every destination accepted; 2 a usage or configuration problem; 3 values missing (nothing sent
or written); 4 a destination failed (the message stays in the outbox and is retried)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeVar

from octotui.cli_common import say, write_stdout
from octotui.domain.text import one_line, visible

if TYPE_CHECKING:
    from octotui.services.outbox import Attempt, Outbox

EXIT_MISSING = 3
EXIT_NOT_DELIVERED = 4

_ParserT = TypeVar("_ParserT", bound=argparse.ArgumentParser)


def add_commands(commands: argparse._SubParsersAction[_ParserT]) -> None:
    send = commands.add_parser("send", help="post a template to its channels (or --to CHANNEL) through the outbox")
    send.add_argument("template", metavar="TEMPLATE", help="a template name (octotui export --list)")
    send.add_argument("--incident", metavar="INC-n")
    send.add_argument("--release", metavar="VERSION|REL-n")
    send.add_argument("--to", metavar="CHANNEL", action="append", help="a channel of the settings (repeatable); "
                                                                       "default: the template's route")
    send.add_argument("--allow-missing", action="store_true", help="post a text with missing values (marked ⟦name⟧)")
    send.add_argument("--dry-run", action="store_true", help="print the text and the destinations; post nothing")
    outbox = commands.add_parser("outbox", help="list the outbox; `outbox retry` tries failed destinations now")
    outbox.add_argument("action", nargs="?", choices=("list", "retry"), default="list")
    outbox.add_argument("message", nargs="?", type=int, metavar="ID", help="only this message (retry)")
    for sub in (send, outbox):
        sub.add_argument("--db", metavar="PATH|URL", default=argparse.SUPPRESS, help="database (as for octotui)")


def _outbox(args: argparse.Namespace, read_only: bool = False) -> Outbox:
    from octotui.cli_common import UsageError, open_workspace
    from octotui.services.outbox import Outbox

    workspace = open_workspace(args, check_all=False, read_only=read_only)
    if not workspace.settings.posting.channels and not read_only:
        raise UsageError("no channels are configured: add [channels] to the settings (see the README), "
                         "or copy the text with octotui export")
    return Outbox(workspace)


def _report(outbox: Outbox, attempts: list[Attempt]) -> int:
    people_time = outbox.workspace.people_time
    failed = 0
    messages = {message.id: message for message in outbox.messages()}
    for attempt in attempts:
        where = outbox.channels.shown(attempt.channel)
        title = messages[attempt.message_id].title if attempt.message_id in messages else "message"
        if attempt.accepted:
            write_stdout(one_line(f"posted #{attempt.message_id} {title} to {where} at {people_time(attempt.at)}") + "\n")
            continue
        failed += 1
        message = messages.get(attempt.message_id)
        destination = message.destinations.get(attempt.channel) if message else None
        retry = f"next try {outbox.next_try(destination)}" if destination and destination.next_at else "no more retries"
        say(f"not posted to {where}: {attempt.reason} — it stays in the outbox ({retry}; or run octotui outbox retry)")
    return EXIT_NOT_DELIVERED if failed else 0


def run_send(args: argparse.Namespace) -> int:
    from octotui.cli_common import UsageError, find_owner
    from octotui.comms.templates import load_templates
    from octotui.services.outbox import PostRefused

    outbox = _outbox(args)
    workspace = outbox.workspace
    template = load_templates(workspace.settings.templates_dir).get(args.template)
    if template is None:
        raise UsageError(f"unknown template {args.template!r} (octotui export --list shows them)")
    owner = find_owner(workspace, template, args.release, args.incident)
    try:
        channels = outbox.destinations_for(template.name, args.to)
    except PostRefused as error:
        raise UsageError(str(error)) from None
    filled, names_due = outbox.preview(template, owner)
    if filled.missing and not args.allow_missing:
        say(f"{args.template} for {owner.key} is missing: {', '.join(filled.missing)} (fill them in the "
            "app, or pass --allow-missing to post it with the gaps marked); nothing was sent")
        return EXIT_MISSING
    if args.dry_run:
        for name in channels:
            write_stdout(one_line(f"to: {outbox.channels.shown(name)}") + "\n")
        write_stdout("\n" + visible(filled.text))
        return 0
    message = outbox.post(template, owner, filled.text, channels, missing=tuple(filled.missing), names_due=names_due)
    attempts = outbox.deliver_due(only=message.id)
    code = _report(outbox, attempts)
    for name in set(channels) - {attempt.channel for attempt in attempts}:  # its claim was taken: not known yet
        say(f"not known yet whether {outbox.channels.shown(name)} got #{message.id}: another "
            "octotui is delivering it (octotui outbox shows the outcome)")
        code = EXIT_NOT_DELIVERED
    return code


def run_outbox(args: argparse.Namespace) -> int:
    outbox = _outbox(args, read_only=args.action == "list")
    if args.action == "retry":
        outbox.retry_now(args.message)
        return _report(outbox, outbox.deliver_due(args.message))
    messages = outbox.messages()
    if not messages:
        write_stdout("the outbox is empty\n")
    for message in messages:
        write_stdout(one_line(f"#{message.id} {message.owner} {message.title} — posted by {message.author} "
                              f"{outbox.workspace.people_time(message.created_at)}") + "\n")
        for line in outbox.describe(message):
            write_stdout(f"  {one_line(line)}\n")
    return 0
