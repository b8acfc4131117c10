"""Every saved form carries a unique action id, written in the same unit of work as the change, so a retry
of the same action (Enter again after an unknown outcome, a reconnect) can never apply it twice, on either
backend. The ids of the last actions are kept in one small `meta` document."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from octotui.storage.base import META, Doc, Repository, Snapshot, UnitOfWork

ACTIONS_KEY = "actions"
KEPT = 32  # the most recent action ids kept (about 700 bytes): a retry comes soon after, not 32 saves later


class AlreadySaved(Exception):  # noqa: N818 - not an error: the action is saved
    """This very action was saved before (by an earlier try whose outcome was not known): not applied twice."""

    def __init__(self, action_id: str) -> None:
        super().__init__("saved (by the earlier try); not saved twice")
        self.action_id = action_id


def new_action_id() -> str:
    return uuid.uuid4().hex[:20]


def _actions_doc(meta: dict[int, Doc]) -> tuple[int | None, list[str]]:
    for doc_id, doc in sorted(meta.items()):
        found = doc.get(ACTIONS_KEY)
        if isinstance(found, list):
            return doc_id, [str(action) for action in found]
    return None, []


def applied(reads: Snapshot, action_id: str) -> bool:
    """Whether the action with this id was saved (as of what `reads` holds)."""
    return action_id in _actions_doc(dict(reads.all(META)))[1]


def check(uow: UnitOfWork, action_id: str | None) -> None:
    """At the start of a command (fresh, under the write lock): refuse to apply a saved action again."""
    if action_id is not None and applied(uow, action_id):
        raise AlreadySaved(action_id)


def record(uow: UnitOfWork, action_id: str | None, changed: Any) -> None:
    """In the command's own unit of work, when it changed something: this action is now saved."""
    if action_id is None or not changed:
        return
    doc_id, kept = _actions_doc(dict(uow.all(META)))
    if doc_id is None:
        doc_id = uow.reserve_id(META)
    uow.put(META, doc_id, {ACTIONS_KEY: [*kept, action_id][-KEPT:]})


class Refreshable(Protocol):
    """What checking an action needs of the workspace: its store, and a re-read of what others wrote."""

    store: Repository

    def refresh(self) -> set[str]: ...


def saved(workspace: Refreshable, action_id: str) -> bool:
    """After an unknown outcome: read again (reconnecting if need be) and say whether the action landed.
    Raises StoreError while the database still cannot be reached."""
    workspace.refresh()
    return applied(workspace.store.snapshot, action_id)
