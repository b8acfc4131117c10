"""The storage seam: what the services need from a database, whichever backend runs.

Records live in tables of JSON documents keyed by integer id (`releases`, `incidents`,
`decisions`, `meta`). History (checklist events, timeline) lives in the `events` table, one small
document per event, keyed by its owner (`REL-3`, `INC-1`) and stream (`timeline`, `gate`...), so
an append never rewrites a record with its whole past.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

Doc = dict[str, Any]
RECORD_TABLES = ("releases", "incidents", "decisions")
EVENTS = "events"
META = "meta"
OUTBOX = "outbox"  # messages to post and their destinations' outcomes (services.outbox); no credentials
RESOLVED = "Resolved"  # an incident's stored status once resolved (the domain's IncidentStatus.RESOLVED)


Key = TypeVar("Key", int, str)  # a document id as a store holds it: an int, or a JSON object's key


def open_incident_docs(incidents: Mapping[Key, Doc]) -> dict[Key, Doc]:
    """The incident documents not resolved (what a first screen shows)."""
    return {doc_id: doc for doc_id, doc in incidents.items() if doc.get("status") != RESOLVED}


@dataclass
class Changes:
    """Which documents changed, by table; `everything` when a backend cannot say."""

    ids: dict[str, set[int]] = field(default_factory=dict)
    everything: bool = False

    def add(self, table: str, doc_id: int) -> None:
        self.ids.setdefault(table, set()).add(doc_id)

    def merge(self, other: Changes) -> None:
        self.everything = self.everything or other.everything
        for table, ids in other.ids.items():
            self.ids.setdefault(table, set()).update(ids)

    def __bool__(self) -> bool:
        return self.everything or any(self.ids.values())


class ChangeLog:
    """What each backend keeps for its readers: numbered generations of changes applied in memory (a commit,
    or others' writes read), so several readers sharing one store each catch up from their own generation."""

    KEPT = 256  # generations remembered; a reader further behind is told "everything"

    def __init__(self) -> None:
        self.generation = 0
        self._log: list[tuple[int, Changes]] = []

    def _logged(self, changes: Changes) -> Changes:
        if changes:
            self.generation += 1
            self._log.append((self.generation, changes))
            del self._log[: -self.KEPT]
        return changes

    def changes_since(self, generation: int) -> tuple[Changes, int]:
        """Everything changed in memory after `generation`, and the generation now."""
        merged = Changes()
        if generation < self.generation and (not self._log or self._log[0][0] > generation + 1):
            merged.everything = True
        for number, changes in self._log:
            if number > generation:
                merged.merge(changes)
        return merged, self.generation


class Snapshot(Protocol):
    """What was last read: answered from memory, never from disk."""

    def get(self, table: str, doc_id: int) -> Doc | None: ...
    def all(self, table: str) -> dict[int, Doc]: ...
    def events(self, owner: str, stream: str | None = None) -> list[tuple[int, Doc]]:
        """An owner's events (`REL-3`, `INC-1`), of one stream or all, each stream in id order."""
        ...

    def open_incidents(self) -> dict[int, Doc]:
        """The incidents not resolved (what a first screen shows), without reading the rest where the
        backend can leave them unread."""
        ...

    def board_docs(self) -> dict[int, Doc]:
        """The releases with at least what the board shows of them (domain.documents.ROW_FIELDS), without
        reading the rest of each release where the backend can leave it unread."""
        ...

    def scan(self, table: str) -> dict[int, Doc]:
        """Every document of a table for one pass (a check), not kept in memory afterwards where the
        backend can leave the table unread."""
        ...

    def last_id(self, table: str) -> int:
        """The highest id a document of this table has had (0 for none), without reading the table where
        the backend can tell otherwise."""
        ...


class ReadsWholeTables:
    """A unit of work's reads that a backend answers from its whole tables (read fresh under its lock anyway)."""

    def all(self, table: str) -> dict[int, Doc]:
        raise NotImplementedError

    def open_incidents(self) -> dict[int, Doc]:
        return open_incident_docs(self.all("incidents"))

    def board_docs(self) -> dict[int, Doc]:
        return self.all("releases")

    def scan(self, table: str) -> dict[int, Doc]:
        return self.all(table)


class UnitOfWork(Snapshot, Protocol):
    """One transaction: reads are fresh, writes land together at commit or not at all."""

    def reserve_id(self, table: str) -> int: ...
    def put(self, table: str, doc_id: int, doc: Doc) -> None: ...
    def put_many(self, table: str, docs: dict[int, Doc]) -> None:
        """Many documents of one table at once (bulk tools): as `put` for each, in one pass."""
        ...
    def append_event(self, owner: str, stream: str, doc: Doc) -> int: ...


Tables = dict[str, dict[int, Doc]]  # everything, by table (events carry their `owner` and `stream`)


class Repository(Protocol):
    location: str  # for messages: a path, or a URL without its password
    read_only: bool
    read_only_reason: str  # why saves are refused when read_only (for the person)
    path: Path  # a local file: octotui keeps the person's own files (clipboard fallback, MADR default) beside it
    local_file: Path | None  # the database itself when it is a file here (another process can read it too)
    user: str | None  # who the backend says is connected (a database role), if it knows

    def close(self) -> None: ...

    def take_notices(self) -> list[str]:
        """Things to tell the person once (an in-doubt save checked after reconnecting)."""
        ...

    def subscribe(self, callback: Callable[[], None] | None) -> None:
        """Call `callback` (from any thread) when others changed the database, where the backend can push;
        otherwise `changed_outside` is polled."""
        ...

    def presence(self) -> list[str]:
        """Others who have this database open, where the backend can tell (else empty)."""
        ...

    def export_tables(self) -> Tables:
        """Everything, fresh, for `db copy`."""
        ...

    def import_tables(self, tables: Tables, replace: bool = False) -> None:
        """Everything at once, ids kept, as one transaction (`db copy`); `replace` drops what was there."""
        ...

    def torn_tail_note(self) -> str | None:
        """A note for the person when the last read found an interrupted save (ignored), else None."""
        ...

    def unread_tables(self) -> frozenset[str]:
        """The tables not yet wholly read into memory (read when first needed): a diagnostic, never a rule."""
        ...

    def compact(self) -> None:
        """Leave the data at rest after a bulk load: the file folds its journal into a new snapshot (what a
        start then reads least of); a server has nothing to fold."""
        ...

    @property
    def snapshot(self) -> Snapshot: ...

    def changed_outside(self) -> bool:
        """Cheap: has anyone else written since we last looked? (a stat, or a pending notification)."""
        ...

    def refresh(self) -> Changes:
        """Read what others wrote (only that, where the backend can); raises StoreError."""
        ...

    def unit_of_work(self, on_wait: Callable[[], None] | None = None) -> AbstractContextManager[UnitOfWork]:
        """Lock, read fresh, let the caller change documents, commit once. `on_wait` is called if the
        lock is held elsewhere. What changed (here or, read meanwhile, elsewhere) is in `changes_since`."""
        ...

    generation: int

    def changes_since(self, generation: int) -> tuple[Changes, int]:
        """Everything changed in memory after `generation`, and the generation now."""
        ...


def ui_state_of(meta: dict[int, Doc], author: str) -> dict[str, Any]:
    """Where `author` was when they last quit (screen, release, incident, checklist row): a meta document."""
    for doc in meta.values():
        if isinstance(doc.get("ui"), dict):
            state = doc["ui"].get(author, {})
            return dict(state) if isinstance(state, dict) else {}
    return {}
