"""What makes a file an octotui database (a meta document with its schema and its id), and the migrations of
octotui's own older schemas. A file without a schema is not octotui's: it is refused, never migrated."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from octotui.storage.base import EVENTS, META, Doc

SCHEMA_VERSION = 3
META_TABLE = META
Tables = dict[str, dict[str, Any]]


def schema_of(tables: Tables) -> int:
    """The schema octotui wrote the file in; 0: not an octotui database (no meta document with a schema)."""
    for doc in tables.get(META_TABLE, {}).values():
        if isinstance(doc.get("schema"), int) and not isinstance(doc.get("schema"), bool):
            return int(doc["schema"])
    return 0


def identity_of(tables: Tables) -> str | None:
    """The database's own id, written into its meta document when octotui created it (or first wrote to it)."""
    for doc in tables.get(META_TABLE, {}).values():
        if isinstance(doc.get("schema"), int):
            identity = doc.get("id")
            return identity if isinstance(identity, str) else None
    return None


def new_meta() -> Doc:
    return {"schema": SCHEMA_VERSION, "id": uuid.uuid4().hex}


def _migrate_1_to_2(tables: Tables) -> Tables:
    """History moves out of the records into the events table: one small document per event."""
    tables = {name: dict(table) for name, table in tables.items()}
    events: dict[str, Any] = dict(tables.get(EVENTS, {}))
    next_id = max((int(key) for key in events), default=0) + 1
    for table, prefix in (("releases", "REL"), ("incidents", "INC")):
        for doc_id, doc in sorted(tables.get(table, {}).items(), key=lambda pair: int(pair[0])):
            doc = dict(doc)
            owner = f"{prefix}-{doc_id}"
            runs = {}
            for role, run in dict(doc.get("runs") or {}).items():
                run = dict(run)
                for event in run.pop("history", []) or []:
                    events[str(next_id)] = {"owner": owner, "stream": role, **event}
                    next_id += 1
                runs[role] = run
            if "runs" in doc:
                doc["runs"] = runs
            for event in doc.pop("timeline", []) or []:
                events[str(next_id)] = {"owner": owner, "stream": "timeline", **event}
                next_id += 1
            tables[table][doc_id] = doc
    tables[EVENTS] = events
    for doc in tables[META_TABLE].values():
        if "schema" in doc:
            doc["schema"] = 2
    return tables


def _migrate_2_to_3(tables: Tables) -> Tables:
    """An incident links to any number of releases (the one that caused it, its hotfix): `release_id`
    becomes `release_ids`."""
    tables = {name: dict(table) for name, table in tables.items()}
    for doc_id, doc in tables.get("incidents", {}).items():
        doc = dict(doc)
        linked = doc.pop("release_id", None)
        doc.setdefault("release_ids", [linked] if isinstance(linked, int) else [])
        tables["incidents"][doc_id] = doc
    for doc in tables[META_TABLE].values():
        if "schema" in doc:
            doc["schema"] = 3
    return tables


def migrated(tables: Tables, version: int) -> Tables:
    """An octotui file of an older schema brought to this one (a copy; given an id if it had none)."""
    tables = {name: dict(table) for name, table in tables.items()}
    while version < SCHEMA_VERSION:
        tables = MIGRATIONS[version](tables)
        version += 1
    for doc_id, doc in tables.get(META_TABLE, {}).items():
        if isinstance(doc.get("schema"), int) and not isinstance(doc.get("id"), str):
            tables[META_TABLE][doc_id] = {**doc, "id": uuid.uuid4().hex}
    return tables


# Forward migrations: MIGRATIONS[n] turns a schema-n file into schema n+1.
# Only octotui's own files are migrated: one without a schema (0) is not octotui's and is refused, untouched.
MIGRATIONS: dict[int, Callable[[Tables], Tables]] = {1: _migrate_1_to_2, 2: _migrate_2_to_3}
