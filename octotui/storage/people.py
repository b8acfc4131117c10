"""Who is who in team mode, kept in the database so every machine sees the same: one `meta` document
`{"people": {ROLE: {"name": "Display Name", "signer": true}}}` the owner fills (`octotui db people`).
Roles are the database's logins; the display name is only for people to read."""

from __future__ import annotations

from typing import Any

from octotui.storage.base import Doc

PEOPLE_KEY = "people"


def people_doc(meta: dict[int, Doc]) -> tuple[int | None, dict[str, dict[str, Any]]]:
    """The people document's id (None if there is none yet) and its entries by role."""
    for doc_id, doc in sorted(meta.items()):
        found = doc.get(PEOPLE_KEY)
        if isinstance(found, dict):
            return doc_id, {str(role): dict(entry) for role, entry in found.items() if isinstance(entry, dict)}
    return None, {}


def display_name(people: dict[str, dict[str, Any]], role: str) -> str:
    """`Ana Lima (ana)` when the owner named the role, else the role itself."""
    name = str(people.get(role, {}).get("name") or "").strip()
    return f"{name} ({role})" if name and name != role else role


def signers(people: dict[str, dict[str, Any]]) -> list[str]:
    """The roles the owner marked as sign-off signers (empty: no list kept in the database)."""
    return sorted(role for role, entry in people.items() if entry.get("signer"))
