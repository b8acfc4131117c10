"""Modal screens: a generic form with errors next to its fields, confirmation, choice, text editor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets._select import SelectOverlay
from textual.widgets.option_list import Option

from octotui.domain.inputs import MAX_TEXT, InputError, NeedsConfirmation, check_length
from octotui.services import actions
from octotui.storage.errors import StoreError, StoreOutcomeUnknown
from octotui.ui.errors import not_saved_text
from octotui.ui.widgets import FieldError, literal

if TYPE_CHECKING:
    from octotui.ui.handle import Octo as OctoApp

Result = TypeVar("Result")


class Modal(ModalScreen[Result]):
    """A modal with a typed handle on the app."""

    @property
    def octo(self) -> OctoApp:
        return cast("OctoApp", self.app)


class ChoiceSelect(Select[str]):
    """A Select that says when a person picked from its list, even the value it already had (Select itself
    only posts Changed for a new value, so Enter on an unchanged choice would not move the form on)."""

    class Picked(Message):
        def __init__(self, select: ChoiceSelect) -> None:
            super().__init__()
            self.select = select

    @on(SelectOverlay.UpdateSelection)
    def _picked(self, _event: SelectOverlay.UpdateSelection) -> None:
        self.post_message(self.Picked(self))  # Select's own handler (next in the MRO) sets the value


class FormBody(VerticalScroll, can_focus=False):
    """Scrolls a long form; focus goes to the fields, never to the container."""


@dataclass
class FormField:
    name: str
    label: str
    value: str = ""
    kind: Literal["input", "select", "text"] = "input"  # text: several lines (a TextArea; Enter is a new line)
    options: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (label, value), as Select takes them
    placeholder: str = ""


class FormScreen(Modal[Any]):
    """Fields in order; errors appear under the field; nothing typed is lost on error.

    One rule in every form: Enter moves to the next field and saves on the last; Enter on a choice picks it
    and moves on; Ctrl+S saves from anywhere; Esc with typed text asks first. Focus starts on the first
    field a person must fill (an empty one), not on a prefilled one.
    `submit` runs in the app's command worker (off the loop); the form closes only once it is saved."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel", tooltip="Leave the form without saving"),
        Binding("ctrl+s", "save", "Save", id="form.save", tooltip="Save the form"),
    ]

    def __init__(self, title: str | Text, fields: list[FormField], submit: Callable[[dict[str, str]], Any], *,
                 enter_advances: bool = True, confirm_discard: bool = True, hint: str = "",
                 on_change: Callable[[FormScreen, str, str], None] | None = None, focus: str | None = None,
                 on_refused: Callable[[FormScreen, BaseException], bool] | None = None) -> None:
        super().__init__()
        self.on_refused = on_refused  # a flow's own answer to a refusal (a conflict to ask about): True if handled
        empty = [spec.name for spec in fields if spec.kind != "select" and not spec.value]
        self.first_focus = focus or (empty[0] if empty else fields[0].name)
        self.confirmed = False  # the person said yes to the question the last save raised
        self.form_title = title if isinstance(title, Text) else literal(title)
        self.fields = fields
        self.submit = submit
        self.enter_advances = enter_advances
        self.confirm_discard = confirm_discard
        self.hint = hint or ("Enter: next field (saves on the last) · Ctrl+S: save · Esc: cancel" if len(fields) > 1
                             else "Enter: save · Esc: cancel")
        self.on_change = on_change
        self.saving = False
        self.ready = False  # mounted with its first field focused: until then keys are held, not dropped
        self._held: list[tuple[str, str | None]] = []  # keys typed before it was ready or after Enter
        # One id for this form's change, kept across retries: Enter again can never save it twice.
        self.action_id = actions.new_action_id()

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Static(self.form_title, classes="form-title")
            with FormBody(classes="form-body"):
                for spec in self.fields:
                    yield Label(spec.label, classes="form-label")
                    if spec.kind == "select":
                        # Labels may hold stored text (an incident title): shown literally, never parsed as markup.
                        yield ChoiceSelect([(literal(label), value) for label, value in spec.options],
                                     value=spec.value or Select.NULL, allow_blank=False,
                                     id=f"f-{spec.name}", compact=True)
                    elif spec.kind == "text":
                        yield TextArea(spec.value, id=f"f-{spec.name}", soft_wrap=True, classes="form-text")
                    else:
                        yield Input(value=spec.value, placeholder=spec.placeholder, id=f"f-{spec.name}", compact=True)
                    yield FieldError(id=f"e-{spec.name}", classes="field-error")
            yield FieldError(id="e-_form", classes="field-error")
            yield Static(Text(self.hint, style="dim"), classes="form-hint")

    def on_mount(self) -> None:
        for error in self.query(FieldError):
            error.display = False
        self._initial = self.values()
        for field_input in self.query(Input):
            field_input.cursor_blink = self.octo.cursor_blink
        self.query_one(f"#f-{self.first_focus}").focus()
        self.call_after_refresh(self._become_ready)

    def _become_ready(self) -> None:
        self.ready = True
        self._replay_held()  # what was typed while it opened goes into its fields

    def values(self) -> dict[str, str]:
        values = {}
        for spec in self.fields:
            widget = self.query_one(f"#f-{spec.name}")
            if isinstance(widget, TextArea):
                values[spec.name] = widget.text
                continue
            value = cast(Input | Select[str], widget).value
            values[spec.name] = "" if value is Select.NULL else str(value)
        return values

    def warn(self, name: str, message: str) -> None:
        """A note under a field that does not stop the save (e.g. a type that disagrees with SemVer)."""
        error = self.query_one(f"#e-{name}", FieldError)
        error.update(Text(message, style="yellow"))
        error.display = bool(message)

    def set_value(self, name: str, value: str) -> None:
        widget = cast(Input | Select[str], self.query_one(f"#f-{name}"))
        widget.value = value

    def on_input_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "")[2:]
        self.query_one(f"#e-{name}", FieldError).show("")
        if self.on_change is not None:
            self.on_change(self, name, event.value)

    def on_select_changed(self, event: Select.Changed) -> None:
        name = (event.select.id or "")[2:]
        if self.on_change is not None and self.is_mounted:
            self.on_change(self, name, str(event.value))

    def on_choice_select_picked(self, event: ChoiceSelect.Picked) -> None:
        """Picked from its list with Enter (a new value or the same one): on to the next field."""
        if self.ready and event.select.is_attached:
            self._advance_from((event.select.id or "")[2:])

    def _advance_from(self, name: str) -> None:
        names = [spec.name for spec in self.fields]
        if self.enter_advances and name in names and names.index(name) < len(names) - 1:
            self.set_focus(self.query_one(f"#f-{names[names.index(name) + 1]}"))  # at once: a quick second Enter sees it
        else:
            self.action_save()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = (event.input.id or "")[2:]
        if isinstance(self.focused, Input) and self.focused is not event.input:
            # Enter typed twice quickly: the second came from the field the first one left, and is meant
            # for the field it moved to.
            name = (self.focused.id or "")[2:]
        self._advance_from(name)

    def action_save(self) -> None:
        if self.saving:
            return  # one save at a time; the keys typed meanwhile stay in the fields
        for error in self.query(FieldError):
            error.show("")
        self.saving = True
        self.query_one(".form-hint", Static).update(Text("saving…", style="bold yellow"))
        values = self.values() | ({"_confirmed": "yes"} if self.confirmed else {})
        self.octo.commands.submit(self.submit, values, on_success=self._saved, on_error=self._refused,
                                  action_id=self.action_id)

    def holds_keys(self) -> bool:
        return self.saving or not self.ready

    def hold(self, key: str, character: str | None) -> None:
        """A key typed while this form opens (it is for the form) or while its save is on its way (it is for
        whatever comes next): kept, and replayed in order when that is ready."""
        self._held.append((key, character))

    def _replay_held(self) -> None:
        held, self._held = self._held, []
        if held:  # in order, as if typed now: to the next screen, or into this form
            self.octo.replay_keys(held)

    def _saved(self, result: Any) -> None:
        self.saving = False
        if self.is_attached:
            self.dismiss(result)
        self._replay_held()

    def _refused(self, error: BaseException) -> bool:
        """Show why next to the field (or at the foot of the form); the form stays open, nothing lost."""
        self.saving = False
        self._replay_held()
        if not self.is_attached:
            return False
        self.query_one(".form-hint", Static).update(Text(self.hint, style="dim"))
        if self.on_refused is not None and self.on_refused(self, error):
            return True
        if isinstance(error, NeedsConfirmation):
            def decide(yes: bool | None) -> None:
                if yes:
                    self.confirmed = True
                    self.action_save()
            self.app.push_screen(ConfirmScreen(str(error), yes="Yes, go ahead", no="Not yet",
                                               default="no" if error.careful else "yes"), decide)
            return True
        if isinstance(error, InputError):
            known = {spec.name for spec in self.fields}
            first = None
            for name, message in error.errors.items():
                target = name if name in known else "_form"
                self.query_one(f"#e-{target}", FieldError).show(message)
                first = first or (name if name in known else None)
            if first:
                self.query_one(f"#f-{first}").focus()
            return True
        if isinstance(error, actions.AlreadySaved):  # an earlier try had saved it: this one did nothing
            self.octo.notify("Saved (by the earlier try; not saved twice)")
            self.dismiss(None)
            return True
        if isinstance(error, StoreOutcomeUnknown):
            self._check_outcome()
            return True
        text = not_saved_text(error)
        if text is not None:
            self.query_one("#e-_form", FieldError).show(f"Not saved: {text}")
            return True
        return False  # the app's one presenter (ui.errors) says it

    def _check_outcome(self) -> None:
        """The save's outcome was lost with the connection: say so, and find out (once reconnected)."""
        if not self.is_attached:
            return
        self.query_one("#e-_form", FieldError).show("Not known whether saved — checking…")
        self.octo.commands.submit(actions.saved, self.octo.workspace, self.action_id,
                                  on_success=self._checked, on_error=self._check_failed)

    def _checked(self, saved: bool) -> None:
        if not self.is_attached:
            return
        if saved:
            self.octo.notify("Saved (checked after the connection came back)")
            self.dismiss(None)
        else:
            self.query_one("#e-_form", FieldError).show(
                "Not saved: the connection dropped before it was saved — Enter saves it (once)")

    def _check_failed(self, error: BaseException) -> bool:
        if isinstance(error, StoreError) and self.is_attached:  # still cut off: keep asking, keep saying so
            self.set_timer(1.0, self._check_outcome)
            return True
        return False

    def has_unsaved_text(self) -> bool:
        return self.values() != self._initial

    def action_cancel(self) -> None:
        if self.saving:
            # Already handed to the worker: it will be saved. Closing now would hide that, so say so instead.
            self.query_one("#e-_form", FieldError).show("Saving… this change is already on its way and cannot be "
                                                          "cancelled; the form closes once it is saved.")
            return
        if self.confirm_discard and self.has_unsaved_text():
            def decide(discard: bool | None) -> None:
                if discard:
                    self.dismiss(None)
            self.app.push_screen(ConfirmScreen("Throw away what you typed?", yes="Discard", no="Keep editing"), decide)
            return
        self.dismiss(None)


