"""The outbox: a text posted to channels is written to the database first (the intent), then delivered by a
worker off the event loop, which records each destination's outcome afterwards. Nothing is called posted
before a destination accepted it; nothing is lost when a destination fails, the process is killed, or the
database is shared (one process claims a message at a time, for a lease).

A kill in the instant after a server accepted and before the outcome was recorded sends that destination
once more after restart (the claim's lease runs out, or its process is gone) — never more than once.

Only channel names are stored; their URLs (and credentials) stay in the person's settings or environment.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from octotui.domain.channels import ChannelSettings, mask, next_attempt, scrub
from octotui.domain.clock import ensure_utc, format_countdown
from octotui.domain.refs import RecordRef
from octotui.domain.text import one_line
from octotui.storage.base import OUTBOX, Doc
from octotui.storage.errors import NotFound

if TYPE_CHECKING:
    from octotui.comms.templates import CommsTemplate, Filled
    from octotui.domain.models import Incident, Release
    from octotui.services.workspace import Workspace

# urls, title, body, timeout (s) -> (accepted, reason when not)
Sender = Callable[[list[str], str, str, float], tuple[bool, str]]
LEASE_MARGIN = timedelta(seconds=60)
PENDING, FAILED, DELIVERED, GAVE_UP = "pending", "failed", "delivered", "gave up"
WAITING = (PENDING, FAILED)


class PostRefused(ValueError):
    """A post that cannot go out as asked (no channel, an unknown one): nothing was written."""


def apprise_send(urls: list[str], title: str, body: str, timeout: float) -> tuple[bool, str]:
    """Deliver one text to one channel's URLs with apprise, as plain text. (accepted, why not): the reason
    comes from apprise's log, scrubbed of every secret piece of the URLs."""
    import apprise  # only when something is sent: first paint never pays for it

    # apprise's own log lines can carry a URL's pieces: they are read from the result (scrubbed), never
    # passed on to whatever logging octotui sets up.
    logging.getLogger("apprise").propagate = False
    notifier = apprise.Apprise()
    for url in urls:
        if not notifier.add(url):
            return False, f"apprise cannot use {mask(url)}"
    try:
        result = notifier.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT, timeout=timeout)
    except Exception as error:  # noqa: BLE001 - a plugin's own failure is this destination's reason
        return False, scrub(one_line(f"{type(error).__name__}: {error}"), urls)[:300]
    if result:
        return True, ""
    lines = [one_line(str(getattr(entry, "message", entry))) for entry in result.logs()]
    reason = next((line for line in reversed(lines) if line.strip()), "") or f"not accepted ({result.status})"
    return False, scrub(reason, urls)[:300]


def _iso(moment: datetime | None) -> str | None:
    return ensure_utc(moment).isoformat() if moment is not None else None


