"""Team mode on PostgreSQL: what only a shared server has (schema versions, roles, push, presence,
disconnects, in-doubt commits, many processes, db copy). The service suite runs on it too (both_backends)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from conftest import REPO, pg_database
from test_team import _until as until_told
from test_ui_live import _until

from octotui.cli import main
from octotui.domain.models import ItemState, Severity
from octotui.domain.refs import ChangeNotice, RecordRef
from octotui.services.bulk import generate
from octotui.services.workspace import RunRef, Workspace
from octotui.storage.backends import masked
from octotui.storage.errors import (
    StoreDisconnected,
    StoreOutcomeUnknown,
    StoreReadOnly,
    StoreTooNew,
    StoreUnavailable,
    StoreWriteFailed,
)
from octotui.storage.file_store import Store
from octotui.storage.pg_schema import MIGRATIONS, SCHEMA_VERSION
from octotui.storage.postgres_store import PostgresStore
from octotui.ui.widgets import status_text

OCTOTUI = Path(sys.executable).with_name("octotui")


def _workspace(store, playbook, clock=None, author="tester") -> Workspace:
    return Workspace(store, playbook, clock=clock, author=author)


# -- locations, passwords, the optional driver -------------------------------------------------------
def test_a_password_never_appears_in_a_message(pg_cluster):
    pg_cluster.sql("CREATE ROLE alice LOGIN PASSWORD 's3cret-Pa55'")
    url = pg_cluster.tcp_url("postgres", "alice", "wrong-Pa55word")
    assert masked(url) == f"postgresql://alice:***@127.0.0.1:{pg_cluster.port}/postgres"
    assert "s3cret" not in masked("postgresql://a@h/db?password=s3cret&sslmode=require")
    with pytest.raises(StoreError_) as caught:
        PostgresStore(url)
    assert "wrong-Pa55word" not in str(caught.value) and "***" in str(caught.value)
    assert "password authentication failed" in str(caught.value)
    result = subprocess.run([str(OCTOTUI), "--db", url, "export", "decisions"], capture_output=True, text=True)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert "wrong-Pa55word" not in result.stderr + result.stdout and "Traceback" not in result.stderr


StoreError_ = StoreUnavailable  # a refused login is "cannot connect", never a traceback


def test_without_the_driver_a_url_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['psycopg'] = None\n"
            "from octotui.cli import main\n"
            "sys.exit(main(['--db', 'postgresql://team:hunter2@db.example/octotui', 'export', 'decisions']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "octotui: postgresql://team:***@db.example/octotui: PostgreSQL needs the psycopg driver: "
        "pip install 'octotui[postgres]'"]


# -- schema versions -----------------------------------------------------------------------------------
def test_an_empty_database_gets_the_schema_and_a_newer_one_is_refused(pg_url, pg_stores, pg_cluster):
    store = pg_stores(pg_url)
    assert store.snapshot.all("meta") == {1: {"schema": 3}}
    store.close()
    database = pg_database(pg_url)
    pg_cluster.sql("UPDATE octotui_schema SET version = 99", database)
    with pytest.raises(StoreTooNew, match="schema 99"):
        PostgresStore(pg_url)


def test_an_older_schema_says_what_to_run_and_db_upgrade_runs_it(pg_url, pg_cluster, capsys):
    database = pg_database(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(MIGRATIONS[0])
        conn.execute("UPDATE octotui_schema SET version = 1")
    with pytest.raises(StoreUnavailable, match=f"schema 1; this version needs {SCHEMA_VERSION} \\(run: octotui db upgrade --db"):
        PostgresStore(pg_url)
    assert main(["db", "upgrade", "--db", pg_url]) == 0
    assert f"schema 1 → {SCHEMA_VERSION}" in capsys.readouterr().err
    assert pg_cluster.sql("SELECT version FROM octotui_schema", database) == [(SCHEMA_VERSION,)]
    assert main(["db", "upgrade", "--db", pg_url]) == 0
    assert "already at schema" in capsys.readouterr().err
    PostgresStore(pg_url).close()


def test_db_upgrade_of_a_missing_file_is_a_usage_error(tmp_path, capsys):
    assert main(["db", "upgrade", "--db", str(tmp_path / "x.json")]) == 2
    assert "no database file here" in capsys.readouterr().err


# -- roles -------------------------------------------------------------------------------------------
def _viewer(pg_cluster, pg_url) -> str:
    database = pg_database(pg_url)
    pg_cluster.sql("DO $$ BEGIN CREATE ROLE viewer LOGIN PASSWORD 'view-only-pw'; "
                   "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    pg_cluster.sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO viewer", database)
    return pg_cluster.tcp_url(database, "viewer", "view-only-pw")


def test_a_select_only_role_reads_and_every_write_says_why(pg_url, pg_cluster, pg_stores, playbook, monkeypatch):
    writer = _workspace(pg_stores(pg_url), playbook)
    writer.start_incident("Checkout errors", Severity.P1)
    monkeypatch.delenv("OCTOTUI_USER")
    store = pg_stores(_viewer(pg_cluster, pg_url))
    viewer = Workspace(store, playbook)
    assert store.read_only and viewer.author == "viewer", "the author is the database role without OCTOTUI_USER"
    assert [i.title for i in viewer.incidents()] == ["Checkout errors"]
    with pytest.raises(StoreReadOnly, match="the role 'viewer' can only read this database"):
        viewer.add_note(1, "from a stakeholder")
    writer.add_note(1, "mitigation deployed")
    viewer.refresh()
    assert viewer.incident(1).timeline[-1].text == "mitigation deployed"


async def test_the_read_only_app_shows_a_banner_and_refuses_with_the_reason(pg_url, pg_cluster, pg_stores, playbook,
                                                                             make_app):
    release = _workspace(pg_stores(pg_url), playbook).create_release(version="1.0.0", title="a")
    viewer = Workspace(pg_stores(_viewer(pg_cluster, pg_url)), playbook)
    app = make_app(viewer)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        status = str(app.screen.query_one("#status-text").render())
        assert "READ-ONLY" in status and "can only read this database" in status
        app.selected_release_id, app.checklist_owner = release.id, ("release", release.id)
        await pilot.press("2", "space")
        await pilot.pause()
        assert any("can only read this database" in note.message for note in app._notifications), [n.message for n in app._notifications]


def test_a_role_that_cannot_create_tables_is_told_to_ask_the_owner(pg_cluster, pg_url):
    database = pg_database(pg_url)
    pg_cluster.sql("DO $$ BEGIN CREATE ROLE nobody LOGIN PASSWORD 'pw-nobody'; "
                   "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    pg_cluster.sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database)
    with pytest.raises(StoreReadOnly, match="cannot create or upgrade octotui's tables"):
        PostgresStore(pg_cluster.tcp_url(database, "nobody", "pw-nobody"))


# -- live: pushed, not polled; presence ---------------------------------------------------------------
def test_a_commit_between_start_up_and_listen_is_not_missed(pg_url, pg_stores, playbook, monkeypatch):
    held: list[threading.Thread] = []
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:  # the listener starts only after someone else committed
        if thread.name == "octotui-listen" and not held:
            held.append(thread)
        else:
            real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    store = pg_stores(pg_url)
    reader = _workspace(store, playbook)
    monkeypatch.undo()
    assert len(held) == 1 and not store.listening.is_set()
    _workspace(pg_stores(pg_url), playbook).create_release(version="1.0.0", title="slipped in")
    real_start(held[0])
    assert store.listening.wait(5) and store.changed_outside(), "told to read once it listens"
    assert reader.refresh() == ChangeNotice.of(RecordRef("release", 1))


def test_a_change_is_pushed_to_the_other_instance(pg_url, pg_stores, playbook):
    first = _workspace(pg_stores(pg_url), playbook, author="ana")
    other_store = pg_stores(pg_url)
    other = _workspace(other_store, playbook, author="ben")
    woken = threading.Event()
    other_store.subscribe(woken.set)
    assert other_store.listening.wait(5)
    woken.clear()  # the read it asks for once it listens (a commit may have slipped in before LISTEN)
    other.refresh()
    release = first.create_release(version="1.0.0", title="a")
    assert woken.wait(5), "the commit was announced to the other instance"
    assert other_store.changed_outside()
    assert other.refresh() == ChangeNotice.of(RecordRef("release", release.id))
    assert not other_store.changed_outside()
    woken.clear()
    other.change_item(RunRef("release", release.id, "gate"), 0, "toggle")
    assert not woken.wait(0.3), "an instance is not woken by its own commits"


def test_presence_names_who_else_is_connected(pg_url, pg_cluster, pg_stores, monkeypatch):
    """By the role each logged in as (the server's `usename`), never by $OCTOTUI_USER (issue 31)."""
    database = pg_database(pg_url)
    pg_cluster.sql("DO $$ BEGIN CREATE ROLE benp LOGIN PASSWORD 'pw-benp'; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    pg_cluster.sql("GRANT postgres TO benp")
    monkeypatch.setenv("OCTOTUI_USER", "ana")
    ana = pg_stores(pg_url)
    monkeypatch.setenv("OCTOTUI_USER", "someone-else")
    ben = pg_stores(pg_cluster.tcp_url(database, "benp", "pw-benp"))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'octotui:%' "
                            "AND datname = current_database() ORDER BY 1").fetchall()  # not other tests' databases
    assert sorted(row[0].split(":")[2] for row in rows) == ["benp", "postgres"], "one named connection per instance"
    assert until_told(ana.presence_changed, lambda: ana.presence() == ["benp"]), ana.presence()  # ben's join
    assert ben.who == "benp" and ben.claimed == "someone-else"


async def test_two_apps_on_one_database_see_each_others_checks(pg_url, pg_stores, playbook, make_app):
    seed = _workspace(pg_stores(pg_url), playbook)
    release = seed.create_release(version="1.0.0", title="a")
    apps = [make_app(_workspace(pg_stores(pg_url), playbook, author=name)) for name in ("ana", "ben")]
    async with apps[0].run_test(size=(100, 30)) as ana, apps[1].run_test(size=(100, 30)) as ben:
        for app in apps:
            app.selected_release_id, app.checklist_owner = release.id, ("release", release.id)
        ref = RunRef("release", release.id, "gate")
        await ana.press("2", "space")
        await _until(ben, lambda: apps[1].workspace.run(ref).items[0].state == ItemState.DONE)  # pushed to ben
        await ben.press("2", "space")  # his checklist opens on the first open item: the second one
        for app, pilot in zip(apps, (ana, ben), strict=True):
            await _until(pilot, lambda app=app: [i.state for i in app.workspace.run(ref).items[:2]] == [ItemState.DONE] * 2)
            table = app.screen.query_one("#checklist")
            assert all("[x]" in "".join(str(cell) for cell in table.get_row_at(row)) for row in (1, 2))


def test_a_link_to_a_record_that_does_not_exist_is_refused_by_the_database(pg_url, pg_stores):
    store = pg_stores(pg_url)
    with pytest.raises(StoreWriteFailed, match="foreign key"), store.unit_of_work() as uow:
        uow.put("incidents", 1, {"id": 1, "title": "x", "release_ids": [42]})
    assert store.snapshot.all("incidents") == {}


# -- many processes, kills --------------------------------------------------------------------------------
_NOTES = """
import sys
from octotui.domain.playbook import load_playbook
from octotui.services.workspace import Workspace
from octotui.storage.postgres_store import PostgresStore
workspace = Workspace(PostgresStore(sys.argv[1]), load_playbook(), author=sys.argv[2])
for number in range(int(sys.argv[3])):
    workspace.add_note(1, f"{sys.argv[2]} {number}")
    print(number, flush=True)
"""


def test_three_processes_adding_notes_lose_nothing(pg_url, pg_stores, playbook):
    _workspace(pg_stores(pg_url), playbook).start_incident("Busy", Severity.P1)
    processes = [subprocess.Popen([sys.executable, "-c", _NOTES, pg_url, name, "25"], stdout=subprocess.PIPE,
                                  text=True) for name in ("ana", "ben", "cem")]
    for process in processes:
        assert process.communicate(timeout=120)[0].split()[-1] == "24"
    texts = [event.text for event in _workspace(pg_stores(pg_url), playbook).incident(1).timeline]
    for name in ("ana", "ben", "cem"):
        assert [text for text in texts if text.startswith(name)] == [f"{name} {n}" for n in range(25)]


def test_a_client_killed_mid_command_loses_nothing_it_acknowledged(pg_url, pg_stores, playbook):
    _workspace(pg_stores(pg_url), playbook).start_incident("Busy", Severity.P1)
    for attempt in range(5):
        process = subprocess.Popen([sys.executable, "-c", _NOTES, pg_url, f"k{attempt}", "100000"],
                                   stdout=subprocess.PIPE, text=True)
        acknowledged = []
        for line in process.stdout:  # type: ignore[union-attr]
            acknowledged.append(int(line))
            if len(acknowledged) == 10 + 7 * attempt:
                process.send_signal(signal.SIGKILL)
                break
        process.wait()
        texts = {event.text for event in _workspace(pg_stores(pg_url), playbook).incident(1).timeline}
        assert {f"k{attempt} {n}" for n in acknowledged} <= texts


# -- the server going away --------------------------------------------------------------------------------
def test_a_server_restart_is_survived_and_caught_up(pg_url, pg_stores, playbook, pg_cluster):
    watcher = _workspace(pg_stores(pg_url), playbook, author="ana")
    writer = _workspace(pg_stores(pg_url), playbook, author="ben")
    incident = writer.start_incident("Checkout errors", Severity.P1)
    watcher.refresh()
    pg_cluster.restart()
    with pytest.raises(StoreDisconnected):
        watcher.refresh()  # the old connection is gone: said once, the view kept
    assert watcher.problem is not None and watcher.incident(incident.id).title == "Checkout errors"
    writer_retry = None
    try:
        writer.add_note(incident.id, "lost connection?")
    except StoreDisconnected as error:
        writer_retry = error
    if writer_retry is not None:  # the writer's own connection was dead too: refused, nothing half-done
        writer.add_note(incident.id, "after the restart")
    else:
        writer.add_note(incident.id, "after the restart")
    watcher.refresh()
    assert watcher.problem is None
    assert watcher.incident(incident.id).timeline[-1].text == "after the restart"


async def test_the_app_shows_disconnected_refuses_commands_and_reconnects(pg_url, pg_stores, playbook, pg_cluster,
                                                                          make_app):
    workspace = _workspace(pg_stores(pg_url), playbook)
    incident = workspace.start_incident("Checkout errors", Severity.P1)
    app = make_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        pg_cluster.pg_ctl("stop", "-w", "-m", "fast")
        try:
            await _until(pilot, lambda: "DISCONNECTED — retrying" in str(app.screen.query_one("#status-text").render()))
            await pilot.press("n")
            await pilot.press(*"still typing")
            await pilot.press("enter")
            await pilot.pause()
            form = app.screen
            assert form.query_one("#f-note").value == "still typing", "nothing typed is lost"
            shown = [str(label.render()) for label in form.query("Label, Static")] + [n.message for n in app._notifications]
            assert any("cannot connect" in text or "disconnected" in text for text in shown), shown
        finally:
            pg_cluster.pg_ctl("start", "-w", "-o", f"-p {pg_cluster.port} -k {pg_cluster.socket_dir} "
                                                   "-c listen_addresses=127.0.0.1 -c fsync=off")
        await _until(pilot, lambda: "DISCONNECTED" not in status_text(app).plain)
        await pilot.press("enter")  # the same form, saved now
        await _until(pilot, lambda: app.workspace.incident(incident.id).timeline[-1].text == "still typing")


def test_a_commit_whose_outcome_is_lost_is_reported_then_checked(pg_url, pg_stores, playbook, pg_cluster):
    store = pg_stores(pg_url)
    workspace = _workspace(store, playbook)
    incident = workspace.start_incident("Checkout errors", Severity.P1)

    def drop_connection() -> None:  # the network goes away just as COMMIT is sent
        pid = store.server_pid()
        pg_cluster.sql(f"SELECT pg_terminate_backend({pid})")

    store.before_commit = drop_connection
    with pytest.raises(StoreOutcomeUnknown, match="not known whether this change was saved"):
        workspace.add_note(incident.id, "in doubt")
    store.before_commit = None
    workspace.refresh()
    assert store.take_notices() == ["Reconnected: the change whose save was in doubt was NOT saved; do it again"]
    assert "in doubt" not in [event.text for event in workspace.incident(incident.id).timeline]
    assert store.take_notices() == [], "said once"


# -- db copy ------------------------------------------------------------------------------------------------
def test_db_copy_round_trips_a_demo_database_both_ways(tmp_path, pg_url, playbook, pg_cluster):
    source = tmp_path / "local.json"
    workspace = Workspace(Store(source), playbook)
    generate(workspace, 400)
    workspace.start_incident("Open one", Severity.P1, release_id=1)
    assert main(["db", "copy", str(source), pg_url]) == 0
    back = tmp_path / "back.json"
    assert main(["db", "copy", pg_url, str(back)]) == 0
    original, returned = Store(source).export_tables(), Store(back).export_tables()
    assert json.dumps(original, sort_keys=True) == json.dumps(returned, sort_keys=True)
    database = pg_database(pg_url)
    # The generated history links REL-3/INC-3 and REL-13/INC-13 (the reports' failed deployments), plus the one above.
    assert pg_cluster.sql("SELECT count(*) FROM incident_releases", database) == [(3,)]
    reopened = Workspace(PostgresStore(pg_url), playbook)
    assert len(reopened.releases()) == len(workspace.releases())
    assert reopened.incident(workspace.open_incidents()[0].id).release_ids == [1]
    reopened.store.close()


def test_db_copy_refuses_a_target_with_records_unless_replace(tmp_path, pg_url, playbook, capsys, pg_stores):
    source = tmp_path / "local.json"
    Workspace(Store(source), playbook).create_release(version="1.0.0", title="from the file")
    _workspace(pg_stores(pg_url), playbook).create_release(version="9.0.0", title="already there")
    assert main(["db", "copy", str(source), pg_url]) == 2
    assert "already holds 1 records and events (--replace overwrites them)" in capsys.readouterr().err
    assert main(["db", "copy", str(source), pg_url, "--replace"]) == 0
    assert [r.title for r in Workspace(pg_stores(pg_url), playbook).releases()] == ["from the file"]
    assert main(["db", "copy", str(tmp_path / "missing.json"), pg_url]) == 2


def test_the_quick_start_can_point_at_a_url_from_the_environment(pg_url, tmp_path):
    env = {**os.environ, "OCTOTUI_DB": pg_url}
    result = subprocess.run([str(OCTOTUI), "demo"], capture_output=True, text=True, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([str(OCTOTUI), "export", "--list"], capture_output=True, text=True, env=env)
    assert result.returncode == 0 and "incident-initial" in result.stdout


def test_the_backend_names_a_resolved_incident_as_the_domain_stores_it():
    from octotui.domain.models import IncidentStatus
    from octotui.storage import base

    assert IncidentStatus.RESOLVED.value == base.RESOLVED


def test_names_of_others_reach_the_status_line_as_plain_short_text(demo_workspace, make_app, monkeypatch):
    from conftest import AWKWARD

    app = make_app(demo_workspace)
    monkeypatch.setattr(type(demo_workspace.store), "presence", lambda self: [AWKWARD, "x" * 5000])
    line = status_text(app, 80).plain
    assert "\x1b" not in line and "\x07" not in line and "x" * 21 not in line
    assert "also here: [bold]x[/] [/] " in line, "shown as typed, never parsed as markup"
