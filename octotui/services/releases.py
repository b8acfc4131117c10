"""Editing a release without losing anyone's edit and without rewriting its history.

An edit saves only the fields the person changed, against the values the form read: a field somebody else
changed meanwhile is a conflict (said with who, when and what, and answered keep mine / take theirs); changes
to different fields merge. Every change is recorded on the release (who, when, old -> new), and the version of
a release that has gone past Gate passed is history: it is never edited (make a new release instead).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from octotui.domain import lifecycle, versioning
from octotui.domain.clock import local_time
from octotui.domain.inputs import (
    InputError,
    NeedsConfirmation,
    ReasonInput,
    ReleaseInput,
    TextInput,
    parse_input,
)
from octotui.domain.models import (
    ChecklistRun,
    Decision,
    Incident,
    LifecycleEvent,
    Release,
    ReleaseEdit,
)
from octotui.domain.quoting import quoted
from octotui.domain.refs import RunRef
from octotui.domain.roles import ChecklistRole
from octotui.domain.semver import ReleaseType, Version
from octotui.domain.settings import SignOffRules
from octotui.domain.stages import Stage
from octotui.domain.text import plain
from octotui.services import team
from octotui.services.deployments import hotfix_base, known_good
from octotui.services.incidents import IncidentsMixin
from octotui.services.records import point_override

if TYPE_CHECKING:
    from octotui.services.records import CommandSource, Tx

LIST_NOTES = {"notable_changes", "known_issues", "migration_steps"}  # release-notes fields written as lists
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
LABELS = {"version": "version", "title": "title", "type": "type", "captain": "captain", "target_date": "target date"}
# The version is what was shipped once the release went past Gate passed: those stages keep it.
VERSION_FIXED = (Stage.STAGING, Stage.PRODUCTION, Stage.VERIFIED, Stage.ROLLING_BACK, Stage.ROLLED_BACK)


def form_values(release: Release) -> dict[str, str]:
    """The editable fields as the edit form shows them: what an edit is compared against."""
    return {"version": release.version, "title": release.title, "type": release.type.value,
            "captain": release.captain, "target_date": release.target_date.isoformat() if release.target_date else ""}


def version_fixed(release: Release) -> bool:
    return release.stage in VERSION_FIXED


@dataclass(frozen=True)
class Conflict:
    field: str
    mine: str
    theirs: str
    read: str
    by: str
    at: datetime | None

    def describe(self) -> str:
        who = self.by or "someone else"
        when = f" at {local_time(self.at)}" if self.at else ""
        return (f"{who} changed the {LABELS.get(self.field, self.field)}{when}: “{_short(self.read)}” → "
                f"“{_short(self.theirs)}”; yours: “{_short(self.mine)}”")


class EditConflict(Exception):
    """Someone changed a field this edit changes too, since the form read it: the person chooses."""

    def __init__(self, key: str, conflicts: list[Conflict]) -> None:
        self.key, self.conflicts = key, conflicts
        super().__init__(f"Since you opened {key}, " + "; ".join(c.describe() for c in conflicts)
                         + ". Keep yours, or take theirs?")


def _short(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= 60 else value[:59] + "…"


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(getattr(value, "value", value))


def record_edits(release: Release, before: dict[str, Any], after: dict[str, Any], by: str, at: datetime,
                 prefix: str = "") -> list[ReleaseEdit]:
    """Append one edit per field whose value changed; returns them."""
    edits = [ReleaseEdit(at=at, by=by, field=prefix + name, old=_shown(before.get(name)), new=_shown(value))
             for name, value in after.items() if _shown(before.get(name)) != _shown(value)]
    release.edits.extend(edits)
    return edits


def edit_release(workspace: CommandSource, release_id: int, values: dict[str, Any], read: dict[str, str] | None = None,
                 confirm: bool = False) -> Release:
    """Save the fields of `values` that differ from `read` (what the form showed; None: the record as it is
    now). Raises EditConflict when another person changed one of those fields meanwhile, InputError for a bad
    value or a version that is history, NeedsConfirmation to reuse a cancelled release's version."""
    with workspace._command() as tx:
        release = tx.load(Release, release_id)
        current = form_values(release)
        base = current if read is None else read
        mine = {name: str(value) for name, value in values.items()
                if name in current and str(value) != base.get(name, current[name])}
        conflicts = []
        for name, value in mine.items():
            theirs = current[name]
            if theirs != base.get(name, theirs) and theirs.strip() != value.strip():
                edit = release.last_edit(name)
                conflicts.append(Conflict(name, value, theirs, base.get(name, ""), edit.by if edit else "",
                                          edit.at if edit else None))
        if conflicts:
            raise EditConflict(release.key, conflicts)
        if "version" in mine and mine["version"].strip() != release.version and version_fixed(release):
            raise InputError({"version": f"{release.key} is past Gate passed ({release.stage.value}): its version "
                                         f"{release.version} is history and stays — make a new release for another"})
        clean = workspace._release_fields(tx, {**current, **mine}, release, confirm)
        before = {name: getattr(release, name) for name in clean}
        changed = {name: value for name, value in clean.items() if _shown(before[name]) != _shown(value)}
        if not changed:
            return release
        record_edits(release, before, changed, workspace.author, workspace.now())
        for name, value in changed.items():
            setattr(release, name, value)
        tx.save(release)
    return release


