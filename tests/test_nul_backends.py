"""Both backends take the same text (issue 30 D5): NUL and unpaired surrogates are refused at input on every
backend with one message next to the field; a file that already holds NUL (the hostile fixture) copies into
PostgreSQL, saying what it changed; an undecodable OCTOTUI_USER does not break every save."""

from __future__ import annotations

import json

import pytest
from fixtures.hostile import build as build_hostile

from octotui.cli import main
from octotui.domain.clock import current_author
from octotui.domain.models import Severity
from octotui.services.workspace import InputError, RunRef, Workspace
from octotui.storage.file_store import Store

pytestmark = pytest.mark.both_backends

UNSTORABLE = ["a\x00b", "a\ud800b", "\udcff"]


@pytest.mark.parametrize("text", UNSTORABLE)
def test_unstorable_characters_are_refused_at_input_with_one_message(text, workspace):
    release = workspace.create_release(version="1.0.0", title="fine")
    incident = workspace.start_incident("fine", Severity.P1)
    attempts = {
        "title": lambda: workspace.start_incident(text, Severity.P1),
        "note": lambda: workspace.add_note(incident.id, text),
        "impact": lambda: workspace.set_impact(incident.id, text),
        "person": lambda: workspace.assign_role(incident.id, "comms", text),
        "reason": lambda: workspace.change_item(RunRef("release", release.id, "gate"), 0, "na", text=text),
        "decision": lambda: workspace.record_decision(title="t", decision=text),
        "text": lambda: workspace.set_comms_text("incident", incident.id, "escalation", text),
    }
    for field, attempt in attempts.items():
        with pytest.raises(InputError, match="cannot be stored") as refused:
            attempt()
        assert list(refused.value.errors) == [field] or field in ("title", "reason", "person")
    assert workspace.incident(incident.id).timeline[-1].text != text


def test_an_undecodable_user_name_is_stored_as_a_replacement(monkeypatch):
    monkeypatch.setenv("OCTOTUI_USER", "ana\udcff")  # what Python makes of the byte 0xff in the environment
    assert current_author() == "ana\ufffd"


def test_db_copy_of_the_hostile_fixture_into_postgresql_succeeds(tmp_path, pg_url, playbook, capsys):
    source = build_hostile(tmp_path / "hostile.json")
    before = json.dumps(Store(source).export_tables(), sort_keys=True)
    assert "\\u0000" in before  # the fixture does hold NUL
    assert main(["db", "copy", str(source), pg_url]) == 0
    err = capsys.readouterr().err
    assert "copied 1 releases, 1 incidents, 1 decisions" in err and "held a NUL" in err
    back = tmp_path / "back.json"
    assert main(["db", "copy", pg_url, str(back)]) == 0
    returned = json.dumps(Store(back).export_tables(), sort_keys=True)
    assert returned == before.replace("\\u0000", "\\u2400")  # everything else came back exactly
    assert json.dumps(Store(source).export_tables(), sort_keys=True) == before, "the source is only read"
    from octotui.storage.postgres_store import PostgresStore

    team = Workspace(PostgresStore(pg_url), playbook)
    assert team.release(1).title.startswith("mal\u2400lory\x1b]52")  # the rest of the hostile text kept as is
    team.store.close()
