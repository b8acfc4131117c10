"""The one registry of the app's actions: each screen's key bindings, the footer, the help screen and the
command palette are all made from `ACTIONS`, so they cannot drift apart.

One entry per action (adding one is one line): its id (also the binding's id, for keymaps), the words the
palette and the help show (`area: what`), what it does (tooltip, help, palette), the Textual action it runs
and where (a screen's mode, or `None` for the whole app), its keys (none: palette only), the short footer
label, and whether it writes. In read-only mode the writing ones are left out of the footer, the help and
the palette, and their keys say "read-only" instead of acting (see `OctoApp.refuse_if_read_only`).

Two entries may share words (the same action reached from two screens, or by two keys): the help and the
palette show them once, the palette preferring the entry of the screen it was opened on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding, BindingType

MODES = ("board", "checklist", "incident", "decisions", "comms", "reports")


@dataclass(frozen=True)
class Action:
    id: str
    words: str  # what the palette and the help call it: "release: new"
    description: str  # what it does: tooltip, help, palette
    action: str  # the Textual action, run on the screen of `screen` (or the app when `screen` is None)
    screen: str | None  # the mode it belongs to; None: anywhere
    keys: str = ""  # Textual key names, comma-separated; "" for a palette-only action
    label: str = ""  # the footer's short label (default: the words after "area: ")
    show: bool = False  # shown in the footer
    writes: bool = False  # changes the database (or writes files): hidden and refused when read-only
    priority: bool = False  # works even while a text field has focus

    @property
    def footer_label(self) -> str:
        return self.label or self.words.split(": ", 1)[-1].capitalize()

    @property
    def name(self) -> str:
        """The action's method name, without namespace or parameters: `app.switch_mode('board')` → `switch_mode`."""
        return self.action.split("(", 1)[0].rsplit(".", 1)[-1]

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.footer_label, show=self.show, priority=self.priority,
                       id=self.id, tooltip=self.description)


def _a(id: str, words: str, description: str, action: str, screen: str | None, keys: str = "", *,
       label: str = "", show: bool = False, writes: bool = False, priority: bool = False) -> Action:
    return Action(id, words, description, action, screen, keys, label, show, writes, priority)


B, C, I, D, M, R = MODES  # noqa: E741 - the six screens, short for the table below

