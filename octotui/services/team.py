"""Team mode's people: display names and sign-off signers per database role, kept in the database (one
`meta` document, see storage.people) so every machine shows the same names and enforces the same list."""

from __future__ import annotations

from typing import Any

from octotui.domain.inputs import InputError
from octotui.domain.settings import Settings, SignOffRules
from octotui.domain.text import one_line
from octotui.storage.base import META, Repository
from octotui.storage.people import PEOPLE_KEY, display_name, people_doc, signers

MAX_NAME = 80


def people(store: Repository) -> dict[str, dict[str, Any]]:
    """Every named role, as last read."""
    return people_doc(dict(store.snapshot.all(META)))[1]


def set_person(store: Repository, role: str, name: str | None = None, signer: bool | None = None) -> dict[str, Any]:
    """Name a role and/or mark it a sign-off signer, in one unit of work; the entry as saved."""
    role, shown = role.strip(), one_line(name or "").strip() if name is not None else None
    if not role or len(role) > 63:
        raise InputError({"role": "a database role name (1 to 63 characters)"})
    if shown is not None and len(shown) > MAX_NAME:
        raise InputError({"name": f"at most {MAX_NAME} characters"})
    role_exists = getattr(store, "role_exists", None)
    if role_exists is not None and not role_exists(role):
        raise InputError({"role": f"no login role {one_line(role)!r} on this server (create it first)"})
    with store.unit_of_work() as uow:
        doc_id, entries = people_doc(dict(uow.all(META)))
        entry = dict(entries.get(role, {}))
        if shown is not None:
            entry["name"] = shown
        if signer is not None:
            entry["signer"] = signer
        entries[role] = entry
        if doc_id is None:
            doc_id = uow.reserve_id(META)
        uow.put(META, doc_id, {PEOPLE_KEY: entries})
    return entry


def listing(store: Repository) -> list[str]:
    """`ROLE  Display Name  signer` lines for `octotui db people`."""
    entries = people(store)
    return [f"{one_line(role)}\t{one_line(str(entry.get('name') or ''))}\t{'signer' if entry.get('signer') else ''}".rstrip()
            for role, entry in sorted(entries.items())]


def shown(store: Repository, role: str) -> str:
    return display_name(people(store), role)


def team_settings(store: Repository, settings: Settings) -> Settings:
    """The settings with the database's signers in team mode (read at start)."""
    rules = signoff_rules(store, settings.signoff)
    return settings if rules is settings.signoff else settings.model_copy(update={"signoff": rules})


def signoff_rules(store: Repository, rules: SignOffRules) -> SignOffRules:
    """In team mode the signers are the roles marked in the database (every machine the same list); the
    settings file's list applies to a file (or while the database names none)."""
    if store.user is None:  # a file: nobody logged in to it
        return rules
    marked = signers(people(store))
    return rules.model_copy(update={"signers": marked}) if marked else rules
