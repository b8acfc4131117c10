"""Screen 1: the release board — releases by stage, with progress; create, edit, cancel, roll back."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Input, Static

from octotui.domain.models import ROLLBACK_FROM, Release, Stage, parse_key
from octotui.domain.semver import ReleaseType
from octotui.services.workspace import InputError
from octotui.ui.forms import ConfirmScreen, FormField, FormScreen
from octotui.ui.widgets import FilterInput, KeyTable, LiveScreen, StatusLine, cell, literal

STAGE_STYLE = {
    Stage.PLANNED: "white", Stage.GATE_PASSED: "cyan", Stage.STAGING: "yellow", Stage.PRODUCTION: "magenta",
    Stage.VERIFIED: "green", Stage.ROLLING_BACK: "bold red", Stage.ROLLED_BACK: "red", Stage.CANCELLED: "dim",
}


def release_flags(release: Release, stage: Stage | None = None) -> str:
    stage = stage or release.stage
    flags = []
    if release.hotfix:
        flags.append("hotfix")
    if release.gate_override is not None:
        flags.append(f"gate overridden (DEC-{release.gate_override})")
    if release.incident_ids:
        flags.append(", ".join(f"INC-{n}" for n in release.incident_ids))
    if stage in (Stage.ROLLING_BACK, Stage.ROLLED_BACK) and release.rollback_reason:
        flags.append(f"rollback: {release.rollback_reason}")
    if stage is Stage.CANCELLED and release.cancel_reason:
        flags.append(f"cancelled: {release.cancel_reason}")
    if release.followup_of:
        flags.append(f"follow-up of REL-{release.followup_of}")
    return " · ".join(flags)


def release_form(app, release: Release | None = None, *, hotfix: bool = False, followup_of: int | None = None,
                 title_prefill: str = "") -> FormScreen:
    """New or edit: Version (focused), Title, Type (suggested from the previous version), Captain, Target date."""
    workspace = app.workspace
    types = [(kind.value, kind.value) for kind in ReleaseType]
    if release is None:
        version = workspace.suggest_version(ReleaseType.PATCH if hotfix or followup_of else ReleaseType.MINOR)
        kind = workspace.suggest_type(version) or ReleaseType.MINOR
        fields = [
            FormField("version", "Version (SemVer, e.g. 1.4.0)", value=version),
            FormField("title", "Title", value=title_prefill),
            FormField("type", "Type (suggested from the previous version)", value=kind.value, kind="select", options=types),
            FormField("captain", "Captain", value=workspace.author),
            FormField("target_date", "Target date (YYYY-MM-DD, optional)"),
        ]
        if hotfix:
            fields.append(FormField("incident", "Incident (INC-n, optional)",
                                    value=f"INC-{app.active_incident_id}" if app.active_incident_id else ""))
    else:
        fields = [
            FormField("version", "Version (SemVer)", value=release.version),
            FormField("title", "Title", value=release.title),
            FormField("type", "Type", value=release.type.value, kind="select", options=types),
            FormField("captain", "Captain", value=release.captain),
            FormField("target_date", "Target date (YYYY-MM-DD, optional)",
                      value=release.target_date.isoformat() if release.target_date else ""),
        ]

    def submit(values: dict[str, str]):
        if release is not None:
            return workspace.update_release(release.id, **values)
        incident_text = values.pop("incident", "").strip()
        incident_id = parse_key(incident_text, "INC") if incident_text else None
        if incident_text and (incident_id is None or workspace.incident(incident_id) is None):
            raise InputError({"incident": f"{incident_text[:20]!r} is not an incident (INC-n)"})
        return workspace.create_release(hotfix=hotfix, followup_of=followup_of, incident_id=incident_id, **values)

    def suggest_type(form: FormScreen, name: str, value: str) -> None:
        if name == "version" and release is None:
            suggested = workspace.suggest_type(value)
            if suggested is not None:
                form.set_value("type", suggested.value)

    heading = ("New hotfix release" if hotfix else "New release") if release is None else Text(f"Edit {release.key}: ") + literal(release.title)
    return FormScreen(heading, fields, submit, on_change=suggest_type)


def start_rollback_flow(app, release: Release) -> None:
    """Confirm with a reason, open the rollback checklist, then offer a linked incident."""
    if release.stage not in ROLLBACK_FROM:
        app.notify(f"{release.key} is {release.stage}: only a release in Staging or later can be rolled back",
                   severity="warning")
        return

    def rolled_back(result) -> None:
        if result is None:
            return
        app.data_changed()
        app.selected_release_id = release.id
        app.checklist_owner = ("release", release.id)
        app.switch_mode("checklist")

        def maybe_incident(start: bool | None) -> None:
            if start:
                app.action_start_incident(release_id=release.id)

        app.push_screen(ConfirmScreen(Text(f"Start an incident linked to {release.key} {release.version}?"),
                                      yes="Start incident", no="Not now"), maybe_incident)

    form = FormScreen(Text(f"Roll back {release.key} {release.version} — ") + literal(release.title),
                      [FormField("reason", "Why roll back? (shown on the board)")],
                      lambda values: app.workspace.start_rollback(release.id, values["reason"]),
                      hint="Enter: roll back and open the rollback checklist · Esc: cancel")
    app.push_screen(form, rolled_back)


class BoardScreen(LiveScreen):
    TITLE = "Release board"
    BINDINGS = [
        Binding("n", "new", "New", id="release.new", tooltip="Create a release"),
        Binding("H", "new_hotfix", "Hotfix", show=False, id="release.hotfix", tooltip="Create a hotfix release (patch, hotfix checklist)"),
        Binding("e", "edit", "Edit", id="release.edit", tooltip="Edit the selected release"),
        Binding("enter", "open", "Open", id="release.open", tooltip="Open the selected release's checklists"),
        Binding("c", "cancel_release", "Cancel", show=False, id="release.cancel", tooltip="Cancel the selected release (asks first)"),
        Binding("r", "rollback", "Roll back", show=False, id="release.rollback", tooltip="Roll back the selected release"),
        Binding("slash", "filter", "Filter", id="release.filter", tooltip="Filter the board by text"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusLine()
        yield FilterInput(placeholder="filter: version, title, captain, stage…", id="board-filter")
        yield KeyTable(id="board")
        yield Static(id="board-summary")
        yield Footer()

    def __init__(self) -> None:
        super().__init__()
        self._built: tuple = ()  # (revision, width, filter) the table was last built for

    def on_mount(self) -> None:
        self.query_one("#board-filter").display = False
        self.reload()
        self.query_one("#board").focus()

    def on_resize(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Rebuild the table only when the data, the width or the filter changed; else just follow the selection."""
        table = self.query_one("#board", KeyTable)
        width = self.size.width or 120
        query = self.query_one("#board-filter", Input).value.casefold().strip()
        key = (self.app.revision, width, query)
        if key == self._built:
            self._follow_selection(table)
            return
        self._built = key
        wide = width >= 100
        releases = self.app.workspace.releases()
        stages = {release.id: release.stage for release in releases}
        visible = [r for r in releases if not query or query in _haystack(r, stages[r.id])]
        table.clear(columns=True)
        fixed = [("ID", 6), ("Version", 12), ("Type", 5)] + ([("Captain", 10), ("Target", 10)] if wide else []) \
            + [("Stage", 12), ("Done", 5)]
        title_width = max(12, width - sum(w for _, w in fixed) - 2 * (len(fixed) + 1) - 2)
        for label, column_width in fixed[:3]:
            table.add_column(label, width=column_width, key=label)
        table.add_column("Title", width=title_width, key="Title")
        for label, column_width in fixed[3:]:
            table.add_column(label, width=column_width, key=label)
        for release in visible:
            done, total = release.progress()
            stage = stages[release.id]
            flags = release_flags(release, stage)
            title = cell(release.title)
            if flags:
                title.append(f"  {flags}", style="italic yellow" if release.gate_override else "dim")
            title.truncate(title_width, overflow="ellipsis")
            row = [cell(release.key), cell(release.version), cell(release.type.value), title]
            if wide:
                row += [cell(release.captain), cell(release.target_date.isoformat() if release.target_date else "—")]
            row += [cell(stage.value, STAGE_STYLE[stage]), cell(f"{done}/{total}")]
            table.add_row(*row, key=str(release.id))
        self._follow_selection(table)
        summary = Text(f"{len(visible)} of {len(releases)} releases", style="dim")
        if not releases:
            summary = Text("No releases yet — press n to create one, or ctrl+p → app: load demo data", style="bold")
        elif query:
            summary.append(f" · filter: {query}", style="dim")
        self.query_one("#board-summary", Static).update(summary)

    def _follow_selection(self, table: KeyTable) -> None:
        selected = self.app.selected_release_id
        if selected is not None and str(selected) in table.rows and table.selected_key() != str(selected):
            table.move_cursor(row=table.get_row_index(str(selected)))

    def on_data_table_row_highlighted(self, event: KeyTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value is not None:
            self.app.selected_release_id = int(event.row_key.value)

    def on_data_table_row_selected(self, event: KeyTable.RowSelected) -> None:
        self.action_open()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#board").focus()

    def selected(self) -> Release | None:
        key = self.query_one("#board", KeyTable).selected_key()
        return self.app.workspace.release(int(key)) if key else None

    def action_new(self) -> None:
        self.app.push_screen(release_form(self.app), self._saved)

    def action_new_hotfix(self) -> None:
        self.app.push_screen(release_form(self.app, hotfix=True), self._saved)

    def _saved(self, release: Release | None) -> None:
        if release is not None:
            self.app.selected_release_id = release.id
            self.app.data_changed()
            self.notify(f"{release.key} {release.version} saved")

    def action_edit(self) -> None:
        release = self.selected()
        if release is None:
            self.notify("Select a release first", severity="warning")
            return
        self.app.push_screen(release_form(self.app, release), self._saved)

    def action_open(self) -> None:
        release = self.selected()
        if release is None:
            return
        self.app.selected_release_id = release.id
        self.app.checklist_owner = ("release", release.id)
        self.app.switch_mode("checklist")

    def action_cancel_release(self) -> None:
        release = self.selected()
        if release is None:
            return
        if release.stage is Stage.CANCELLED:
            self.notify(f"{release.key} is already cancelled", severity="warning")
            return

        def decide(yes: bool | None) -> None:
            if yes:
                self.app.attempt(self.app.workspace.cancel_release, release.id)

        self.app.push_screen(ConfirmScreen(Text(f"Cancel {release.key} {release.version} — ") + literal(release.title) + Text("?"),
                                           yes="Cancel release", no="Keep it"), decide)

    def action_rollback(self) -> None:
        release = self.selected()
        if release is not None:
            start_rollback_flow(self.app, release)

    def action_filter(self) -> None:
        box = self.query_one("#board-filter", Input)
        box.display = True
        box.focus()


def _haystack(release: Release, stage: Stage) -> str:
    return " ".join([release.key, release.version, release.title, release.captain, stage.value,
                     release.type.value, release_flags(release, stage)]).casefold()
