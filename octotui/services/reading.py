"""Reading: every read the UI makes of releases, incidents, decisions and checklist runs, from the view."""

from __future__ import annotations

from octotui.domain.board import BoardRow, board_sorted
from octotui.domain.models import ChecklistRun, Decision, Incident, Release
from octotui.domain.refs import RunRef
from octotui.domain.stages import Stage
from octotui.services.integrity import IntegrityMixin
from octotui.services.records import assigns, incident_order
from octotui.services.view import MODELS_KEPT


class ReadingMixin(IntegrityMixin):
    """The reads the screens make, from the view (what is not in it is read alone and a few kept)."""

    def _decisions(self) -> dict[int, Decision]:
        if self._view.decisions is None:
            self.validate(Decision)
        # The same dict each time, even empty: the decision log knows its index is current by identity.
        return self._view.decisions if self._view.decisions is not None else {}

    def releases(self) -> list[Release]:
        """Every release with its history, in board order. Each is parsed unless recently asked for: for
        what needs whole records; what the board shows of them is `board_rows()`."""
        return [release for row in self.board_rows() if (release := self.release(row.id)) is not None]

    def stage(self, release: Release | BoardRow) -> Stage:
        return release.stage

    def board_rows(self) -> list[BoardRow]:
        """The board, in board order: what each release's row shows (the same rows a start paints from)."""
        rows = self._view.rows
        cached = self._board_order
        if cached is None or cached[0] is not rows:
            ordered = board_sorted(list(rows.values()), lambda row: row.stage, lambda row: row.version, lambda row: row.id)
            cached = self._board_order = (rows, ordered)
        return cached[1]

    def row(self, release_id: int) -> BoardRow | None:
        return self._view.rows.get(release_id)

    def release(self, release_id: int) -> Release | None:
        """The release with its checklist history. Read from the store the first time it is asked for
        since it last changed; the last MODELS_KEPT asked for stay parsed."""
        row = self._view.rows.get(release_id)
        if row is None:
            return None
        with self._models_lock:
            kept = self._models.get(release_id)
            if kept is not None and kept[0] is row:
                self._models.move_to_end(release_id)
                return kept[1]
        record = self._build_record(self.store.snapshot, "releases", release_id)
        if not isinstance(record, Release):
            return None
        self._keep(release_id, row, record)
        return record

    def _incidents(self) -> dict[int, Incident]:
        if not self._view.incidents_complete:
            self.validate(Incident)
        return self._view.incidents

    def incidents(self) -> list[Incident]:
        return sorted(self._incidents().values(), key=incident_order)

    def incident(self, incident_id: int) -> Incident | None:
        """Open incidents (and those changed since start-up) are in the view; another is read alone, with its
        timeline, and the last MODELS_KEPT read stay parsed (the view's copy wins once it changes)."""
        known = self._view.incidents.get(incident_id)
        if known is not None or self._view.incidents_complete:
            return known
        with self._models_lock:
            past = self._past_incidents.get(incident_id)
            if past is not None:
                self._past_incidents.move_to_end(incident_id)
                return past
        record = self._build_record(self.store.snapshot, "incidents", incident_id)
        if not isinstance(record, Incident):
            return None
        with self._models_lock:
            self._past_incidents[incident_id] = record
            while len(self._past_incidents) > MODELS_KEPT:
                self._past_incidents.popitem(last=False)
        return record

    def newest_incident(self) -> Incident | None:
        """What the incident screen shows when none was chosen: the first open one, else the last one
        opened (the highest number), read alone."""
        open_now = self.open_incidents()
        if open_now:
            return open_now[0]
        last = self.store.snapshot.last_id("incidents")
        for incident_id in range(last, max(0, last - 100), -1):  # incidents are never deleted: the first try
            found = self.incident(incident_id)
            if found is not None:
                return found
        return None

    def open_incidents(self) -> list[Incident]:
        """Never waits for the resolved ones (the status line asks every second)."""
        return sorted((i for i in self._view.incidents.values() if i.open), key=incident_order)

    @property
    def decisions_read(self) -> bool:
        """Whether the decisions are parsed (the decision log reads them once, off the loop, before listing)."""
        return self._view.decisions is not None

    def read_decisions(self) -> None:
        self.validate(Decision)

    def decision(self, decision_id: int) -> Decision | None:
        return self._decisions().get(decision_id)

    def decisions(self) -> dict[int, Decision]:
        return self._decisions()

    def decisions_newest_first(self) -> list[Decision]:
        return sorted(self._decisions().values(), key=lambda d: d.id, reverse=True)

    def runs_assigned_to(self, person: str) -> list[RunRef]:
        """The release runs with an item assigned to `person`, in board order. The stored documents are
        searched first, so only the releases that have one are parsed."""
        snapshot, refs = self.store.snapshot, []
        for row in self.board_rows():
            if not assigns(snapshot.get("releases", row.id), person):
                continue
            release = self.release(row.id)
            if release is not None:
                refs += [RunRef("release", release.id, role) for role in release.run_order()
                         if any(item.owner == person for item in release.runs[role].items)]
        return refs

    def run(self, ref: RunRef) -> ChecklistRun | None:
        owner = self.release(ref.owner_id) if ref.owner == "release" else self.incident(ref.owner_id)
        return None if owner is None else owner.runs.get(ref.role)

    def is_empty(self) -> bool:
        """No release, incident or decision was ever saved (asked at every start: read no table for it)."""
        snapshot = self.store.snapshot
        return not self._view.rows and not any(snapshot.last_id(table) for table in ("incidents", "decisions"))
