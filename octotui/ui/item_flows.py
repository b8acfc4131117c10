"""Flows a checklist item starts that need more than one screen: a stage checked out of order (asks for the
reason to skip the step before), a due time said back in words, the guide's reference text beside a run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from rich.text import Text

from octotui.domain.clock import local_time, parse_due
from octotui.domain.inputs import InputError
from octotui.domain.lifecycle import StageSkipped
from octotui.domain.models import ChecklistItem, ChecklistRun
from octotui.domain.spoken import said_back
from octotui.domain.text import plain
from octotui.services.workspace import RunRef
from octotui.ui.forms import FormField, FormScreen, prompt
from octotui.ui.widgets import clip, literal

if TYPE_CHECKING:
    from octotui.ui.handle import Octo as OctoApp

AfterCheck = Callable[[ChecklistRun | None], None]


def nearest_shown(wanted: str | None, order: list[str], shown: Mapping[str, object]) -> str | None:
    """`wanted` if it is shown, else the shown row nearest to it in `order` (the one below on a tie)."""
    if wanted is None:
        return None
    if wanted in shown:
        return wanted
    if wanted not in order:
        return None
    here = order.index(wanted)
    candidates = [(abs(position - here), position < here, key) for position, key in enumerate(order) if key in shown]
    return min(candidates)[2] if candidates else None


def stage_skipped(app: OctoApp, ref: RunRef, index: int, action: str, text: str, error: StageSkipped,
                  after: AfterCheck) -> None:
    """Out of order: said with the skipped step; it goes on only with a reason to mark that step N/A."""
    workspace = app.workspace

    def submit(reason: str) -> ChecklistRun:
        if not reason.strip():
            raise InputError({"text": f"a reason is required to skip “{clip(error.skipped_text, 50)}”; "
                                      "Esc goes back to do it first"})
        return workspace.change_item(ref, index, action, text=text, confirm=True, skip_reason=reason)  # type: ignore[arg-type]

    app.push_screen(prompt(str(error), f"Why skip “{clip(error.skipped_text, 50)}”? (recorded as its N/A reason; "
                           "Esc: go back and do it first)", submit), after)


def due_form(app: OctoApp, ref: RunRef, index: int, item: ChecklistItem) -> None:
    """A due time as a person types it, said back in words as it is typed and once saved ("tomorrow 14:00")."""
    workspace = app.workspace

    def submit(values: dict[str, str]) -> ChecklistRun:
        text = values["text"]
        try:
            due = parse_due(text, workspace.now()) if text.strip() else None
        except ValueError as error:
            raise InputError({"text": str(error)}) from None
        return workspace.change_item(ref, index, "due", due=due)

    def said(form: FormScreen, _name: str, text: str) -> None:
        try:
            form.warn("text", f"→ due {said_back(parse_due(text, workspace.now()), workspace.now())}"
                      if text.strip() else "")
        except ValueError:
            form.warn("text", "")

    def saved(run: ChecklistRun | None) -> None:
        due = run.items[index].due if run is not None else None
        if due is not None:
            app.notify(f"Due {said_back(due, workspace.now())}")

    app.push_screen(FormScreen(f"Due time of “{plain(item.text)[:50]}”", [FormField(
        "text", "Due ('in 2h', 'tomorrow 10:00', '16:00', '2026-12-01 10:00'; empty clears)",
        value=local_time(item.due) if item.due else "")], submit, on_change=said), saved)


def reference_text(app: OctoApp, role: str) -> Text:
    """The guide's plain list kept beside the checklist of `role` (its heading and lines), if any."""
    text = Text()
    spec = next((c for c in app.workspace.playbook.checklists.values() if c.role == role), None)
    for name, lines in spec.reference if spec is not None else ():
        text.append(f"\nFrom the guide — {plain(name)}:", style="italic")
        for line in lines:
            text.append("\n  ")
            text.append_text(literal(plain(line), "dim"))
    return text
