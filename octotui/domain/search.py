"""Decision search in the core: a prepared index, narrowed as the person types."""

from __future__ import annotations

from octotui.domain.models import Decision, DecisionStatus


class DecisionIndex:
    """Newest-first ids with their searchable text (title, context, decision), case-folded."""

    def __init__(self, decisions: dict[int, Decision]) -> None:
        self.decisions = decisions
        self.order = sorted(decisions, reverse=True)
        self._text = {i: f"{d.key}\n{d.title}\n{d.context}\n{d.decision}".casefold() for i, d in decisions.items()}
        self._last: tuple[tuple[tuple[str, ...], tuple[DecisionStatus | None, int | None, int | None]], list[int]] | None = None

    def search(self, query: str = "", status: DecisionStatus | None = None, release_id: int | None = None,
               incident_id: int | None = None) -> list[int]:
        terms = query.casefold().split()
        filters = (status, release_id, incident_id)
        candidates = self.order
        if self._last is not None:
            (last_terms, last_filters), last_result = self._last
            # Typing one more character only narrows: search within the previous hits.
            # Every hit of the new query contains each old term if each old term lies inside a new one.
            if last_filters == filters and all(any(old in new for new in terms) for old in last_terms):
                candidates = last_result
        if not terms and filters == (None, None, None):
            result = list(candidates)  # everything, newest first: nothing to test
            self._last = ((tuple(terms), filters), result)
            return result
        result = []
        for decision_id in candidates:
            decision = self.decisions[decision_id]
            if status is not None and decision.status is not status:
                continue
            if release_id is not None and release_id not in decision.release_ids:
                continue
            if incident_id is not None and incident_id not in decision.incident_ids:
                continue
            text = self._text[decision_id]
            if all(term in text for term in terms):
                result.append(decision_id)
        self._last = ((tuple(terms), filters), result)
        return result