# -- gate overrides: a second pair of eyes ----------------------------------------------------------------
SELF_ACCEPTED = "accepted (self-accepted)"


def override_acceptance(release: Release, author: str, rules: SignOffRules) -> str:
    """How `author` accepting an override of `release`'s gate is recorded: "accepted" when it is someone other
    than the captain (one of the signers, when they are set), "accepted (self-accepted)" when the settings let a
    team of one accept its own; otherwise refused (the decision stays proposed until someone else accepts it)."""
    if author != release.captain and rules.may_sign(author):
        return "accepted"
    if rules.self_accept_override:
        return SELF_ACCEPTED
    who = (f"{author} is the captain of {release.key}" if author == release.captain
           else f"{author} may not accept an override (signers: {', '.join(rules.signers)})")
    raise InputError({"status": f"{who}: an override counts once someone else accepts it — save it as proposed "
                                "(or allow self-acceptance in the settings: [signoff] self_accept_override = true)"})


def overridden_releases(tx: Tx, decision: Decision, gate_override_for: int | None = None) -> list[Release]:
    """The releases whose gate this decision overrides (or is to override), read fresh in the unit of work."""
    found = []
    for release_id in decision.release_ids:
        if tx.uow.get("releases", release_id) is None:
            continue
        release = tx.load(Release, release_id)
        if release_id == gate_override_for or decision.id in (release.gate_override, release.gate_override_pending):
            found.append(release)
    return found


def repoint_overrides(tx: Tx, decision: Decision) -> None:
    """After a status change: the override counts, waits or is withdrawn, at once, on every release it names."""
    for release in overridden_releases(tx, decision):
        point_override(release, decision)
        tx.save(release)


# -- one release in production ----------------------------------------------------------------------------
def note_downgrade(workspace: CommandSource, release: Release, index: int, confirm: bool) -> None:
    """Checking the production step of a version below what production runs asks first, then records the
    downgrade on the release (who, when, from what)."""
    if release.runs[release.work_role].items[index].stage != "production" or release.deployed_at is not None:
        return
    live = versioning.is_downgrade(workspace.board_rows(), release.id, release.version)
    if live is None:
        return
    if not confirm:
        raise NeedsConfirmation(f"Deploying {release.version} is a downgrade from {live.version} ({live.key}, in "
                                "production now). Deploy it anyway (recorded as a downgrade)?")
    release.lifecycle.append(LifecycleEvent(at=workspace.now(), by=workspace.author, action="downgrade",
                                            reason=f"{live.version} ({live.key})", from_stage=release.stage.value))


# -- sign-off and release notes (moved here from the workspace, which delegates) ---------------------------
def sign_off(workspace: CommandSource, release_id: int, note: str = "") -> Release:
    note = parse_input(TextInput, {"text": note}, rename={"text": "note"}).text
    rules, author = workspace.settings.signoff, workspace.author
    with workspace._command() as tx:
        rules = team.signoff_rules(workspace.store, rules)  # team mode: the database's list as read just now
        release = tx.load(Release, release_id)
        if release.captain == author:
            raise InputError({"signoff": f"{author} is the captain of {release.key}: someone else signs off"})
        if not rules.may_sign(author):
            raise InputError({"signoff": f"{author} may not sign off (signers: {', '.join(rules.signers)})"})
        if any(event.by == author for event in release.signoffs):
            raise InputError({"signoff": f"{author} has already signed off {release.key}"})
        lifecycle.require(release, "change")
        release.lifecycle.append(LifecycleEvent(at=workspace.now(), by=author, action="signoff", reason=note,
                                                from_stage=release.stage.value))
        tx.save(release)
    return release


