"""Issue 29: no lost edit between two people, and history never rewritten (both backends)."""

import pytest

from octotui.comms.reports import release_report
from octotui.domain.inputs import InputError
from octotui.services.releases import EditConflict, form_values
from octotui.services.workspace import RunRef, Workspace

pytestmark = pytest.mark.both_backends


def other(workspace, reopen, author):
    return Workspace(reopen(workspace.store), workspace.playbook, clock=workspace.clock, author=author,
                     settings=workspace.settings)


def test_edits_of_different_fields_by_two_people_merge(workspace, reopen):
    release = workspace.create_release(version="1.0.0", title="first", target_date="2026-12-01")
    ana, ben = other(workspace, reopen, "ana"), other(workspace, reopen, "ben")
    read_a, read_b = form_values(ana.release(release.id)), form_values(ben.release(release.id))
    ana.update_release(release.id, read=read_a, **{**read_a, "title": "renamed by ana"})
    ben.update_release(release.id, read=read_b, **{**read_b, "captain": "ben"})  # the form sends every field
    stored = other(workspace, reopen, "carl").release(release.id)
    assert (stored.title, stored.captain, str(stored.target_date)) == ("renamed by ana", "ben", "2026-12-01")
    assert [(e.by, e.field, e.old, e.new) for e in stored.edits] == [
        ("ana", "title", "first", "renamed by ana"), ("ben", "captain", "", "ben")]


def test_the_same_field_changed_by_both_asks_with_who_and_what(workspace, reopen):
    release = workspace.create_release(version="1.0.0", title="first")
    ana, ben = other(workspace, reopen, "ana"), other(workspace, reopen, "ben")
    read_a, read_b = form_values(ana.release(release.id)), form_values(ben.release(release.id))
    ana.update_release(release.id, read=read_a, **{**read_a, "title": "ana's title"})
    with pytest.raises(EditConflict) as raised:
        ben.update_release(release.id, read=read_b, **{**read_b, "title": "ben's title", "captain": "ben"})
    message = str(raised.value)
    assert "ana changed the title" in message and "ana's title" in message and "ben's title" in message
    stored = other(workspace, reopen, "carl").release(release.id)
    assert (stored.title, stored.captain) == ("ana's title", "")  # nothing of ben's saved yet
    # keep mine: the form now edits against what it was shown
    read_b["title"] = raised.value.conflicts[0].theirs
    ben.update_release(release.id, read=read_b, **{**read_b, "title": "ben's title", "captain": "ben"})
    stored = other(workspace, reopen, "carl").release(release.id)
    assert (stored.title, stored.captain) == ("ben's title", "ben")


def test_the_version_past_gate_passed_is_history(workspace):
    release = workspace.create_release(version="2.4.0", title="shipped")
    for role, count in (("gate", 6), ("deployment", 4)):
        for index in range(count):
            workspace.change_item(RunRef("release", release.id, role), index, "toggle")
    assert workspace.release(release.id).stage.value == "Production"
    read = form_values(workspace.release(release.id))
    with pytest.raises(InputError) as refused:
        workspace.update_release(release.id, read=read, **{**read, "version": "2.4.9"})
    assert "version" in refused.value.errors and "new release" in refused.value.errors["version"]
    assert workspace.release(release.id).version == "2.4.0"
    workspace.update_release(release.id, read=read, **{**read, "title": "shipped on time"})  # the rest stays editable
    assert workspace.release(release.id).version == "2.4.0"


def test_every_edit_and_decision_status_change_is_in_the_report(workspace):
    release = workspace.create_release(version="1.0.0", title="first")
    read = form_values(workspace.release(release.id))
    workspace.update_release(release.id, read=read, **{**read, "title": "second", "captain": "ana",
                                                        "target_date": "2026-12-24"})
    workspace.set_release_notes(release.id, {"summary": "Faster search"})
    decision = workspace.record_decision(title="Ship it", decision="yes", status="proposed", links=release.key)
    workspace.edit_decision(decision.id, status="accepted")
    report = release_report(workspace.release(release.id), workspace)
    assert "## Changes" in report
    for line in ("title: first → second", "captain: — → ana", "target date: — → 2026-12-24",
                 "notes.summary: — → Faster search", "DEC-1 status: proposed → accepted"):
        assert line in report, line
    assert workspace.decision(decision.id).history[-1].describe() == "status: proposed → accepted"
