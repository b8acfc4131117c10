"""Team mode a team can trust (issue 31): the owner role sets up, identity comes from the login, a retry
cannot apply twice, a stale choice asks, presence is told, not polled. On a throwaway cluster."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

import psycopg
import pytest
from conftest import pg_database

from octotui.cli import main
from octotui.domain.inputs import InputError
from octotui.domain.models import Severity
from octotui.services.workspace import Workspace
from octotui.storage import pg_schema
from octotui.storage.errors import StoreReadOnly
from octotui.storage.pg_schema import SCHEMA_VERSION
from octotui.storage.postgres_store import PostgresStore

README = Path(__file__).resolve().parent.parent / "README.md"


def _login(pg_cluster, name: str, *, member_of: str | None = None) -> str:
    """A login role with a password (made once per cluster); `member_of` grants it a role."""
    pg_cluster.sql(f"DO $$ BEGIN CREATE ROLE {name} LOGIN PASSWORD 'pw-{name}'; "
                   "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    if member_of:
        pg_cluster.sql(f"GRANT {member_of} TO {name}")
    return f"pw-{name}"


def _until(event: threading.Event, condition, tries: int = 50) -> bool:
    """Wait for `condition`, woken by `event` (set by the store's callback), a bounded number of times."""
    for _ in range(tries):
        if condition():
            return True
        event.wait(0.2)
        event.clear()
    return condition()


# -- close and presence: told, not polled ----------------------------------------------------------------
def _opened_with_its_listener(pg_stores, url: str) -> tuple[PostgresStore, threading.Thread]:
    """A store and the listener thread it started (found by name among the threads that are new)."""
    before = set(threading.enumerate())
    store = pg_stores(url)
    started = [thread for thread in threading.enumerate() if thread not in before and thread.name == "octotui-listen"]
    assert len(started) == 1, started
    return store, started[0]


def test_close_wakes_its_listener_and_returns_with_it_ended(pg_url, pg_stores):
    store, listener = _opened_with_its_listener(pg_stores, pg_url)
    assert store.listening.wait(5)
    store.close()
    assert not listener.is_alive(), "close() returned while its listener still waited for a timeout"


def test_close_does_not_wait_for_a_listener_still_reconnecting(pg_cluster, pg_url, pg_stores, monkeypatch):
    store, listener = _opened_with_its_listener(pg_stores, pg_url)
    assert store.listening.wait(5)
    pg_cluster.pg_ctl("stop", "-w", "-m", "fast")
    try:
        gone = threading.Event()
        for _ in range(100):  # the listener notices the outage (bounded count of short waits)
            if not store.listening.is_set():
                break
            gone.wait(0.05)
        assert not store.listening.is_set()
        waits: list[float | None] = []
        real_join = threading.Thread.join

        def join(thread: threading.Thread, timeout: float | None = None) -> None:
            if thread is listener:
                waits.append(timeout)
            real_join(thread, timeout)

        monkeypatch.setattr(threading.Thread, "join", join)
        store.close()
        monkeypatch.undo()
        assert waits == [0], "close() waited for a listener that is only retrying its connection"
    finally:
        pg_cluster.pg_ctl("start", "-w", "-o", f"-p {pg_cluster.port} -k {pg_cluster.socket_dir} "
                                               "-c listen_addresses=127.0.0.1 -c fsync=off")


def test_presence_follows_a_join_and_a_leave_by_notification(pg_cluster, pg_url, pg_stores):
    database = pg_database(pg_url)
    _login(pg_cluster, "team_ben", member_of="postgres")
    ana = pg_stores(pg_url, presence_every_seconds=3600.0)  # no periodic look can explain it
    assert ana.listening.wait(5)
    told = getattr(ana, "presence_changed", threading.Event())  # set by the listener when presence changes
    assert ana.presence() == []
    ben = PostgresStore(pg_cluster.tcp_url(database, "team_ben", "pw-team_ben"))
    try:
        assert _until(told, lambda: ana.presence() == ["team_ben"]), ana.presence()
    finally:
        ben.close()
    assert _until(told, lambda: ana.presence() == []), ana.presence()


# -- setup: the README's steps, literally; tables only ever belong to the owner ---------------------------
def _readme_sql() -> str:
    """The SQL block of the README's team-mode steps, with a password per role for the '…'."""
    team = README.read_text().split("## Team mode", 1)[1]
    block = re.search(r"```sql\n(.*?)```", team, re.S)
    assert block, "the README's team-mode steps hold one SQL block"
    lines = [line.strip() for line in block.group(1).splitlines()]
    return "\n".join(re.sub(r"CREATE ROLE (\w+) LOGIN PASSWORD '…'", r"CREATE ROLE \1 LOGIN PASSWORD 'pw-\1'", line)
                     for line in lines) + "\n"


def _psql(pg_cluster, script: str) -> subprocess.CompletedProcess[str]:
    path = pg_cluster.base / "readme.sql"
    path.write_text(script)
    path.chmod(0o644)
    return pg_cluster._run(str(pg_cluster.bin / "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-h", str(pg_cluster.socket_dir),
                           "-p", str(pg_cluster.port), "-U", pg_cluster.user, "-d", "postgres", "-f", str(path),
                           check=False)


def test_the_readme_setup_followed_literally_gives_a_working_team(pg_cluster, pg_stores, playbook, capsys):
    ran = _psql(pg_cluster, _readme_sql())
    assert ran.returncode == 0, ran.stderr
    url = {role: pg_cluster.tcp_url("octotui", role, f"pw-{role}") for role in ("octotui_owner", "ana", "ben", "board")}
    # The first start is a writer's: the tables it creates still belong to the owner.
    ana = Workspace(pg_stores(url["ana"]), playbook)
    release = ana.create_release(version="1.0.0", title="first")
    owners = pg_cluster.sql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'", "octotui")
    assert owners == [("octotui_owner",)], "a writer's first start never creates tables it would own"
    ben = Workspace(pg_stores(url["ben"]), playbook)
    incident = ben.start_incident("Checkout errors", Severity.P1)
    ben.add_note(incident.id, "the second writer writes")
    assert ana.store.user == "ana" and ben.store.user == "ben"
    board_store = pg_stores(url["board"])
    board = Workspace(board_store, playbook)
    assert board_store.read_only and [r.version for r in board.releases()] == ["1.0.0"]
    assert board.incident(incident.id).timeline[-1].text == "the second writer writes"
    with pytest.raises(StoreReadOnly, match="can only read"):
        board.add_note(incident.id, "a stakeholder cannot write")
    owner = Workspace(pg_stores(url["octotui_owner"]), playbook)
    owner.add_note(incident.id, "the owner writes too")
    assert main(["db", "upgrade", "--db", url["octotui_owner"]]) == 0
    assert f"already at schema {SCHEMA_VERSION}" in capsys.readouterr().err
    assert main(["db", "upgrade", "--db", url["ana"]]) == 0, "a writer's upgrade runs as the owner"
    assert ana.release(release.id) is not None
    # Step 4: the owner names the people and the signers; every machine reads the same list.
    assert main(["db", "people", "set", "ana", "Ana Lima", "--signer", "--db", url["octotui_owner"]]) == 0
    assert capsys.readouterr().out.splitlines() == ["ana\tAna Lima\tsigner"]
    assert Workspace(pg_stores(url["ben"]), playbook).settings.signoff.signers == ["ana"]
    ben.refresh()
    assert "Ana Lima (ana)" in ben.store.presence()


def test_a_writers_upgrade_creates_the_tables_as_the_owner_and_a_stranger_gets_the_command(pg_cluster, pg_stores):
    database = "team_setup"
    pg_cluster.sql("DO $$ BEGIN CREATE ROLE team_owner LOGIN PASSWORD 'pw-team_owner'; "
                   "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    pg_cluster.sql(f"CREATE DATABASE {database} OWNER team_owner")
    _login(pg_cluster, "team_writer", member_of="team_owner")
    _login(pg_cluster, "team_stranger")
    stranger = pg_cluster.tcp_url(database, "team_stranger", "pw-team_stranger")
    with pytest.raises(StoreReadOnly) as refused:
        PostgresStore(stranger)
    assert (f"Run: octotui db upgrade --db 'postgresql://team_owner@127.0.0.1:{pg_cluster.port}/{database}'"
            in refused.value.message), refused.value.message
    assert "pw-" not in refused.value.message
    assert main(["db", "upgrade", "--db", pg_cluster.tcp_url(database, "team_writer", "pw-team_writer")]) == 0
    owners = pg_cluster.sql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'", database)
    assert owners == [("team_owner",)]
    pg_stores(pg_cluster.tcp_url(database, "team_owner", "pw-team_owner"))  # the owner opens its own tables


def test_the_owner_is_never_told_to_ask_the_owner(pg_cluster):
    """Tables left owned by a writer (an older octotui's setup): the owner is told who owns them and the fix."""
    database = "team_locked"
    pg_cluster.sql("DO $$ BEGIN CREATE ROLE team_boss LOGIN PASSWORD 'pw-team_boss'; "
                   "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    pg_cluster.sql(f"CREATE DATABASE {database} OWNER team_boss")
    _login(pg_cluster, "team_early", member_of="team_boss")
    with psycopg.connect(pg_cluster.url(database), autocommit=True) as conn:  # as the writer once did it
        conn.execute("SET ROLE team_early")
        conn.execute(pg_schema.MIGRATIONS[0])
        conn.execute("UPDATE octotui_schema SET version = 1")
    with pytest.raises(StoreReadOnly) as refused:
        pg_schema.upgrade_database(pg_cluster.tcp_url(database, "team_boss", "pw-team_boss"))
    assert "ask the database owner" not in refused.value.message
    assert "REASSIGN OWNED BY team_early TO team_boss" in refused.value.message, refused.value.message


# -- identity from the login -----------------------------------------------------------------------------
async def test_the_author_of_record_is_the_login_role_not_octotui_user(pg_cluster, pg_url, pg_stores, playbook,
                                                                      monkeypatch, make_app):
    _login(pg_cluster, "team_ana", member_of="postgres")
    monkeypatch.setenv("OCTOTUI_USER", "someone-else")
    store = pg_stores(pg_cluster.tcp_url(pg_database(pg_url), "team_ana", "pw-team_ana"))
    workspace = Workspace(store, playbook)
    incident = workspace.start_incident("Checkout errors", Severity.P1)
    workspace.add_note(incident.id, "written by whoever logged in")
    assert workspace.author == "team_ana"
    authors = {event.author for event in workspace.incident(incident.id).timeline} - {"auto"}  # the app's own ticks
    assert authors == {"team_ana"}
    assert pg_cluster.sql("SELECT DISTINCT author FROM commits", pg_database(pg_url)) == [("team_ana",)]
    assert pg_cluster.sql("SELECT DISTINCT doc->>'author' FROM events WHERE doc->>'author' <> 'auto'",
                          pg_database(pg_url)) == [("team_ana",)]
    from octotui.ui.widgets import status_text

    app = make_app(workspace)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert "someone-else (as team_ana)" in status_text(app).plain


def test_display_names_and_signers_are_kept_in_the_database(pg_cluster, pg_url, pg_stores, playbook, capsys):
    database = pg_database(pg_url)
    for role in ("team_lee", "team_kim"):
        _login(pg_cluster, role, member_of="postgres")
    url = {role: pg_cluster.tcp_url(database, role, f"pw-{role}") for role in ("team_lee", "team_kim")}
    lee_store = pg_stores(url["team_lee"])
    release = Workspace(lee_store, playbook, author="captain").create_release(version="2.0.0", title="major")
    assert main(["db", "people", "set", "team_kim", "Kim Park", "--signer", "--db", pg_url]) == 0
    assert main(["db", "people", "set", "team_lee", "Lee Chan", "--db", pg_url]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == ["team_kim\tKim Park\tsigner", "team_lee\tLee Chan"]
    assert main(["db", "people", "set", "nobody_here", "X", "--db", pg_url]) == 2
    assert "no login role 'nobody_here'" in capsys.readouterr().err
    kim_store = pg_stores(url["team_kim"])
    lee = Workspace(pg_stores(url["team_lee"]), playbook)
    kim = Workspace(kim_store, playbook)
    assert lee.settings.signoff.signers == ["team_kim"], "every machine reads the database's list"
    with pytest.raises(InputError, match="team_lee may not sign off"):
        lee.sign_off(release.id)
    kim.sign_off(release.id)
    assert main(["db", "people", "set", "team_lee", "--signer", "--db", pg_url]) == 0  # while lee's app runs
    lee.refresh()
    lee.sign_off(release.id)  # the list as the database holds it now, not as it was at start
    assert main(["db", "people", "set", "team_lee", "--no-signer", "--db", pg_url]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "team_lee\tLee Chan"
    assert lee_store.presence_changed.wait(5)
    assert _until(lee_store.presence_changed, lambda: "Kim Park (team_kim)" in lee.store.presence()), lee.store.presence()


# -- every command is idempotent: a retry of the same action is never applied twice -------------------------
def _outcome(call) -> str:
    try:
        call()
    except Exception as error:  # the name says which refusal it was (or that there was none)
        return type(error).__name__
    return "applied"


@pytest.mark.both_backends
def test_the_same_action_retried_is_applied_once(store, playbook):
    workspace = Workspace(store, playbook)
    incident = workspace.start_incident("Checkout errors", Severity.P1)
    outcomes = []
    for _ in range(2):  # Enter, then Enter again on the same form
        workspace.action_id = "form-1"
        outcomes.append(_outcome(lambda: workspace.add_note(incident.id, "rolled back the deploy")))
    workspace.action_id = "form-2"  # another form: a new action, saved
    outcomes.append(_outcome(lambda: workspace.add_note(incident.id, "rolled back the deploy")))
    notes = [event.text for event in workspace.incident(incident.id).timeline].count("rolled back the deploy")
    assert outcomes == ["applied", "AlreadySaved", "applied"] and notes == 2


def _answer_lost_after_commit(store, pg_cluster) -> None:
    """The next COMMIT reaches the server and lands; its answer never comes back (the connection dies)."""

    def lost() -> None:
        store.after_commit = None
        pg_cluster.sql(f"SELECT pg_terminate_backend({store.server_pid()})")
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    store.after_commit = lost


def _drop_before_commit(store, pg_cluster) -> None:
    pg_cluster.sql(f"SELECT pg_terminate_backend({store.server_pid()})")


def test_an_in_doubt_save_that_landed_is_not_applied_again(pg_cluster, pg_url, pg_stores, playbook):
    store = pg_stores(pg_url)
    workspace = Workspace(store, playbook)
    incident = workspace.start_incident("Checkout errors", Severity.P1)
    store.before_commit = lambda: _answer_lost_after_commit(store, pg_cluster)
    workspace.action_id = "form-1"
    first = _outcome(lambda: workspace.add_note(incident.id, "in doubt"))
    store.before_commit = None
    workspace.action_id = "form-1"  # Enter again, after reconnecting
    second = _outcome(lambda: workspace.add_note(incident.id, "in doubt"))
    assert (first, second) == ("StoreOutcomeUnknown", "AlreadySaved")
    workspace.refresh()
    assert [event.text for event in workspace.incident(incident.id).timeline].count("in doubt") == 1


@pytest.mark.parametrize(("fault", "landed"), [(_answer_lost_after_commit, True), (_drop_before_commit, False)])
async def test_the_form_says_not_known_then_checks_and_never_saves_twice(pg_cluster, pg_url, pg_stores, playbook,
                                                                         make_app, monkeypatch, fault, landed):
    from test_ui_live import _until as until_app

    from octotui.ui.widgets import FieldError

    store = pg_stores(pg_url)
    workspace = Workspace(store, playbook)
    incident = workspace.start_incident("Checkout errors", Severity.P1)
    said: list[str] = []
    real_show = FieldError.show
    monkeypatch.setattr(FieldError, "show", lambda self, message: (said.append(str(message)), real_show(self, message))[1])
    app = make_app(workspace)

    def notes() -> int:
        return [event.text for event in app.workspace.incident(incident.id).timeline].count("mitigated")

    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "n", *"mitigated")
        form = app.screen
        store.before_commit = lambda: (setattr(store, "before_commit", None), fault(store, pg_cluster))
        await pilot.press("enter")
        await until_app(pilot, lambda: any(text.startswith(("Saved", "Not saved")) for text in said)
                        or [n for n in app._notifications if n.message.startswith("Saved")])
        assert "Not known whether saved — checking…" in said, said
        assert not any(text.startswith("Not saved: the connection dropped while") for text in said), "no untruth"
        if landed:
            await until_app(pilot, lambda: app.screen is not form)
            assert any(n.message.startswith("Saved") for n in app._notifications)
        else:
            assert app.screen is form and form.query_one("#f-note").value == "mitigated", "the form is kept"
            assert said[-1].startswith("Not saved: the connection dropped before it was saved"), said
            assert notes() == 0
            await pilot.press("enter")  # Enter saves it, once
            await until_app(pilot, lambda: app.screen is not form)
        await pilot.press("enter")  # a stray Enter after it closed saves nothing more
        await app.commands.wait_idle()
        app.workspace.refresh()
        assert notes() == 1


# -- stale choices ask ---------------------------------------------------------------------------------------
@pytest.mark.both_backends
def test_a_status_chosen_from_an_older_state_asks_naming_who_and_what(store, reopen, playbook):
    from octotui.domain.inputs import NeedsConfirmation

    ana = Workspace(store, playbook, author="ana")
    ben = Workspace(reopen(store), playbook, author="ben")
    incident = ana.start_incident("Checkout errors", Severity.P1)
    ana.set_status(incident.id, "Mitigated")
    ben.refresh()
    ben_saw = ben.incident(incident.id).status.value  # ben's list shows "Mitigated (current)"
    ana.set_status(incident.id, "Monitoring")
    assert ana.monitoring_ends(ana.incident(incident.id)) is not None, "the guide's monitoring window runs"
    with pytest.raises(NeedsConfirmation) as asked:
        ben.set_status(incident.id, "Identified", seen=ben_saw)
    assert "ana changed the status of INC-1 to Monitoring" in str(asked.value)
    assert "after your list showed Mitigated. Set it to Identified anyway?" in str(asked.value)
    ana.refresh()
    assert ana.incident(incident.id).status.value == "Monitoring", "nothing was overridden silently"
    ben.set_status(incident.id, "Identified", seen=asked.value.current)  # "Set it anyway", knowing
    ana.refresh()
    after = ana.incident(incident.id)
    assert after.status.value == "Identified" and ana.monitoring_ends(after) is None
    assert after.timeline[-1].kind == "clock" and after.timeline[-1].text.startswith("Monitoring window closed at")
    ben.set_severity(incident.id, "P0", seen="P1")
    with pytest.raises(NeedsConfirmation, match="ben changed the severity of INC-1 to P0 at .*, after your list "
                                                "showed P1. Set it to P2 anyway"):
        ana.set_severity(incident.id, "P2", seen="P1")
    assert ana.incident(incident.id).severity.value == "P0"


async def test_the_app_asks_before_a_stale_status_pick_overrides_someone(pg_url, pg_stores, playbook, make_app):
    from test_ui_live import _until as until_app

    from octotui.ui.forms import ChoiceScreen, ConfirmScreen

    ana = Workspace(pg_stores(pg_url), playbook, author="ana")
    incident = ana.start_incident("Checkout errors", Severity.P1)
    ana.set_status(incident.id, "Mitigated")
    app = make_app(Workspace(pg_stores(pg_url), playbook, author="ben"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3", "s")
        await until_app(pilot, lambda: isinstance(app.screen, ChoiceScreen))  # the list shows "Mitigated (current)"
        ana.set_status(incident.id, "Monitoring")  # meanwhile, on another machine
        await pilot.press("up", "up", "enter")  # ben picks Identified from his list
        await until_app(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.question)
        assert "ana changed the status of INC-1 to Monitoring" in question and "Set it to Identified anyway?" in question
        await app.commands.wait_idle()
        ana.refresh()
        assert ana.incident(incident.id).status.value == "Monitoring", "asked, not overridden"
        await pilot.press("y")
        await until_app(pilot, lambda: app.workspace.incident(incident.id).status.value == "Identified")
        timeline = [event.text for event in app.workspace.incident(incident.id).timeline]
        assert timeline[-1].startswith("Monitoring window closed at"), timeline[-3:]


# -- a password in the URL -------------------------------------------------------------------------------
def test_a_password_in_the_url_is_warned_about_once_and_pgpassword_is_not(pg_cluster, pg_url):
    import os
    import sys

    octotui = Path(sys.executable).with_name("octotui")
    database = pg_database(pg_url)
    _login(pg_cluster, "team_pw", member_of="postgres")
    url = pg_cluster.tcp_url(database, "team_pw", "pw-team_pw")
    given = subprocess.run([str(octotui), "--db", url, "db", "upgrade"], capture_output=True, text=True)
    warned = [line for line in given.stderr.splitlines() if line.startswith("octotui: warning:")]
    assert given.returncode == 0 and len(given.stderr.splitlines()) == 2 and len(warned) == 1, given.stderr
    assert warned[0].startswith("octotui: warning: the password in this URL is visible to every user of this machine (ps)")
    assert "~/.pgpass" in warned[0] and "PGPASSWORD" in warned[0] and "pw-team_pw" not in given.stderr
    wrong = subprocess.run([str(octotui), "--db", url.replace("pw-team_pw", "not-it"), "db", "upgrade"],
                           capture_output=True, text=True)
    assert wrong.returncode == 2 and len(wrong.stderr.splitlines()) == 1, "an error stays one line"
    plain = f"postgresql://team_pw@127.0.0.1:{pg_cluster.port}/{database}"
    quiet = subprocess.run([str(octotui), "--db", plain, "db", "upgrade"], capture_output=True, text=True,
                           env={**os.environ, "PGPASSWORD": "pw-team_pw"})
    assert quiet.returncode == 0 and "warning" not in quiet.stderr and "already at schema" in quiet.stderr, quiet.stderr


async def test_the_status_line_shows_a_join_without_waiting_for_its_tick(pg_cluster, pg_url, pg_stores, playbook,
                                                                        make_app, monkeypatch):
    from test_ui_live import _until as until_app

    from octotui.ui.app import OctoApp
    from octotui.ui.widgets import status_text

    monkeypatch.setattr(OctoApp, "_tick", lambda self: None)  # the one timer does nothing here: no tick repaints
    _login(pg_cluster, "team_joiner", member_of="postgres")
    store = pg_stores(pg_url, presence_every_seconds=3600.0)  # no periodic look: the join is told
    app = make_app(Workspace(store, playbook))
    async with app.run_test(size=(120, 30)) as pilot:
        assert store.listening.wait(5)
        shown = lambda: str(app.screen_stack[0].query_one("#status-text").render())  # noqa: E731
        assert "also here" not in shown()
        joiner = PostgresStore(pg_cluster.tcp_url(pg_database(pg_url), "team_joiner", "pw-team_joiner"))
        try:
            await until_app(pilot, lambda: "also here: team_joiner" in shown())
        finally:
            joiner.close()
        await until_app(pilot, lambda: "also here" not in shown())
        assert "also here" not in status_text(app).plain