def set_release_notes(workspace: CommandSource, release_id: int, notes: dict[str, str]) -> Release:
    """Notes fields as written; list fields kept as Markdown lists; a date must be a real date; every changed
    field recorded (`notes.summary: old → new`)."""
    clean = {key: parse_input(TextInput, {"text": value}, rename={"text": key}).text for key, value in notes.items()}
    for key in LIST_NOTES & clean.keys():
        lines = [line for line in clean[key].splitlines() if line.strip()]
        if len(lines) > 1:  # several lines are a Markdown list; one line stays a sentence
            clean[key] = "\n".join(line if _LIST_ITEM.match(line) else f"- {line.strip()}" for line in lines)
    if clean.get("date"):
        try:
            clean["date"] = date.fromisoformat(clean["date"]).isoformat()
        except ValueError:
            raise InputError({"date": f"{quoted(clean['date'])} is not a date (YYYY-MM-DD); leave it empty to "
                                      "use the production date"}) from None
    with workspace._command() as tx:
        release = tx.load(Release, release_id)
        record_edits(release, dict(release.notes), clean, workspace.author, workspace.now(), prefix="notes.")
        release.notes.update(clean)
        tx.save(release)
    return release


_RELEASE_NOTES_ITEM = re.compile(r"\brelease notes\b", re.IGNORECASE)