def _when(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


@dataclass
class Destination:
    channel: str
    state: str = PENDING
    attempts: int = 0
    next_at: datetime | None = None
    first_failed_at: datetime | None = None
    error: str = ""
    delivered_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.state in WAITING and (self.next_at is None or self.next_at <= now)

    def to_doc(self) -> Doc:
        return {"state": self.state, "attempts": self.attempts, "next_at": _iso(self.next_at),
                "first_failed_at": _iso(self.first_failed_at), "error": self.error,
                "delivered_at": _iso(self.delivered_at)}

    @classmethod
    def of(cls, channel: str, doc: Doc) -> Destination:
        return cls(channel, str(doc.get("state", PENDING)), int(doc.get("attempts", 0)), _when(doc.get("next_at")),
                   _when(doc.get("first_failed_at")), str(doc.get("error", "")), _when(doc.get("delivered_at")))


@dataclass
class Message:
    id: int
    created_at: datetime
    author: str
    owner: str  # "INC-1", "REL-2"
    template: str
    title: str
    text: str
    destinations: dict[str, Destination]
    counts_as_update: bool = False
    fact: str = ""
    missing: tuple[str, ...] = ()
    names_due: datetime | None = None  # the next-update time the text names (a post counts as the update)
    update_recorded: bool = False  # the first acceptance was recorded as the update
    claim: Doc | None = None
    log: list[str] = field(default_factory=list)  # retry now / give up: who and when

    @property
    def owner_ref(self) -> RecordRef | None:
        return RecordRef.parse(self.owner)

    @property
    def incident_id(self) -> int | None:
        ref = self.owner_ref
        return ref.id if ref is not None and ref.kind == "incident" else None

    def due(self, now: datetime) -> list[Destination]:
        return [d for d in self.destinations.values() if d.due(now)]

    def to_doc(self) -> Doc:
        return {"created_at": _iso(self.created_at), "author": self.author, "owner": self.owner,
                "template": self.template, "title": self.title, "text": self.text,
                "destinations": {name: d.to_doc() for name, d in self.destinations.items()},
                "counts_as_update": self.counts_as_update, "fact": self.fact, "missing": list(self.missing),
                "names_due": _iso(self.names_due), "update_recorded": self.update_recorded, "claim": self.claim,
                "log": self.log}

    @classmethod
    def of(cls, message_id: int, doc: Doc) -> Message:
        return cls(message_id, _when(doc["created_at"]) or datetime.min, str(doc.get("author", "")),
                   str(doc["owner"]), str(doc["template"]), str(doc.get("title", doc["template"])), str(doc["text"]),
                   {name: Destination.of(name, d) for name, d in dict(doc.get("destinations") or {}).items()},
                   bool(doc.get("counts_as_update")), str(doc.get("fact", "")), tuple(doc.get("missing") or ()),
                   _when(doc.get("names_due")), bool(doc.get("update_recorded")), doc.get("claim"),
                   list(doc.get("log") or []))


@dataclass(frozen=True)
class Attempt:
    message_id: int
    channel: str
    accepted: bool
    reason: str
    at: datetime


def this_process() -> Doc:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _gone(claim: Doc) -> bool:
    """A claim by a process on this machine that no longer runs (killed mid-send): free at once."""
    if claim.get("host") != socket.gethostname() or not isinstance(claim.get("pid"), int):
        return False
    if claim["pid"] == os.getpid():
        return False
    try:
        os.kill(claim["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class Outbox:
    def __init__(self, workspace: Workspace, sender: Sender | None = None, worker: str | None = None) -> None:
        self.workspace = workspace
        self.sender = sender or apprise_send
        self.worker = worker or uuid.uuid4().hex[:12]

    @property
    def channels(self) -> ChannelSettings:
        return self.workspace.settings.posting

    @property
    def store(self) -> Any:
        return self.workspace.store

    def now(self) -> datetime:
        return self.workspace.now()

    # -- the intent -------------------------------------------------------------------------------
    def destinations_for(self, template: str, chosen: list[str] | None = None) -> list[str]:
        """`chosen` (checked against the settings) or the template's route; PostRefused when none."""
        names = list(dict.fromkeys(chosen)) if chosen else self.channels.route(template)
        unknown = [name for name in names if name not in self.channels.channels]
        if unknown:
            known = ", ".join(sorted(self.channels.channels)) or "none are configured"
            raise PostRefused(f"unknown channel {unknown[0]!r} (channels: {known})")
        if not names:
            raise PostRefused(f"no channel for {template!r}: add a route in [routes] of the settings, or name one")
        return names

    def preview(self, template: CommsTemplate, owner: Release | Incident) -> tuple[Filled, datetime | None]:
        """The text as it will go out, and the next-update time it names: a post of an update counts as the
        update, so the text is filled as if the update had just been sent."""
        from octotui.comms.templates import render
        from octotui.domain.models import Incident

        if isinstance(owner, Incident) and template.sends_update and owner.open:
            as_sent = owner.model_copy(update={"last_update_at": self.now(), "snoozed_until": None,
                                               "next_update_at": None})
            return render(template, as_sent, self.workspace), self.workspace.next_update_due(as_sent)
        return render(template, owner, self.workspace), None

    def post(self, template: CommsTemplate, owner: Release | Incident, text: str, channels: list[str], *,
             missing: tuple[str, ...] = (), names_due: datetime | None = None) -> Message:
        """Write the message and its destinations (one unit of work), claimed by this worker, which delivers it
        next (another octotui on the database leaves it alone unless this one's claim runs out)."""
        names = self.destinations_for(template.name, channels)
        now = self.now()
        from octotui.domain.models import Incident

        message = Message(0, now, self.workspace.author, owner.key, template.name, template.title, text,
                          {name: Destination(name, next_at=now) for name in names},
                          counts_as_update=isinstance(owner, Incident) and template.sends_update,
                          fact=template.fact if isinstance(owner, Incident) else "", missing=tuple(missing),
                          names_due=names_due, claim=self._claim(now))
        with self.store.unit_of_work(on_wait=self.workspace.on_lock_wait) as uow:
            message.id = uow.reserve_id(OUTBOX)
            uow.put(OUTBOX, message.id, message.to_doc())
        return message

    # -- reading ----------------------------------------------------------------------------------
    def messages(self) -> list[Message]:
        """Every message, newest first (the store's last read: no disk)."""
        docs = self.store.snapshot.all(OUTBOX)
        return sorted((Message.of(message_id, doc) for message_id, doc in docs.items()), key=lambda m: -m.id)

    def describe(self, message: Message) -> list[str]:
        """One line per destination, for people (masked, one line each, no control characters)."""
        lines = []
        for destination in message.destinations.values():
            where = self.channels.shown(destination.channel)
            if destination.state == DELIVERED:
                lines.append(f"{where}: delivered {self.workspace.people_time(destination.delivered_at)}")
            elif destination.state == FAILED:
                lines.append(f"{where}: failed ({destination.error}); next try {self.next_try(destination)}")
            elif destination.state == GAVE_UP:
                lines.append(f"{where}: not delivered, given up ({destination.error})")
            else:
                lines.append(f"{where}: pending")
        return [one_line(line) for line in lines]

    def next_try(self, destination: Destination) -> str:
        """`in 00:30 (14:02 UTC)`, `now`, or `none (given up)`."""
        if destination.next_at is None:
            return "none (given up)" if destination.state == GAVE_UP else "none"
        wait = destination.next_at - self.now()
        if wait.total_seconds() <= 0:
            return "now"
        return f"in {format_countdown(wait)} ({self.workspace.people_time(destination.next_at, with_date=False)})"

    # -- delivering -------------------------------------------------------------------------------
    def claim_due(self, only: int | None = None, skip: frozenset[int] = frozenset()) -> list[Message]:
        """Claim every message with a destination due and nobody delivering it (or whose claim ran out, or
        whose process is gone), for this worker, in one unit of work. Nothing is sent here. `skip`: this
        worker's messages sent but not yet recorded (never sent twice meanwhile)."""
        now = self.now()
        snapshot_due = [m for m in self.messages()
                        if (only is None or m.id == only) and m.id not in skip and m.due(now)]
        if not snapshot_due:  # the common case: nothing to do, no lock taken
            return []
        claimed: list[Message] = []
        with self.store.unit_of_work(on_wait=None) as uow:
            for message_id, doc in sorted(uow.all(OUTBOX).items()):
                if (only is not None and message_id != only) or message_id in skip:
                    continue
                message = Message.of(message_id, doc)
                if not message.due(now):
                    continue
                claim = message.claim
                if claim and claim.get("by") != self.worker and (_when(claim.get("until")) or now) > now \
                        and not _gone(claim):
                    continue
                message.claim = self._claim(now)
                uow.put(OUTBOX, message_id, message.to_doc())
                claimed.append(message)
        return claimed

    def _claim(self, now: datetime) -> Doc:
        """This worker delivers the message until then (each channel may take its timeout, and some margin)."""
        lease = LEASE_MARGIN + timedelta(seconds=self.channels.timeout) * max(len(self.channels.channels), 1)
        return {"by": self.worker, "until": _iso(now + lease), **this_process()}

    def attempt(self, message: Message) -> list[Attempt]:
        """Send a claimed message to each destination due (no database here; may take `timeout` each)."""
        attempts = []
        for destination in message.due(self.now()):
            urls = self.channels.channels.get(destination.channel)
            if not urls:
                accepted, reason = False, "the channel is no longer configured here"
            else:
                try:
                    accepted, reason = self.sender(urls, message.title, message.text, self.channels.timeout)
                except Exception as error:  # noqa: BLE001 - any failure is this destination's, masked
                    accepted, reason = False, scrub(one_line(f"{type(error).__name__}: {error}"), urls)[:300]
            attempts.append(Attempt(message.id, destination.channel, accepted, reason, self.now()))
        return attempts

    def record(self, message: Message, attempts: list[Attempt]) -> Message:
        """Each destination's outcome, and the claim let go; an incident's timeline says where it was posted
        (only where it was accepted, with the time each accepted), in the same unit of work."""
        accepted = [a for a in attempts if a.accepted]
        outcome: dict[str, Message] = {}

        def write(uow: Any) -> None:
            doc = uow.get(OUTBOX, message.id)
            fresh = Message.of(message.id, doc) if doc is not None else message
            for attempt in attempts:
                destination = fresh.destinations.get(attempt.channel)
                if destination is None or destination.state == DELIVERED:
                    continue
                if attempt.accepted:
                    destination.state, destination.delivered_at, destination.error = DELIVERED, attempt.at, ""
                    destination.next_at = None
                    continue
                destination.attempts += 1
                destination.first_failed_at = destination.first_failed_at or attempt.at
                destination.error = attempt.reason or "not accepted"
                destination.next_at = next_attempt(destination.attempts, destination.first_failed_at, self.now())
                destination.state = FAILED if destination.next_at is not None else GAVE_UP
            if accepted and fresh.counts_as_update:
                fresh.update_recorded = True
            if fresh.claim and fresh.claim.get("by") == self.worker:
                fresh.claim = None
            uow.put(OUTBOX, message.id, fresh.to_doc())
            outcome["message"] = fresh

        incident_id = message.incident_id
        if accepted and incident_id is not None:
            where = ", ".join(f"{a.channel} at {self.workspace.people_time(a.at, with_date=False)}" for a in accepted)
            first = message.counts_as_update and not message.update_recorded
            try:
                self.workspace.record_sent(incident_id, message.title, counts_as_update=first,
                                           fact=message.fact if first else "", missing=message.missing,
                                           how=f"posted to {where}", names_due=message.names_due if first else None,
                                           also=write)
            except NotFound:  # no incident to tell any more: the outcome is still the outbox's
                with self.store.unit_of_work(on_wait=self.workspace.on_lock_wait) as uow:
                    write(uow)
        else:
            with self.store.unit_of_work(on_wait=self.workspace.on_lock_wait) as uow:
                write(uow)
        return outcome.get("message", message)

    def deliver_due(self, only: int | None = None) -> list[Attempt]:
        """Claim, send, record: what a worker thread (or a headless command) does in one pass."""
        done: list[Attempt] = []
        for message in self.claim_due(only):
            attempts = self.attempt(message)
            self.record(message, attempts)
            done += attempts
        return done

    # -- people acting on it ----------------------------------------------------------------------
    def retry_now(self, message_id: int | None = None) -> int:
        """Failed (and waiting) destinations due at once; how many."""
        return self._change(message_id, lambda d: d.state in WAITING, "retry now", give_up=False)

    def give_up(self, message_id: int) -> int:
        """Stop trying a message's undelivered destinations (recorded with who and when); how many."""
        return self._change(message_id, lambda d: d.state in WAITING, "gave up", give_up=True)

    def _change(self, message_id: int | None, which: Callable[[Destination], bool], what: str, *, give_up: bool) -> int:
        now = self.now()
        changed = 0
        with self.store.unit_of_work(on_wait=self.workspace.on_lock_wait) as uow:
            for doc_id, doc in uow.all(OUTBOX).items():
                if message_id is not None and doc_id != message_id:
                    continue
                message = Message.of(doc_id, doc)
                chosen = [d for d in message.destinations.values() if which(d)]
                for destination in chosen:
                    if give_up:
                        destination.state = GAVE_UP
                        destination.error = f"{destination.error + '; ' if destination.error else ''}" \
                                            f"given up by {self.workspace.author}"
                    destination.next_at = None if give_up else now
                if chosen:
                    message.log.append(f"{_iso(now)} {self.workspace.author}: {what} "
                                       f"({', '.join(d.channel for d in chosen)})")
                    uow.put(OUTBOX, doc_id, message.to_doc())
                    changed += len(chosen)
        return changed
