"""A small, realistic data set: offered on first start, and the fixed input of the screenshots."""

from __future__ import annotations

from datetime import datetime, timedelta

from octotui.domain.clock import FrozenClock
from octotui.domain.inputs import InputError
from octotui.domain.models import IncidentStatus, Severity
from octotui.domain.playbook import Playbook, bundled_playbook
from octotui.domain.refs import RunRef
from octotui.domain.roles import ChecklistRole
from octotui.services.demo_history import add_history
from octotui.services.workspace import Workspace

# The replay checks items by their place in the bundled guide's checklists of these roles.
DEMO_ROLES = (ChecklistRole.GATE, ChecklistRole.DEPLOYMENT, ChecklistRole.HOTFIX, ChecklistRole.ROLLBACK,
              ChecklistRole.ESCALATION)


class DemoNeedsBundledGuide(InputError):
    """The small demo replays the bundled guide's checklists item by item: another guide's would be other steps."""

    def __init__(self, reason: str) -> None:
        super().__init__({"demo": f"{reason}; the demo data follows octotui's bundled guide: load it without "
                                  "--playbook (a team's guide works with `octotui demo --size N`)"})


def demo_refusal(playbook: Playbook) -> str | None:
    """Why the small demo cannot be replayed with this guide, or None when its checklists are the bundled ones."""
    bundled = bundled_playbook()  # parsed once per process
    for role in DEMO_ROLES:
        if not playbook.has(role):
            return f"this guide has no {role} checklist"
        if [item.text for item in playbook.by_role(role).items] != [item.text for item in bundled.by_role(role).items]:
            return f"this guide's {role} checklist is not the bundled guide's"
    return None


def load_demo(workspace: Workspace) -> None:
    """Replay three days of a team's work, ending at the workspace's current time, after twenty weeks of
    shipped releases and resolved incidents (services.demo_history).

    The replay runs on its own workspace (its own clock and authors) over the same store, so whoever
    reads `workspace` meanwhile (the UI's clocks) never sees the replay's past time; `workspace` then
    takes in everything the replay wrote. Another guide than the bundled one is refused before anything is written."""
    if (reason := demo_refusal(workspace.playbook)) is not None:
        raise DemoNeedsBundledGuide(reason)
    end = workspace.now()
    clock = FrozenClock(end - timedelta(days=3))
    replay = Workspace(workspace.store, workspace.playbook, clock=clock, author="maria", settings=workspace.settings)
    _replay(replay, clock, end)
    add_history(replay, end - timedelta(days=3))  # the months before, for the reports: after, so ids stay
    workspace.refresh()


def _check(workspace: Workspace, clock: FrozenClock, ref: RunRef, indexes: range | list[int], minutes: float = 7) -> None:
    for index in indexes:
        clock.advance(minutes=minutes)
        workspace.change_item(ref, index, "toggle", confirm=True)