class ReleasesMixin(IncidentsMixin):
    """The release commands, each one unit of work, and which version next (the functions above do the edits)."""

    # -- which version next: answered from the rows (domain.versioning) -----------------------------
    def suggest_type(self, version_text: str, excluding: int | None = None) -> ReleaseType | None:
        return versioning.suggest_type(self._view.rows.values(), version_text, excluding)

    def suggest_version(self, kind: ReleaseType = ReleaseType.MINOR) -> str:
        return versioning.suggest_version(self._view.rows.values(), kind)

    def suggest_hotfix_version(self) -> tuple[str, str]:
        return hotfix_base(self)  # by deployment history

    def suggest_backport(self, fixed: Release) -> tuple[str, str]:
        return versioning.suggest_backport(list(self._view.rows.values()), fixed.version)

    def type_warning(self, version_text: str, kind: str, excluding: int | None = None) -> str:
        return versioning.type_warning(self._view.rows.values(), version_text, kind, excluding)

    def last_known_good(self, release: Release) -> Release | None:
        return known_good(self, release).release  # by deployment history

    def notes_question(self, ref: RunRef, index: int) -> str | None:
        """Asked before checking “Release notes drafted” while the notes a person must write are empty."""
        release = self.release(ref.owner_id) if ref.owner == "release" else None
        run = self.run(ref)
        if release is None or run is None or run.items[index].settled or not _RELEASE_NOTES_ITEM.search(run.items[index].text):
            return None
        empty = self._empty_required_notes(release)
        if not empty:
            return None
        return f"The release notes are still empty ({', '.join(empty)}). Check “{plain(run.items[index].text)}” anyway?"

    def _empty_required_notes(self, release: Release) -> list[str]:
        """Release-notes fields a person must write (not the derived name and date, not `(if any)` ones)."""
        derived = {"release_name_number", "date"}
        return [spec.label for spec in self.playbook.fields.get("release-notes", [])
                if spec.key not in derived and "(if any)" not in spec.label and not release.notes.get(spec.key, "").strip()]

    def _release_fields(self, tx: Tx, fields: dict[str, Any], existing: Release | None,
                        confirm: bool = False) -> dict[str, Any]:
        """Validated input plus the rules that need stored data, read inside the unit of work."""
        errors: dict[str, str] = {}
        try:
            clean = parse_input(ReleaseInput, fields)
        except InputError as error:
            errors = dict(error.errors)
            clean = None
        version_text = str(fields.get("version", "")).strip()
        reuse: str | None = None
        if "version" not in errors:
            version = Version.parse(version_text)
            for other in versioning.taken(self._view.rows.values(), version, existing.id if existing else None):
                if other.stage is not Stage.CANCELLED:
                    errors["version"] = f"{version} already exists ({other.key}: {other.title[:40]})"
                    break
                reuse = f"{version} belonged to {other.key}, which was cancelled. Use it again for this release?"
        today = self.now().astimezone().date()
        target = clean.target_date if clean else None
        if target is not None and target < today and (existing is None or existing.target_date != target):
            errors["target_date"] = f"{target} is in the past (today is {today})"
        if errors or clean is None:
            raise InputError(errors)
        if reuse is not None and not confirm:
            raise NeedsConfirmation(reuse)
        kind = clean.type or self.suggest_type(version_text) or ReleaseType.MINOR
        return {"version": clean.version, "title": clean.title, "captain": clean.captain, "type": kind,
                "target_date": clean.target_date}

    def create_release(self, *, hotfix: bool = False, followup_of: int | None = None,
                       incident_id: int | None = None, confirm: bool = False, **fields: Any) -> Release:
        """Raises NeedsConfirmation to reuse the version of a cancelled release."""
        now = self.now()
        with self._command() as tx:
            clean = self._release_fields(tx, fields, None, confirm)
            if incident_id is not None and tx.uow.get("incidents", incident_id) is None:
                raise InputError({"incident": f"INC-{incident_id} does not exist"})
            runs: dict[str, ChecklistRun] = {ChecklistRole.GATE: ChecklistRun.from_spec(self.playbook.by_role(ChecklistRole.GATE), now)}
            work_role = ChecklistRole.HOTFIX if hotfix else ChecklistRole.DEPLOYMENT
            runs[work_role] = ChecklistRun.from_spec(self.playbook.by_role(work_role), now)
            for extra in self.playbook.extras("release"):  # the guide's own checklists: one more run each
                runs[extra.key] = ChecklistRun.from_spec(extra, now)
            release = tx.new(Release, lambda new_id: Release(
                id=new_id, created_at=now, created_by=self.author, hotfix=hotfix, runs=runs, followup_of=followup_of,
                incident_ids=[incident_id] if incident_id else [],
                run_incidents={work_role: incident_id} if incident_id and hotfix else {}, **clean))
            if incident_id is not None:
                incident = tx.load(Incident, incident_id)
                incident.release_ids.append(release.id)
                self._timeline(incident, "link", f"Linked to {release.key} {release.version}" + (" (hotfix)" if hotfix else ""))
                if hotfix:
                    self._auto(incident, "hotfix", f"hotfix {release.key} {release.version} created")
                tx.save(incident)
        return release

    def update_release(self, release_id: int, confirm: bool = False, read: dict[str, str] | None = None,
                       **fields: Any) -> Release:
        """Only the changed fields, against what was `read` (services.releases: conflicts, recorded edits)."""
        return edit_release(self, release_id, fields, read, confirm)

    def cancel_release(self, release_id: int, reason: str) -> Release:
        """Only before Production, with a reason; a shipped release is rolled back or superseded instead."""
        def cancel(release: Release, now: datetime) -> None:
            release.cancelled_at, release.cancel_reason = now, release.lifecycle[-1].reason
        return self._lifecycle_move(release_id, "cancel", reason, cancel)

    def reopen_release(self, release_id: int, reason: str) -> Release:
        """A locked release (Verified, Rolled back, Cancelled) opens again for changes, with a reason."""
        return self._lifecycle_move(release_id, "reopen", reason,
                                    lambda release, _now: setattr(release, "cancelled_at", None))

    def _lifecycle_move(self, release_id: int, move: Literal["cancel", "reopen"], reason: str,
                        apply: Callable[[Release, datetime], None]) -> Release:
        """Checked against the lifecycle table inside the unit of work, recorded with who, when and why."""
        reason = parse_input(ReasonInput, {"reason": reason}).reason
        with self._command() as tx:
            release = tx.load(Release, release_id)
            lifecycle.require(release, move, reason=reason)
            if move == "reopen" and release.cancelled_at is not None:
                self._version_free_again(tx, release)
            now = self.now()
            release.lifecycle.append(LifecycleEvent(at=now, by=self.author, action=move, reason=reason,
                                                    from_stage=release.stage.value))
            apply(release, now)
            tx.save(release)
        return release

    def _version_free_again(self, tx: Tx, release: Release) -> None:
        """A version names one live release: a cancelled one comes back only while nobody reused its version."""
        for other in versioning.taken(self._view.rows.values(), Version.parse(release.version), release.id):
            if other.stage is not Stage.CANCELLED:
                raise InputError({"reason": f"{release.version} is now the version of {other.key}; "
                                            f"{release.key} cannot come back under it"})

    def sign_off(self, release_id: int, note: str = "") -> Release:
        return sign_off(self, release_id, note)

    def set_release_notes(self, release_id: int, notes: dict[str, str]) -> Release:
        return set_release_notes(self, release_id, notes)

    def start_rollback(self, release_id: int, reason: str, incident_id: int | None = None) -> Release:
        """Roll back, for one incident (linked both ways if it was not) or for none: the rollback's
        events go to that incident's timeline and nowhere else."""
        reason = parse_input(ReasonInput, {"reason": reason}).reason
        with self._command() as tx:
            release = tx.load(Release, release_id)
            lifecycle.require(release, "rollback", reason=reason)
            release.rollback_reason = reason
            release.runs[ChecklistRole.ROLLBACK] = ChecklistRun.from_spec(self.playbook.by_role(ChecklistRole.ROLLBACK), self.now())
            if incident_id is not None:
                incident = tx.load(Incident, incident_id)
                if not incident.open:
                    raise InputError({"incident": f"{incident.key} is resolved; pick an open incident or a new one"})
                self._link(release, incident)
                release.run_incidents[ChecklistRole.ROLLBACK] = incident_id
                self._timeline(incident, "status", f"Rollback of {release.key} {release.version} started: {reason}")
                tx.save(incident)
            tx.save(release)
        return release