ACTIONS: tuple[Action, ...] = (
    # -- anywhere ---------------------------------------------------------------------------------------------
    _a("view.board", "view: release board", "Show the release board", "app.switch_mode('board')", None, "1", label="Board"),
    _a("view.checklist", "view: checklist", "Show the checklists of the selected release or incident",
       "app.switch_mode('checklist')", None, "2", label="Checklist"),
    _a("view.incident", "view: incident", "Show the active incident", "app.switch_mode('incident')", None, "3", label="Incident"),
    _a("view.decisions", "view: decision log", "Show the decision log", "app.switch_mode('decisions')", None, "4", label="Decisions"),
    _a("view.comms", "view: comms", "Show the communication templates", "app.switch_mode('comms')", None, "5", label="Comms"),
    _a("view.reports", "view: reports", "Show the reports: deploys, lead time, change failures, recovery, MTTA/MTTR",
       "app.switch_mode('reports')", None, "6", label="Reports"),
    _a("incident.start", "incident: start", "Start an incident: title, severity; the clock runs at once",
       "app.start_incident", None, "i", label="Incident!", show=True, writes=True),
    _a("incident.note", "incident: add timeline note", "Add a note to the active incident's timeline",
       "app.timeline_note", None, "t", label="Note", writes=True),
    _a("decision.record", "decision: record", "Record a decision, prefilled with the current release, incident and item",
       "app.record_decision", None, "D", label="Decision", writes=True),
    _a("app.help", "app: help", "Every key of the current screen", "app.help", None, "question_mark,f1", label="Help", show=True),
    _a("app.quit", "app: quit", "Quit: every change is already saved", "app.quit", None, "q", label="Quit", show=True),
    # ctrl+q works from anywhere, modals and text fields included (q there is just a letter).
    _a("app.quit_anywhere", "app: quit", "Quit: every change is already saved", "app.quit", None, "ctrl+q",
       label="Quit", priority=True),
    _a("release.report", "release: report",
       "Copy the report of the release this screen shows (stages, every check, sign-offs, incidents, notes)",
       "app.release_report", None),
    _a("app.load_demo", "app: load demo data", "Add the demo releases, incident and decisions", "app.load_demo", None,
       writes=True),
    # -- the release board ------------------------------------------------------------------------------------
    _a("release.new", "release: new", "Create a release (version, title, type, captain, target date)", "new", B, "n",
       label="New", show=True, writes=True),
    _a("release.hotfix", "release: new hotfix", "Create a hotfix release (patch, hotfix checklist)", "new_hotfix", B, "H",
       label="Hotfix", writes=True),
    _a("release.edit", "release: edit", "Edit the selected release", "edit", B, "e", label="Edit", show=True, writes=True),
    _a("release.open", "release: open checklists", "Open the selected release's checklists", "open", B, "enter",
       label="Open", show=True),
    _a("release.cancel", "release: cancel", "Cancel the selected release before Production (a reason is required)",
       "cancel_release", B, "c", label="Cancel", writes=True),
    _a("release.reopen", "release: reopen", "Reopen a Verified, Rolled back or Cancelled release (a reason is required)",
       "reopen", B, "O", label="Reopen", writes=True),
    _a("release.rollback", "release: roll back", "Roll back the selected release and open its rollback checklist",
       "rollback", B, "r", label="Roll back", writes=True),
    _a("release.filter", "release: filter", "Filter the board by text", "filter", B, "slash", label="Filter", show=True),
    # -- the checklist ----------------------------------------------------------------------------------------
    _a("checklist.toggle", "checklist: check / uncheck", "Check or uncheck the selected item", "toggle_item", C, "space",
       label="Check", show=True, writes=True),
    _a("checklist.na", "checklist: mark N/A", "Mark the selected item N/A (a reason is required)", "na", C, "x",
       label="N/A", show=True, writes=True),
    _a("checklist.note", "checklist: note", "Add or edit a note on the selected item", "note", C, "a", label="Note",
       show=True, writes=True),
    _a("checklist.undo", "checklist: undo", "Undo the last change of this checklist (kept in history)", "undo", C, "u",
       label="Undo", show=True, writes=True),
    _a("checklist.history", "checklist: item history", "Show the selected item's history", "history", C, "enter",
       label="History"),
    _a("checklist.override", "checklist: override gate", "Record a decision that lets the release past the gate",
       "override_gate", C, "g", label="Override gate", writes=True),
    _a("checklist.rollback", "release: roll back", "Roll back this release and open its rollback checklist",
       "rollback", C, "r", label="Roll back", writes=True),
    _a("checklist.edit", "release: edit", "Edit this release", "edit", C, "e", label="Edit", writes=True),
    _a("checklist.signoff", "release: sign off", "Sign off this release (who, when, an optional note)", "sign_off", C, "s",
       label="Sign off", writes=True),
    _a("checklist.owner", "checklist: assign owner", "Assign the selected item to a person", "assign", C, "o",
       label="Owner", writes=True),
    _a("checklist.due", "checklist: set due time", "Give the selected item a due time", "due", C, "d", label="Due",
       writes=True),
    _a("checklist.mine", "checklist: only mine", "Only items assigned to me, across releases", "mine", C, "m", label="Mine"),
    _a("checklist.reopen", "release: reopen", "Reopen this locked release (a reason is required)", "reopen", C, "O",
       label="Reopen", writes=True),
    _a("checklist.next_section", "checklist: next section", "Jump to the next checklist", "section(1)", C,
       "right_square_bracket", label="Next section"),
    _a("checklist.previous_section", "checklist: previous section", "Jump to the previous checklist", "section(-1)", C,
       "left_square_bracket", label="Previous section"),
    # -- the incident -----------------------------------------------------------------------------------------
    _a("incident.acknowledge", "incident: acknowledge", "Acknowledge: someone has the incident (sets the milestone)",
       "acknowledge", I, "a", label="Ack", show=True, writes=True),
    _a("incident.resolve", "incident: resolve", "Resolve the incident (lists what is unfinished first; Enter cancels)",
       "resolve", I, writes=True),
    _a("incident.status", "incident: change status", "Advance or pick the incident status", "status", I, "s",
       label="Status", show=True, writes=True),
    _a("incident.update_form", "incident: status update form", "Status, impact, current actions, next update: copy and record",
       "status_update", I, "u", label="Update", show=True, writes=True),
    _a("incident.severity", "incident: change severity", "Change the incident severity", "severity", I, "v",
       label="Severity", show=True, writes=True),
    _a("incident.roles", "incident: assign role", "Assign or hand off commander, comms lead, tech lead", "assign", I, "o",
       label="Roles", show=True, writes=True),
    _a("incident.copy_update", "incident: copy status update",
       "Copy the initial notification, then status updates; recorded as sent", "copy_update", I, "y",
       label="Copy update", show=True, writes=True),
    _a("incident.link", "incident: link or unlink a release", "Link the incident to a release on the board, both ways",
       "link_release", I, "l", label="Link", show=True, writes=True),
    _a("incident.new_note", "incident: add timeline note", "Add a note to the active incident's timeline",
       "app.timeline_note", I, "n", label="Note", show=True, writes=True),
    _a("incident.checklists", "incident: open checklists", "Escalation checklist and linked hotfix/rollback runs",
       "checklists", I, "c", label="Checklists", show=True),
    _a("incident.rollback", "incident: roll back a release", "Roll back a release for this incident (its events land here)",
       "rollback", I, "R", label="Roll back", writes=True),
    _a("incident.title", "incident: edit title", "Change the incident title (on the timeline)", "title", I, "T",
       label="Title", writes=True),
    _a("incident.channel", "incident: coordination channel", "Note the channel the team coordinates in", "channel", I, "C",
       label="Channel", writes=True),
    _a("incident.followup", "incident: add follow-up item", "A follow-up for after the incident (the postmortem lists it)",
       "followup", I, "f", label="Follow-up", writes=True),
    _a("incident.details", "incident: read in full", "Title, impact, current actions without truncation", "details", I, "d",
       label="Details"),
    _a("incident.milestone", "incident: edit milestone", "Backdate or correct a milestone time", "milestone", I, "m",
       label="Milestone", writes=True),
    _a("incident.impact", "incident: set impact", "Describe the customer impact", "impact", I, "p", label="Impact",
       writes=True),
    _a("incident.actions", "incident: set current actions", "What is being done now (goes into updates)", "actions", I, "w",
       label="Actions", writes=True),
    _a("incident.snooze", "incident: snooze update reminder", "Snooze the next-update reminder 5 minutes (recorded)",
       "snooze", I, "z", label="Snooze", writes=True),
    _a("incident.hotfix", "incident: new hotfix release", "Create a hotfix release linked to the active incident", "hotfix",
       I, "H", label="Hotfix", writes=True),
    _a("incident.next", "incident: switch", "Switch to the next open incident", "next_incident", I, "right_square_bracket",
       label="Next incident"),
    # -- the decision log -------------------------------------------------------------------------------------
    _a("decision.new", "decision: record", "Record a decision, prefilled with the current release, incident and item",
       "new", D, "n", label="New", show=True, writes=True),
    _a("decision.open", "decision: open", "Show the full record and its links", "open", D, "enter", label="Open", show=True),
    _a("decision.edit", "decision: edit", "Edit the selected decision (history kept)", "edit", D, "e", label="Edit",
       show=True, writes=True),
    _a("decision.supersede", "decision: supersede", "Supersede the selected decision with a new one", "supersede", D, "S",
       label="Supersede", show=True, writes=True),
    _a("decision.superseded_by", "decision: mark superseded by an existing one",
       "Mark the selected decision as superseded by an existing DEC-m", "superseded_by", D, "B", label="Superseded by…",
       writes=True),
    _a("decision.search", "decision: search", "Search title, context and decision text as you type", "filter", D, "slash",
       label="Search", show=True),
    _a("decision.status_filter", "decision: filter by status",
       "Cycle all / proposed / accepted / rejected / deprecated / superseded", "cycle_status", D, "f",
       label="Status filter", show=True),
    _a("decision.link_filter", "decision: filter by link", "Only decisions linked to REL-n or INC-n", "filter_link", D, "l",
       label="Link filter"),
    _a("decision.copy_log", "decisions: copy log", "Copy the whole decision log as Markdown", "copy_log", D, "y",
       label="Copy log"),
    _a("decision.madr", "decisions: export MADR", "Write one MADR file per decision to a folder", "export_madr", D, "M",
       label="MADR", writes=True),
    # -- comms ------------------------------------------------------------------------------------------------
    _a("comms.copy", "comms: copy", "Copy the selected template to the clipboard", "copy", M, "y", label="Copy", show=True),
    _a("comms.postmortem", "comms: postmortem", "Show the postmortem draft of the incident (y copies it)", "postmortem", M),
    _a("comms.edit", "comms: edit", "Edit the filled text before copying (kept with the record)", "edit", M, "e",
       label="Edit", show=True, writes=True),
    _a("comms.revert", "comms: revert edit", "Drop the edit: back to the live fill of the template", "revert", M, "R",
       label="Revert", writes=True),
    _a("comms.notes", "comms: edit release notes", "Edit the release notes fields of the release", "release_notes", M, "E",
       label="Notes fields", show=True, writes=True),
    _a("comms.post", "comms: post", "Post the selected template to its channels (shows the text and each destination first)",
       "post", M, "p", label="Post", show=True, writes=True),
    _a("comms.retry", "outbox: retry now", "Try the highlighted outbox message's failed destinations now", "retry", M, "r",
       label="Retry now", writes=True),
    _a("comms.give_up", "outbox: give up", "Stop trying the highlighted outbox message (recorded)", "give_up", M, "g",
       label="Give up", writes=True),
    # -- reports ----------------------------------------------------------------------------------------------
    _a("reports.period", "reports: change period", "Last 30 / 90 / 365 days / all", "next_period", R, "p",
       label="Period", show=True),
    _a("reports.since_until", "reports: since/until", "Report a period from one date to another", "choose_period", R, "s",
       label="Since/until", show=True),
)