class IncidentStartForm(FormScreen):
    """Starting an incident must be quick: ↑/↓ change the severity without leaving the title."""

    BINDINGS = [
        Binding("up", "severity(-1)", "Severity up", id="incident_form.more_severe", tooltip="More severe (towards P0)"),
        Binding("down", "severity(1)", "Severity down", id="incident_form.less_severe", tooltip="Less severe (towards P3)"),
    ]

    def action_severity(self, step: int) -> None:
        select = self.query_one("#f-severity", Select)
        values = [value for _label, value in next(f for f in self.fields if f.name == "severity").options]
        select.value = values[max(0, min(len(values) - 1, values.index(str(select.value)) + step))]


class ConfirmScreen(Modal[bool]):
    """A yes/no question. `y` answers yes; `n`/Escape answers no; Enter presses the focused button, which is
    No (`default="no"`) for a destructive choice: Enter never confirms it."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Answer yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="Answer no"),
    ]

    def __init__(self, question: str | Text, yes: str = "Yes", no: str = "No", default: str = "yes") -> None:
        super().__init__()
        self.question = question if isinstance(question, Text) else literal(question)
        self.yes, self.no, self.default = yes, no, default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="primary", id="yes")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no" if self.default == "no" else "#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class ChoiceScreen(Modal[str | None]):
    """Pick one of a few options (status, severity, role); Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel", tooltip="Close without choosing")]

    def __init__(self, title: str, choices: Sequence[tuple[str, str]], current: str | None = None) -> None:
        super().__init__()
        self.title_text, self.choices, self.current = title, choices, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(literal(self.title_text, "bold"), classes="dialog-question")
            yield OptionList(*[Option(literal(label), id=value) for value, label in self.choices], id="choices")

    def on_mount(self) -> None:
        options = self.query_one("#choices", OptionList)
        values = [value for value, _ in self.choices]
        if self.current in values:
            options.highlighted = values.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextScreen(Modal[None]):
    """Read a long text in full (what a narrow terminal cuts off); it scrolls. Esc or q closes."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="text.close", tooltip="Close")]

    def __init__(self, title: str, text: Text) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(classes="form wide"):
            yield Static(literal(self.title_text, "bold"), classes="form-title")
            with VerticalScroll(classes="form-body", id="text-body"):
                yield Static(self.text)
            yield Static(Text("Esc: close", style="dim"), classes="form-hint")

    def on_mount(self) -> None:
        self.query_one("#text-body").focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)


class EditTextScreen(Modal[str | None]):
    """Edit a longer text (a template before copying). Ctrl+S keeps it; Escape asks before discarding."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Keep edit", id="edit.save", tooltip="Keep this text"),
        Binding("escape", "cancel", "Cancel", id="edit.cancel", tooltip="Leave without keeping the edit"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.initial = title, text

    def compose(self) -> ComposeResult:
        with Vertical(classes="form wide"):
            yield Static(literal(self.title_text, "bold"), classes="form-title")
            yield TextArea(self.initial, id="editor", soft_wrap=True)
            yield FieldError(id="e-text", classes="field-error")
            yield Static(Text(f"Ctrl+S: keep this text · Esc: cancel · up to {MAX_TEXT:,} characters", style="dim"),
                         classes="form-hint")

    def on_mount(self) -> None:
        self.query_one("#e-text", FieldError).display = False
        self.query_one("#editor", TextArea).focus()

    def has_unsaved_text(self) -> bool:
        return self.query_one("#editor", TextArea).text != self.initial

    def action_save(self) -> None:
        text = self.query_one("#editor", TextArea).text
        try:
            check_length("text", "The edited text", text)
        except InputError as error:  # said next to the field; the text stays in the editor
            self.query_one("#e-text", FieldError).show(error.errors["text"])
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        if self.query_one("#editor", TextArea).text == self.initial:
            self.dismiss(None)
            return

        def decide(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)
        self.app.push_screen(ConfirmScreen("Throw away your edit?", yes="Discard", no="Keep editing"), decide)


def prompt(title: str, label: str, submit: Callable[[str], Any], value: str = "", placeholder: str = "") -> FormScreen:
    """A one-field form (an N/A reason, a note, a timeline note): every message shows under its one field."""

    def submit_one(values: dict[str, str]) -> Any:
        try:
            return submit(values["text"])
        except InputError as error:
            raise InputError({"text": "; ".join(error.errors.values())}) from None

    return FormScreen(title, [FormField("text", label, value=value, placeholder=placeholder)], submit_one)
