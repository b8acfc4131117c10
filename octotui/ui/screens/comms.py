"""Screen 5: communication templates filled from live state, previewed, edited, copied with one key."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from octotui.comms.templates import CommsTemplate, render
from octotui.domain.models import Incident, Release
from octotui.domain.refs import KINDS, Shows
from octotui.ui import actions
from octotui.ui.flows import copy_template, release_notes_form, text_to_send
from octotui.ui.forms import EditTextScreen
from octotui.ui.widgets import LiveScreen, StatusLine, clip, literal


class CommsScreen(LiveScreen):
    TITLE = "Comms"
    MODE = "comms"
    BINDINGS = actions.bindings(MODE)  # from the one registry (ui/actions.py)
    SHOWS = Shows.of(*KINDS, outbox=True)

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusLine()
        yield Static(id="comms-context")
        with Horizontal(id="comms-body"):
            yield OptionList(id="templates")
            with VerticalScroll(id="preview-scroll"):
                yield Static(id="comms-missing")
                yield Static(id="preview")
        yield Static(Text("Outbox (r retries now, g gives up)", style="bold"), id="outbox-heading")
        yield OptionList(id="outbox")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#templates").focus()

    def posting(self) -> bool:
        return bool(self.octo.workspace.settings.channels)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("post", "retry", "give_up") and not self.posting():
            return False  # hidden where no channel is configured: copying is the way then
        return super().check_action(action, parameters)

    def owners(self) -> tuple[Release | None, Incident | None]:
        workspace = self.octo.workspace
        release = workspace.release(self.octo.selected_release_id) if self.octo.selected_release_id else None
        incident = workspace.incident(self.octo.active_incident_id) if self.octo.active_incident_id else None
        return release, incident

    def shown_release(self) -> Release | None:
        return self.owners()[0]

    def decision_context(self) -> dict[str, Any]:
        """The record the highlighted template is about: its release, or its incident."""
        release, incident = self.owners()
        options = self.query_one("#templates", OptionList)
        chosen = self.octo.templates.get(str(options.highlighted_option.id)) if options.highlighted_option else None
        owner = (release if chosen.context == "release" else incident) if chosen is not None else None
        return {"links": owner.key if owner is not None else ""}

    def reload(self) -> None:
        release, incident = self.owners()
        context = Text("For: ", style="dim")
        if release is not None:
            context.append(f"{release.key} {release.version} ", style="bold")
            context.append_text(literal(clip(release.title, 40)))
        if incident is not None:
            context.append("  ·  " if release else "")
            context.append(f"{incident.key} {incident.severity} ", style="bold red")
            context.append_text(literal(clip(incident.title, 40)))
        if release is None and incident is None:
            context = Text("Select a release on the board (1) or start an incident (i): templates fill from them.", style="bold")
        self.query_one("#comms-context", Static).update(context)
        options = self.query_one("#templates", OptionList)
        previous = options.highlighted_option.id if options.highlighted_option else None
        entries = [(t, owner) for t in self.octo.templates.values()
                   for owner in [release if t.context == "release" else incident] if owner is not None]
        # Incident templates first when an incident is running: that is when time matters.
        entries.sort(key=lambda pair: (pair[0].context != ("incident" if incident else "release"), pair[0].title))
        options.clear_options()
        for template, owner in entries:
            label = Text(template.title)
            if template.name in owner.comms:
                label.append(" (edited)", style="yellow")
            options.add_option(Option(label, id=template.name))
        ids = [t.name for t, _ in entries]
        if ids:
            options.highlighted = ids.index(previous) if previous in ids else 0
        self._show_preview()
        self._show_outbox()

    def _show_outbox(self) -> None:
        from octotui.ui.posting import outbox_options

        pane = self.query_one("#outbox", OptionList)
        shown = self.posting()
        pane.display = self.query_one("#outbox-heading").display = shown
        if shown:
            outbox_options(self.octo, pane)

    def selected(self) -> tuple[CommsTemplate, Release | Incident] | None:
        options = self.query_one("#templates", OptionList)
        option = options.highlighted_option
        if option is None or option.id is None:
            return None
        template = self.octo.templates[option.id]
        release, incident = self.owners()
        owner = release if template.context == "release" else incident
        return (template, owner) if owner is not None else None

    def on_option_list_option_highlighted(self, _event: OptionList.OptionHighlighted) -> None:
        self._show_preview()

    def on_option_list_option_selected(self, _event: OptionList.OptionSelected) -> None:
        self.action_copy()

    def _show_preview(self) -> None:
        preview = self.query_one("#preview", Static)
        missing = self.query_one("#comms-missing", Static)
        chosen = self.selected()
        if chosen is None:
            preview.update("")
            missing.update("")
            return
        template, owner = chosen
        filled, promised = text_to_send(self.octo, template, owner)  # what a copy sends, promise included
        preview.update(literal(filled.text))
        note = Text()
        if filled.edited:
            note.append("Edited text (R reverts to the live fill). ", style="yellow")
        if filled.missing:
            note.append(f"Missing: {', '.join(filled.missing)}", style="bold red")
            if template.name.startswith("release"):
                note.append(" — E edits the release notes fields", style="dim")
        for problem in filled.problems:
            note.append(("\n" if note else "") + f"Not true now: {problem}", style="bold red")
        if not filled.missing and not filled.problems:
            note.append("All values filled.", style="green")
        if template.records_copy and not filled.problems:
            note.append("   Copying records it as sent once the text reached somewhere"
                        + (f" (next update by {self.octo.workspace.people_time(promised, with_date=False)})."
                           if promised else "."), style="dim")
        missing.update(note)

    def action_postmortem(self) -> None:
        """Show the postmortem draft of the active incident (y copies it)."""
        ids = [option.id for option in self.query_one("#templates", OptionList).options]
        if "postmortem" not in ids:
            self.notify("No postmortem: start or pick an incident first (3)", severity="warning")
            return
        self.query_one("#templates", OptionList).highlighted = ids.index("postmortem")

    def action_copy(self) -> None:
        chosen = self.selected()
        if chosen is None:
            self.notify("Nothing to copy: select a release or start an incident first", severity="warning")
            return
        copy_template(self.octo, *chosen)

    def action_post(self) -> None:
        from octotui.ui.flows import post_template

        chosen = self.selected()
        if chosen is None:
            self.notify("Nothing to post: select a release or start an incident first", severity="warning")
            return
        post_template(self.octo, *chosen)

    def _outbox_message(self) -> int | None:
        option = self.query_one("#outbox", OptionList).highlighted_option
        return int(option.id) if option is not None and option.id and option.id.isdigit() else None

    def action_retry(self) -> None:
        from octotui.ui.posting import outbox_runner

        runner = outbox_runner(self.octo)
        runner.act(runner.outbox.retry_now, self._outbox_message(), done="Trying again now")

    def action_give_up(self) -> None:
        message_id = self._outbox_message()
        if message_id is None:
            self.notify("Highlight a message in the outbox first", severity="warning")
            return
        from octotui.ui.posting import outbox_runner

        runner = outbox_runner(self.octo)
        runner.act(runner.outbox.give_up, message_id, done=f"Gave up on #{message_id} (recorded)")

    def action_edit(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        template, owner = chosen
        filled = render(template, owner, self.octo.workspace)
        kind = "release" if isinstance(owner, Release) else "incident"

        def keep(text: str | None) -> None:
            if text is not None:
                self.octo.run_command_async(self.octo.workspace.set_comms_text, kind, owner.id, template.name, text)

        self.octo.push_screen(EditTextScreen(f"{template.title} — {owner.key}", filled.text), keep)

    def action_revert(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        template, owner = chosen
        if template.name in owner.comms:
            kind = "release" if isinstance(owner, Release) else "incident"
            self.octo.run_command_async(self.octo.workspace.set_comms_text, kind, owner.id, template.name, None)
            self.notify(f"{template.title}: back to the live fill")

    def action_release_notes(self) -> None:
        release, _incident = self.owners()
        if release is None:
            self.notify("Select a release on the board first", severity="warning")
            return
        self.octo.push_screen(release_notes_form(self.octo, release))
