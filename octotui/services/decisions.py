"""Decision commands: record, edit, supersede, gate overrides, and the links kept on both sides."""

from __future__ import annotations

from typing import Any, Literal

from octotui.domain.inputs import DecisionInput, InputError, parse_input
from octotui.domain.models import Decision, DecisionEdit, DecisionStatus, Incident, Release
from octotui.domain.quoting import quoted
from octotui.domain.refs import RunRef
from octotui.domain.text import plain
from octotui.services.incidents import IncidentsMixin
from octotui.services.records import Tx, point_override
from octotui.services.releases import (
    SELF_ACCEPTED,
    overridden_releases,
    override_acceptance,
    repoint_overrides,
)


def _said(value: Any) -> str:
    """A decision field's value as its history says it (`accepted`, not `DecisionStatus.ACCEPTED`)."""
    return str(getattr(value, "value", value))


class DecisionsMixin(IncidentsMixin):
    """The decision commands, each one unit of work."""

    def _decision_fields(self, tx: Tx | None, fields: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        try:
            parsed = parse_input(DecisionInput, fields)
            clean = parsed.model_dump()
            clean["owner"] = clean["owner"] or self.author
            clean["status"] = DecisionStatus(clean["status"])
        except InputError as error:
            errors.update(error.errors)
        if "links" in fields:
            release_ids, incident_ids, bad = self._parse_links(str(fields["links"]), tx)
            if bad:
                errors["links"] = f"unknown link(s): {', '.join(bad)} (use REL-n or INC-n, comma separated)"
            clean["release_ids"], clean["incident_ids"] = release_ids, incident_ids
        if errors:
            raise InputError(errors)
        return clean

    def parse_links(self, text: str) -> tuple[list[int], list[int], list[str]]:
        return self._parse_links(text, None)

    def _parse_links(self, text: str, tx: Tx | None) -> tuple[list[int], list[int], list[str]]:
        releases: list[int] = []
        incidents: list[int] = []
        bad: list[str] = []
        for part in text.replace(";", ",").replace(" ", ",").split(","):
            part = part.strip().upper()
            if not part:
                continue
            prefix, _, number = part.partition("-")
            target = {"REL": (releases, "releases"), "INC": (incidents, "incidents")}.get(prefix)
            exists = False
            if target and number.isdigit() and len(number) < 10:
                table = target[1]
                exists = (tx.uow.get(table, int(number)) if tx else self.store.snapshot.get(table, int(number))) is not None
            if target and exists:
                if int(number) not in target[0]:
                    target[0].append(int(number))
            else:
                bad.append(quoted(part)[1:-1])
        return releases, incidents, bad

    def record_decision(self, *, item_ref: RunRef | None = None, item_index: int | None = None, kind: str = "",
                        supersedes: int | None = None, gate_override_for: int | None = None,
                        **fields: Any) -> Decision:
        now = self.now()
        with self._command() as tx:
            clean = self._decision_fields(tx, fields)
            if gate_override_for is not None and clean["status"] is DecisionStatus.ACCEPTED:
                accepted = override_acceptance(tx.load(Release, gate_override_for), self.author, self.settings.signoff)
                clean["history"] = [DecisionEdit(at=now, author=self.author, previous={"status": ""},
                                                 new={"status": accepted})] if accepted == SELF_ACCEPTED else []
            item_text = ""
            if item_ref is not None and item_index is not None:
                run = self.run(item_ref)
                if run is not None:
                    item_text = plain(run.items[item_index].text)
            old = tx.load(Decision, supersedes) if supersedes is not None and tx.uow.get("decisions", supersedes) else None
            if supersedes is not None and old is None:
                raise InputError({"supersedes": f"DEC-{supersedes} does not exist"})
            decision = tx.new(Decision, lambda new_id: Decision(
                id=new_id, created_at=now, date=now.astimezone().date(), item=item_text, kind=kind,
                supersedes=supersedes, **clean))
            for release_id in decision.release_ids:
                release = tx.load(Release, release_id)
                release.decision_ids.append(decision.id)
                if gate_override_for == release.id:
                    point_override(release, decision)
                if item_ref is not None and item_index is not None and item_ref.owner == "release" and item_ref.owner_id == release.id:
                    release.runs[item_ref.role].items[item_index].decision_id = decision.id
                tx.save(release)
            for incident_id in decision.incident_ids:
                incident = tx.load(Incident, incident_id)
                incident.decision_ids.append(decision.id)
                if item_ref is not None and item_index is not None and item_ref.owner == "incident" and item_ref.owner_id == incident.id:
                    incident.runs[item_ref.role].items[item_index].decision_id = decision.id
                self._timeline(incident, "decision", f"{decision.key} recorded: {decision.title}")
                self._auto(incident, "decision", f"{decision.key} recorded")
                tx.save(incident)
            if old is not None:
                old.history.append(DecisionEdit(at=now, author=self.author, previous={"status": old.status.value},
                                                new={"status": f"superseded by {decision.key}"}))
                old.status = DecisionStatus.SUPERSEDED
                old.superseded_by = decision.id
                tx.save(old)
                repoint_overrides(tx, old)
        return decision

    def override_gate(self, release_id: int, **fields: Any) -> Decision:
        if self.release(release_id) is None:
            raise KeyError(release_id)
        fields.setdefault("links", f"REL-{release_id}")
        return self.record_decision(kind="gate-override", gate_override_for=release_id, **fields)

    def edit_decision(self, decision_id: int, **fields: Any) -> Decision:
        now = self.now()
        with self._command() as tx:
            decision = tx.load(Decision, decision_id)
            merged: dict[str, Any] = {name: getattr(decision, name) for name in (
                "title", "context", "decision", "alternatives", "consequences", "owner")}
            merged["status"] = decision.status.value if decision.status is not DecisionStatus.SUPERSEDED else "accepted"
            merged["links"] = decision.links_label()
            merged.update(fields)
            clean = self._decision_fields(tx, merged)
            linked_before: dict[Literal["release", "incident"], set[int]] = {
                "release": set(decision.release_ids), "incident": set(decision.incident_ids)}
            if decision.status is DecisionStatus.SUPERSEDED:
                clean["status"] = DecisionStatus.SUPERSEDED  # superseding is undone only by the other record
            previous: dict[str, str] = {}
            new: dict[str, str] = {}
            if clean["status"] is DecisionStatus.ACCEPTED and decision.status is not DecisionStatus.ACCEPTED:
                for release in overridden_releases(tx, decision):  # an override: accepted by a second person
                    new["status"] = override_acceptance(release, self.author, self.settings.signoff)
            for name, value in clean.items():
                old = getattr(decision, name)
                if old != value:
                    previous[name] = _said(old)
                    new.setdefault(name, _said(value))
                    setattr(decision, name, value)
            if previous:
                decision.history.append(DecisionEdit(at=now, author=self.author, previous=previous, new=new))
                tx.save(decision)
            self._sync_decision_links(tx, decision, linked_before)
            if "status" in previous:
                repoint_overrides(tx, decision)
        return decision

    def _sync_decision_links(self, tx: Tx, decision: Decision, before: dict[Literal["release", "incident"], set[int]]) -> None:
        """A decision's links are kept on both sides: the records it now names list it, the ones it
        no longer names do not."""
        now: dict[Literal["release", "incident"], set[int]] = {
            "release": set(decision.release_ids), "incident": set(decision.incident_ids)}
        for kind, after in now.items():
            for record_id in sorted(before[kind] ^ after):
                if tx.uow.get(f"{kind}s", record_id) is None:
                    continue
                record = tx.load_owner(kind, record_id)
                if record_id in after and decision.id not in record.decision_ids:
                    record.decision_ids.append(decision.id)
                    if isinstance(record, Incident):
                        self._timeline(record, "decision", f"{decision.key} linked: {decision.title}")
                        self._auto(record, "decision", f"{decision.key} linked")
                elif record_id not in after and decision.id in record.decision_ids:
                    record.decision_ids.remove(decision.id)
                    if isinstance(record, Incident):
                        self._timeline(record, "decision", f"{decision.key} unlinked")
                tx.save(record)

    def supersede(self, old_id: int, **fields: Any) -> Decision:
        old = self.decision(old_id)
        if old is None:
            raise InputError({"supersedes": f"DEC-{old_id} does not exist"})
        if old.superseded_by is not None:
            raise InputError({"supersedes": f"{old.key} is already superseded by DEC-{old.superseded_by}"})
        return self.record_decision(supersedes=old_id, **fields)

    def check_supersede(self, new_id: int, old_id: int) -> None:
        """Refuse self-supersession and cycles (DEC-a supersedes DEC-b supersedes ... DEC-a)."""
        if new_id == old_id:
            raise InputError({"supersedes": "a decision cannot supersede itself"})
        seen: set[int] = set()
        current = self.decision(old_id)
        while current is not None and current.supersedes is not None and current.id not in seen:
            seen.add(current.id)
            if current.supersedes == new_id:
                raise InputError({"supersedes": f"DEC-{new_id} is already superseded through DEC-{old_id}: that would make a cycle"})
            current = self.decision(current.supersedes)

    def supersede_existing(self, new_id: int, old_id: int) -> None:
        """Link two existing decisions: new supersedes old (both ways)."""
        self.check_supersede(new_id, old_id)
        now = self.now()
        with self._command() as tx:
            new, old = tx.load(Decision, new_id), tx.load(Decision, old_id)
            new.history.append(DecisionEdit(at=now, author=self.author, previous={"supersedes": str(new.supersedes or "")},
                                            new={"supersedes": old.key}))
            new.supersedes = old_id
            old.history.append(DecisionEdit(at=now, author=self.author, previous={"status": old.status.value},
                                            new={"status": f"superseded by {new.key}"}))
            old.status, old.superseded_by = DecisionStatus.SUPERSEDED, new_id
            tx.save(new)
            tx.save(old)
            repoint_overrides(tx, old)
