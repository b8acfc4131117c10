"""TinyDB's tables, told which documents a write touched, and parsed only when TinyDB first reaches for them.

The hooks into TinyDB's private `Table._update_table` live here; the storage they report to is
`journal_storage.JournalStorage`, seen through the `TrackingStorage` protocol.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol, cast

from tinydb import TinyDB
from tinydb.table import Table

from octotui.storage.base import Doc
from octotui.storage.migrations import Tables
from octotui.storage.snapshot import _apply


class TrackingStorage(Protocol):
    """What the tracked tables need of the storage under them (JournalStorage)."""

    @property
    def tables(self) -> Tables: ...

    @property
    def staged_docs(self) -> dict[str, dict[str, Doc | None]]: ...

    @property
    def _lazy_lock(self) -> contextlib.AbstractContextManager[Any]: ...

    def touched(self, table: str) -> set[int]: ...

    def _parse_deferred(self, name: str) -> None: ...


# -- TinyDB, told which documents a write touched ----------------------------------------------
class _TouchRecorder:
    """Stands in for a table's dict while TinyDB changes it, noting every document id it reaches."""

    def __init__(self, table: dict[Any, Any], touched: set[Any]) -> None:
        self._table, self._touched = table, touched

    def __getitem__(self, key: Any) -> Any:
        self._touched.add(key)
        return self._table[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._touched.add(key)
        self._table[key] = value

    def __delitem__(self, key: Any) -> None:
        self._touched.add(key)
        del self._table[key]

    def pop(self, key: Any, *default: Any) -> Any:
        self._touched.add(key)
        return self._table.pop(key, *default)

    def __contains__(self, key: Any) -> bool:
        return key in self._table

    def __iter__(self) -> Iterator[Any]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def keys(self) -> Any:
        return self._table.keys()

    def clear(self) -> None:
        self._touched.update(self._table)
        self._table.clear()


class TrackedTable(Table):
    """A TinyDB table that tells the storage which documents a write may have changed."""

    def _update_table(self, updater: Callable[[dict[Any, Any]], None]) -> None:
        touched = cast(TrackingStorage, self._storage).touched(self.name)
        super()._update_table(lambda table: updater(_TouchRecorder(table, touched)))  # type: ignore[arg-type]


class TrackedTinyDB(TinyDB):
    table_class = TrackedTable


class LazyTables(dict[str, dict[str, Doc]]):
    """The tables as a unit of work sees them: one the file's read left unparsed is parsed when TinyDB
    first reaches for it, so a save reads only the tables it changes."""

    def __init__(self, storage: TrackingStorage, tables: Tables) -> None:
        super().__init__(tables)
        self._storage = storage
        self.dropped: set[str] = set()

    def __missing__(self, name: str) -> dict[str, Doc]:
        storage = self._storage
        if name in self.dropped:
            raise KeyError(name)
        storage._parse_deferred(name)  # if still unparsed; a reader may also have parsed it since the begin
        with storage._lazy_lock:
            if name not in storage.tables:
                raise KeyError(name)
            table = storage.tables[name]
        staged = storage.staged_docs.pop(name, None)
        if staged:  # put before TinyDB reached for the table: now part of it, as TinyDB's own changes are
            table = dict(table)
            _apply({name: table}, {name: staged})
            storage.touched(name).update(int(key) for key in staged)
        self[name] = table
        return table

    def __delitem__(self, name: str) -> None:
        self.dropped.add(name)
        super().__delitem__(name)

    def pop(self, name: str, *default: Any) -> Any:
        self.dropped.add(name)
        return super().pop(name, *default)
