"""Facts about the stored documents that a store needs without knowing the records they hold."""

from __future__ import annotations

# What a board row reads of a release document (domain.board.BoardRow.from_doc): a store can keep these
# apart so a start reads nothing else.
ROW_FIELDS = ("version", "type", "title", "captain", "target_date", "hotfix", "gate_override",
              "gate_override_pending", "incident_ids", "rollback_reason", "cancel_reason", "followup_of", "board")