def _replay(ws: Workspace, clock: FrozenClock, end: datetime) -> None:
    today = end.astimezone().date()
    ws.author = "maria"
    shipped = ws.create_release(version="2.3.0", title="Checkout redesign", captain="maria", type="minor",
                                target_date=today + timedelta(days=1))
    _check(ws, clock, RunRef("release", shipped.id, ChecklistRole.GATE), range(6))
    _check(ws, clock, RunRef("release", shipped.id, ChecklistRole.DEPLOYMENT), range(7))

    carts = ws.create_release(version="2.4.0", title="Saved carts", captain="maria", target_date=today + timedelta(days=2))
    _check(ws, clock, RunRef("release", carts.id, ChecklistRole.GATE), range(6))
    deployment = RunRef("release", carts.id, ChecklistRole.DEPLOYMENT)
    _check(ws, clock, deployment, [0])
    ws.change_item(deployment, 1, "na", text="Stateless service, nothing to snapshot")
    _check(ws, clock, deployment, [2, 3])
    ws.record_decision(title="Ship saved carts behind a flag", context="Carts service load is unknown at peak.",
                       decision="Enable for 10% of users first, then widen daily.",
                       alternatives="Big-bang launch; delay until after the sale.",
                       consequences="Two code paths for a week.", links=carts.key, item_ref=deployment, item_index=6)

    ws.author = "lee"
    old = ws.create_release(version="2.2.1", title="Legacy cart cleanup", captain="lee", type="patch",
                            target_date=today)
    _check(ws, clock, RunRef("release", old.id, ChecklistRole.GATE), range(6), minutes=1)
    _check(ws, clock, RunRef("release", old.id, ChecklistRole.DEPLOYMENT), range(4), minutes=1)
    ws.start_rollback(old.id, "Orders API 5xx rose to 4% after deploy")
    _check(ws, clock, RunRef("release", old.id, ChecklistRole.ROLLBACK), range(7), minutes=2)

    search = ws.create_release(version="2.5.0", title="Search relevance tuning", captain="lee",
                               target_date=today + timedelta(days=7))
    gate = RunRef("release", search.id, ChecklistRole.GATE)
    _check(ws, clock, gate, range(5))
    ws.change_item(gate, 5, "na", text="No new decisions: tuning only")

    ws.author = "priya"
    loyalty = ws.create_release(version="2.6.0", title="Loyalty points", captain="priya",
                                target_date=today + timedelta(days=14))
    loyalty_gate = RunRef("release", loyalty.id, ChecklistRole.GATE)
    _check(ws, clock, loyalty_gate, [0, 1])
    ws.change_item(loyalty_gate, 2, "note", text="Draft in the wiki; waiting on legal wording")
    ws.change_item(loyalty_gate, 4, "na", text="Covered by the contract test suite")

    ws.create_release(version="3.0.0", title="Public API v3 (breaking)", captain="priya", type="major",
                      target_date=today + timedelta(days=30))
    dropped = ws.create_release(version="2.5.1", title="Dark mode for admin", captain="lee",
                                target_date=today + timedelta(days=10))
    ws.cancel_release(dropped.id, "Folded into 2.6.0")

    ws.author = "maria"
    ws.record_decision(title="Adopt SemVer for all services", context="Release numbers meant different things per team.",
                       decision="Every service follows SemVer 2.0; breaking API changes need a major release.",
                       alternatives="Calendar versions.", consequences="Some services jump to 1.0.0.",
                       status="accepted")
    ws.record_decision(title="Rollback before root cause during peak hours",
                       context="Diagnosing under load prolonged INC outages last quarter.",
                       decision="During peak, roll back first and investigate after.", status="proposed",
                       links=f"{old.key}")
    clock.set(end - timedelta(minutes=70))
    ws.author = "sam"
    incident = ws.start_incident("Checkout errors after 2.4.0", Severity.P1, started_at=clock.now() - timedelta(minutes=4),
                                 release_id=carts.id, impact="About 3% of checkouts fail with HTTP 500")
    clock.advance(minutes=3)
    ws.assign_role(incident.id, "comms", "devi")
    ws.assign_role(incident.id, "tech", "ana")
    clock.advance(minutes=2)
    ws.set_status(incident.id, IncidentStatus.IDENTIFIED)
    ws.add_note(incident.id, "Coupon rounding throws on carts with a saved discount")
    escalation = RunRef("incident", incident.id, ChecklistRole.ESCALATION)
    ws.set_channel(incident.id, "#inc-checkout-500")
    _check(ws, clock, escalation, [1], minutes=2)  # severity, channel and roles were ticked by the app
    ws.author = "devi"
    ws.record_sent(incident.id, "Incident initial notification", counts_as_update=True, fact="update")
    ws.author = "sam"
    hotfix = ws.create_release(version="2.4.1", title="Fix coupon rounding", captain="sam", type="patch", hotfix=True,
                               incident_id=incident.id, target_date=today)
    _check(ws, clock, RunRef("release", hotfix.id, ChecklistRole.GATE), range(6), minutes=2)
    _check(ws, clock, RunRef("release", hotfix.id, ChecklistRole.HOTFIX), range(6), minutes=1.5)
    clock.set(end - timedelta(minutes=35))  # the last update: 30-minute cadence, so 5 minutes overdue now
    ws.author = "devi"
    ws.record_sent(incident.id, "Incident status update", counts_as_update=True, fact="update")
    ws.author = "sam"
    clock.set(end - timedelta(minutes=20))
    ws.set_status(incident.id, IncidentStatus.MITIGATED)
    ws.add_note(incident.id, "Hotfix 2.4.1 on staging; error rate back to baseline there")

    clock.set(end - timedelta(minutes=9))
    ws.add_note(incident.id, "Monitoring error rate on production canary")
    ws.set_current_actions(incident.id, "Rolling 2.4.1 out to the production canary")