BY_ID = {action.id: action for action in ACTIONS}
assert len(BY_ID) == len(ACTIONS), "action ids are unique"


def bindings(screen: str | None) -> list[BindingType]:
    """The key bindings of one screen (a mode), or of the app (None)."""
    return [action.binding() for action in ACTIONS if action.screen == screen and action.keys]


def for_screen(screen: str | None, *, read_only: bool = False) -> list[Action]:
    """What a person can do on `screen`: its own actions first, then the app's, once per words."""
    return _once([action for action in ACTIONS if action.screen == screen and action.screen is not None]
                 + [action for action in ACTIONS if action.screen is None], read_only)


def palette(screen: str | None, *, read_only: bool = False) -> list[Action]:
    """Every action of the app, once per words: the current screen's entry where two share them."""
    here = [action for action in ACTIONS if action.screen == screen and screen is not None]
    return _once(here + [action for action in ACTIONS if action not in here], read_only)


def _once(actions: Iterable[Action], read_only: bool) -> list[Action]:
    seen: dict[str, Action] = {}
    for action in actions:
        if not (read_only and action.writes):
            seen.setdefault(action.words, action)
    return list(seen.values())


def keys_of(words: str, screen: str | None) -> list[str]:
    """Every key that runs the action called `words` on `screen` (its own and the app's)."""
    return [key.strip() for action in ACTIONS if action.words == words and action.screen in (screen, None)
            for key in action.keys.split(",") if key.strip()]


def writes(binding_id: str | None) -> bool:
    """Does the binding with this id change anything?"""
    action = BY_ID.get(binding_id or "")
    return action is not None and action.writes


def is_write(screen: str | None, name: str) -> bool:
    """Is the action method `name` on `screen` (None: the app) one that writes?"""
    return any(action.writes and action.name == name and _namespace(action) == screen for action in ACTIONS)


def _namespace(action: Action) -> str | None:
    return None if action.action.startswith("app.") else action.screen
