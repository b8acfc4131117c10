"""The jobs a checklist of the guide can do in the app: one type, stored as its plain value ("gate", ...).

A run of a release or an incident is keyed by its role's value, or, for a checklist of the guide with no
role (an "extra" checklist such as "Security review"), by the slug of its heading.
"""

from __future__ import annotations

from enum import StrEnum

from octotui.domain.inputs import InputError


class ChecklistRole(StrEnum):
    GATE = "gate"
    DEPLOYMENT = "deployment"
    HOTFIX = "hotfix"
    ROLLBACK = "rollback"
    ESCALATION = "escalation"

    @property
    def label(self) -> str:
        return "the gate" if self is ChecklistRole.GATE else self.value

    @property
    def marker(self) -> str:
        return f"<!-- octotui: checklist {self.value} -->"

    def missing_text(self) -> str:
        """What a flow that needs this role says when the guide has none."""
        return f"this guide has no {self.value} checklist (mark one with {self.marker})"


# Only the gate is required of a team's guide: without it no release could be planned.
REQUIRED_ROLES = (ChecklistRole.GATE,)
# A release moves through Staging and Production when a run's item that names them is checked: a checklist
# of these roles without such items would leave releases stuck before Staging or Production.
STAGED_ROLES = (ChecklistRole.DEPLOYMENT, ChecklistRole.HOTFIX)
# What octotui brings when a team's guide has none: its own escalation checklist.
DEFAULTED_ROLES = (ChecklistRole.ESCALATION,)


class MissingChecklist(InputError):
    """A flow needs a checklist the guide does not have: one line saying which and how to mark one."""

    def __init__(self, role: ChecklistRole) -> None:
        super().__init__({"checklist": role.missing_text()})
        self.role = role
