"""The check of every stored record (at start-up, here or in a child process) and the board rows it finds stale."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from octotui.domain.board import BoardRow
from octotui.domain.models import Decision, Incident
from octotui.domain.refs import ChangeNotice, RecordRef
from octotui.services import heap
from octotui.services.records import document
from octotui.storage.base import EVENTS, Snapshot
from octotui.storage.errors import StoreCorrupt

if TYPE_CHECKING:
    from octotui.services.check import CheckReport, ChildCheck
from octotui.services.view import WorkspaceView


class IntegrityMixin(WorkspaceView):
    """The integrity check: every stored record validated, and the board rows it finds stale stored again."""

    def validate(self, *models: type[Decision] | type[Incident]) -> None:
        """Read every decision or incident into the view (a screen lists them all): kept as long as the app."""
        for model in models:
            if model is Decision and self._view.decisions is None:
                with heap.long_lived():
                    self._view = self._build(self.store.snapshot, ("decisions",))
            if model is Incident and not self._view.incidents_complete:
                self._read_every_incident()

    def _read_every_incident(self) -> None:
        with heap.long_lived():
            source, known = self.store.snapshot, self._view.incidents
            with self._models_lock:
                read_alone = dict(self._past_incidents)  # by incident(): not parsed twice
            missing: dict[int, Any] = {
                record_id: read_alone.get(record_id) or self._build_record(source, "incidents", record_id)
                for record_id in source.all("incidents") if record_id not in known}
            self._view = replace(self._view, incidents={**known, **missing}, incidents_complete=True)
        self.last_changed |= ChangeNotice(records=frozenset(RecordRef("incident", n) for n in missing))

    def validate_all(self) -> set[int]:
        """Check every stored record against the models, without keeping what is not shown: a bad document
        is reported (StoreCorrupt), never rewritten. The board's rows are re-derived on the way under this
        workspace's rules; those that differ replace the shown ones, and the releases whose stored row differs
        are returned (and noted for `store_board_rows`)."""
        source = self.store.snapshot
        try:
            rows, self._stale_rows = self._checked_rows(source)
            for event_id, doc in source.scan(EVENTS).items():
                self._event_model(event_id, doc)
            for record_id, doc in source.scan("incidents").items():
                self._parse("incidents", record_id, doc)
            decisions = list(source.scan("decisions").items())
            for start in range(0, len(decisions), 1000):  # in bulk (much faster), a slice at a time (less memory)
                self._parse_all("decisions", dict(decisions[start:start + 1000]))
        except StoreCorrupt as error:
            self.damaged = error
            raise
        self.damaged = None
        shown = self._view.rows
        if rows != shown:
            kept = {record_id: shown[record_id] if shown.get(record_id) == row else row for record_id, row in rows.items()}
            self.last_changed |= ChangeNotice(records=frozenset(
                RecordRef("release", n) for n in set(rows) | set(shown) if kept.get(n) is not shown.get(n)))
            self._view = replace(self._view, rows=kept)
        return set(self._stale_rows)

    def check_apart(self) -> ChildCheck | None:
        """`validate_all` to be run by a child process, when the data is a file big enough to be worth one
        (see services.check); None: check here."""
        from octotui.services.check import ChildCheck, worth_a_child

        path = self.store.local_file
        return ChildCheck(path, self.settings.signoff) if path is not None and worth_a_child(path) else None

    def take_check(self, report: CheckReport) -> None:
        """What a check apart found, applied to the view (in the worker that owns it): a damaged record is
        raised as here; the stale rows are derived again from their records and noted for `store_board_rows`."""
        if report.problem is not None:
            self.damaged = StoreCorrupt(self.store.location, report.problem)
            raise self.damaged
        self.damaged = None
        source, rows = self.store.snapshot, dict(self._view.rows)
        for release_id in report.stale:
            doc = source.get("releases", release_id)
            if doc is not None and release_id in rows:
                row = self._row(self._parse_release(release_id, doc))
                if row != rows[release_id]:
                    rows[release_id] = row
                    self.last_changed |= ChangeNotice.of(RecordRef("release", release_id))
        if rows != self._view.rows:
            self._view = replace(self._view, rows=rows)
        self._stale_rows = set(report.stale)

    def _checked_rows(self, source: Snapshot) -> tuple[dict[int, BoardRow], set[int]]:
        """Every release checked and its row derived; and the ids whose stored row says something else."""
        rows, stale = {}, set()
        for record_id, doc in source.scan("releases").items():
            row = rows[record_id] = self._row(self._parse_release(record_id, doc))
            if BoardRow.from_doc(record_id, doc) != row:
                stale.add(record_id)
        return rows, stale

    def store_board_rows(self) -> int:
        """Store the board row of every release whose stored row is missing (saved by an octotui before
        rows were stored) or says something else than its record (the sign-off rules changed), so the next
        start paints the board from them at once. Only the row changes: no event, nothing on any timeline.
        Uses what the last `validate_all` found (it finds out itself when none ran)."""
        stale, self._stale_rows = self._stale_rows, set()
        if stale is None:
            stale = self._checked_rows(self.store.snapshot)[1]
        if not stale or self.store.read_only:
            return 0
        stored = 0
        with self._command() as tx:
            for release_id in sorted(stale):
                doc = tx.uow.get("releases", release_id)
                if doc is None:
                    continue
                release = self._parse_release(release_id, doc)
                if BoardRow.from_doc(release_id, doc) != self._row(release):
                    tx.uow.put("releases", release_id, document(release, self.settings.signoff))
                    tx.changed.add(RecordRef("release", release_id))
                    stored += 1
        return stored

