"""Documents every backend can store. The file backend once accepted NUL in texts; PostgreSQL's jsonb refuses
it (and unpaired surrogates, which are not UTF-8 at all), so `octotui db copy` of such a file into team mode
copied nothing. New input refuses both on every backend (domain.inputs); what older files already hold is
shown as ␀ / U+FFFD on the way over, and counted, so the copy succeeds and says what it changed."""

from __future__ import annotations

from typing import Any

from octotui.domain.text import storable, unstorable_at


def portable_tables(tables: dict[str, dict[int, Any]]) -> tuple[dict[str, dict[int, Any]], int]:
    """(the tables with every unstorable character replaced, how many texts changed)."""
    changed = 0

    def clean(value: Any) -> Any:
        nonlocal changed
        if isinstance(value, str):
            if unstorable_at(value) is None:
                return value
            changed += 1
            return storable(value)
        if isinstance(value, dict):
            return {clean(key): clean(item) for key, item in value.items()}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    cleaned = {name: {doc_id: clean(doc) for doc_id, doc in docs.items()} for name, docs in tables.items()}
    return cleaned, changed
