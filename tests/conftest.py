"""Shared fixtures: a frozen clock, a fixed author and zone, temp databases, and app factories."""

from __future__ import annotations

import gc
import itertools
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Deterministic output everywhere: times in UTC, a fixed author, no personal config file.
os.environ["TZ"] = "UTC"
time.tzset()
os.environ["OCTOTUI_USER"] = "tester"
os.environ["OCTOTUI_CONFIG"] = "/nonexistent/octotui-test-config.toml"
os.environ.pop("OCTOTUI_DB", None)
# The suite's own log, never the person's: one file per test run, in the temp folder.
os.environ["OCTOTUI_LOG_FILE"] = os.path.join(tempfile.gettempdir(), f"octotui-tests-{os.getpid()}", "octotui.log")
os.environ.pop("OCTOTUI_LOG_LEVEL", None)
os.environ.pop("DISPLAY", None)  # no system clipboard: the copy chain must say so honestly
os.environ.pop("WAYLAND_DISPLAY", None)

from octotui.comms.templates import load_templates  # noqa: E402
from octotui.domain.clock import FrozenClock  # noqa: E402
from octotui.domain.playbook import load_playbook  # noqa: E402
from octotui.domain.settings import Settings, SignOffRules  # noqa: E402
from octotui.services.demo import load_demo  # noqa: E402
from octotui.services.workspace import Workspace  # noqa: E402
from octotui.storage.file_store import Store  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))  # tests' helpers (pgcluster) import by name
FROZEN_AT = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def _settle_commands() -> None:
    """Pilot's pause (which every press ends with) also waits for the app's command worker, so a test
    sees a change once it is saved, as a person does. Tests that need a save still pending (the lock
    test) post keys without pausing."""
    from textual.pilot import Pilot

    original = Pilot.pause

    async def pause(self, delay=None):
        await original(self, delay)
        commands = getattr(self.app, "commands", None)
        while commands is not None and getattr(self.app, "settle_commands", True) and await commands.wait_idle():
            await original(self, None)

    Pilot.pause = pause


_settle_commands()
REPO = Path(__file__).resolve().parent.parent
SEED = REPO.parent / "shared" / "seed" / "octoacme-release-and-deployment.md"


@pytest.fixture(autouse=True)
def _heap_as_it_was():
    """The app freezes what it loads and holds the collector's full passes for idle time (services/heap.py):
    what one test froze or set is not left to the next."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    gc.enable()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(FROZEN_AT)


@pytest.fixture(scope="session")
def playbook():
    return load_playbook()


@pytest.fixture(scope="session")
def templates():
    return load_templates()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "octotui.json"


BACKENDS = ("file", "postgres")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The one backend parameter: a test marked `both_backends` (or in a module so marked) that uses `store_backend`
    (through `store`, `workspace`, `demo_workspace`...) runs once on a file and once on PostgreSQL; `file_only`
    keeps one of them on the file (a test of the file's own journal)."""
    definition = metafunc.definition
    if ("store_backend" in metafunc.fixturenames and definition.get_closest_marker("both_backends")
            and not definition.get_closest_marker("file_only")):
        metafunc.parametrize("store_backend", BACKENDS, indirect=True)


@pytest.fixture
def store_backend(request) -> str:
    """Which store the test's `store` is: "file" unless parametrized by `both_backends`."""
    return getattr(request, "param", "file")


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL server per test process (as the `postgres` user when run as root). Skipped,
    saying why, only where no server is installed; CI installs one and sets OCTOTUI_TESTS_NEED_POSTGRES=1
    (.ci/run), so there a missing server fails instead."""
    from pgcluster import Cluster, server_bin

    if server_bin() is None:
        missing = "no PostgreSQL server installed (Debian: apt-get install postgresql)"
        if os.environ.get("OCTOTUI_TESTS_NEED_POSTGRES"):
            pytest.fail(f"{missing}, and OCTOTUI_TESTS_NEED_POSTGRES is set", pytrace=False)
        pytest.skip(f"{missing}: PostgreSQL cases not run")
    cluster = Cluster().start(fsync=False)  # no fsync: the server's own crash safety is not under test
    yield cluster
    cluster.stop()


_databases = itertools.count(1)


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """A fresh, empty database on the session's server."""
    return pg_cluster.create_database(f"octotui_test_{next(_databases)}")


def pg_database(url: str) -> str:
    """The database name in a PostgreSQL URL (what pg_cluster.sql and tcp_url take)."""
    return urlsplit(url).path.lstrip("/")


@pytest.fixture
def pg_stores():
    """PostgresStore(url, ...), each closed after the test (imported on first use: file tests never load psycopg)."""
    stores = []

    def factory(url: str, **kwargs):
        from octotui.storage.postgres_store import PostgresStore

        stores.append(PostgresStore(url, **kwargs))
        return stores[-1]

    yield factory
    for store in stores:
        store.close()


@pytest.fixture
def store(store_backend: str, db_path: Path, pg_stores, request):
    """The store under test: a file, or (parametrized by `both_backends`) a fresh PostgreSQL database."""
    if store_backend == "postgres":
        return pg_stores(request.getfixturevalue("pg_url"))
    return Store(db_path)


@pytest.fixture
def reopen(pg_stores):
    """Another store on the same database (as a second octotui process would open it)."""

    def factory(store):
        return Store(store.path) if isinstance(store, Store) else pg_stores(store.url)

    return factory


@pytest.fixture
def workspace(store, playbook, clock) -> Workspace:
    # Sign-off off for major releases here (the app's default needs one): tests of sign-off set their own rules.
    settings = Settings(signoff=SignOffRules(major=0))
    return Workspace(store, playbook, clock=clock, author="tester", settings=settings)


@pytest.fixture
def demo_workspace(workspace: Workspace) -> Workspace:
    load_demo(workspace)
    return workspace


@pytest.fixture
def make_app(templates):
    """An OctoApp on a workspace, with the cursor blink frozen and no demo offer."""
    from octotui.ui.app import OctoApp

    def factory(workspace: Workspace, **kwargs) -> OctoApp:
        kwargs.setdefault("offer_demo", False)
        app = OctoApp(workspace, templates, **kwargs)
        app.cursor_blink = False
        return app

    return factory


GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden():
    """Compare text with tests/golden/NAME; `UPDATE_GOLDEN=1 pytest` rewrites the files (then review the diff)."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if os.environ.get("UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"missing golden file {path}: run with UPDATE_GOLDEN=1 and review it"
        assert text == path.read_text(encoding="utf-8")

    return check


AWKWARD = "[bold]x[/] [/] \x1b[31mred\x1b]52;c;AAAA\x07 | # not a heading *star* `tick` مرحبا e\u0301 🚀\n## line two"
