"""Fault campaign: prints a table of runs and results. `python tests/faults/run.py [--kills N] [--changes N]`

Not collected by pytest; lighter versions of each fault live in the suite (test_store.py, test_faults.py).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = HERE.parent / "store_worker.py"
sys.path.insert(0, str(HERE.parent))

from octotui.domain.clock import FrozenClock  # noqa: E402
from octotui.domain.models import IncidentStatus  # noqa: E402
from octotui.domain.playbook import load_playbook  # noqa: E402
from octotui.services.workspace import RunRef, Workspace  # noqa: E402
from octotui.storage.file_store import SCHEMA_VERSION, Store, StoreError, read_tables  # noqa: E402

ROWS: list[tuple[str, int, int, int, str]] = []


def report(name: str, runs: int, corrupt: int, lost: int, note: str = "") -> None:
    ROWS.append((name, runs, corrupt, lost, note))
    print(f"  {name:<44} runs {runs:>5}  corrupt {corrupt:>3}  lost {lost:>3}  {note}", flush=True)


def kill_during_work(folder: Path, kills: int) -> None:
    """The app's own save path (Workspace.change_item) SIGKILLed at random moments."""
    path = folder / "kills.json"
    randomizer = random.Random(2026)
    acknowledged: dict[tuple[int, int], int] = {}  # (release, item) -> latest acknowledged note number
    corrupt = lost = 0
    for _ in range(kills):
        process = subprocess.Popen([sys.executable, str(WORKER), "app", str(path)], stdout=subprocess.PIPE, text=True)
        target = randomizer.randint(1, 12)
        seen = 0
        for line in process.stdout:
            parts = line.split()
            if parts[0] == "note":
                release_id, index, number = map(int, parts[1:])
                acknowledged[(release_id, index)] = number
                seen += 1
                if seen >= target:
                    break
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        try:
            workspace = Workspace(Store(path), load_playbook())
            workspace.validate_all()
        except (StoreError, json.JSONDecodeError):
            corrupt += 1
            continue
        for (release_id, index), number in acknowledged.items():
            note = workspace.release(release_id).runs["gate"].items[index].note
            if int(note.split()[-1]) < number:
                lost += 1
    report("kill -9 during changes (app save path)", kills, corrupt, lost,
           f"{sum(1 for _ in acknowledged)} items tracked")


def kill_during_compactions(folder: Path, kills: int) -> None:
    """A raw writer that compacts every 3 KB, SIGKILLed at random moments: kills land in appends and in the
    atomic replace of a compaction alike."""
    path = folder / "compacting.json"
    randomizer = random.Random(77)
    acknowledged: set[int] = set()
    corrupt = lost = replaced = 0
    inode = None
    for _ in range(kills):
        process = subprocess.Popen([sys.executable, str(WORKER), "writer", str(path), "3000"], stdout=subprocess.PIPE,
                                   text=True)
        target = randomizer.randint(1, 25)
        for seen, line in enumerate(process.stdout, start=1):
            acknowledged.add(int(line))
            if seen >= target:
                break
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        replaced += inode is not None and path.stat().st_ino != inode
        inode = path.stat().st_ino
        try:
            stored = {doc["n"] for doc in read_tables(path)["items"].values()}
        except (StoreError, ValueError):
            corrupt += 1
            continue
        lost = len(acknowledged - stored)
    report("kill -9 during appends and compactions", kills, corrupt, lost,
           f"{len(acknowledged)} writes acknowledged, {replaced} compactions seen")


def two_instances(folder: Path, changes: int) -> None:
    """Two processes, each `changes` inserts and `changes` read-modify-write updates of one shared record."""
    path = folder / "pair.json"
    Store(path)
    processes = [subprocess.Popen([sys.executable, str(WORKER), "pair", str(path), name, str(changes)],
                                  stdout=subprocess.PIPE, text=True) for name in ("a", "b")]
    for process in processes:
        process.communicate(timeout=600)
    data = read_tables(path)
    inserted = {(doc["by"], doc["n"]) for doc in data["items"].values()}
    seen = set(data["shared"]["1"]["seen"])
    expected_inserts = {(name, n) for name in "ab" for n in range(changes)}
    expected_updates = {f"{name}-{n}" for name in "ab" for n in range(changes)}
    lost = len(expected_inserts - inserted) + len(expected_updates - seen)
    report("two processes writing one file", 4 * changes, 0, lost, f"{len(inserted)} inserts, {len(seen)} updates kept")


def _pair_losses(path: Path, changes: int) -> int:
    """Acknowledged changes of two `store_worker.py pair` writers (named a and b) missing from the file."""
    data = read_tables(path)
    inserted = {(doc["by"], doc["n"]) for doc in data["items"].values()}
    seen = set(data["shared"]["1"]["seen"])
    return len({(n, i) for n in "ab" for i in range(changes)} - inserted) + \
        len({f"{n}-{i}" for n in "ab" for i in range(changes)} - seen)


def lock_file_deleted(folder: Path, changes: int) -> None:
    """Two writers while something (a tmp cleaner, `rm *.lock`) keeps deleting lock files. The database is its
    own lock, so there is nothing to delete that matters: an older design lost changes here."""
    path = folder / "unlocked.json"
    Store(path)
    lock = Path(str(path) + ".lock")
    lock.write_text("")
    processes = [subprocess.Popen([sys.executable, str(WORKER), "pair", str(path), name, str(changes)],
                                  stdout=subprocess.PIPE, text=True) for name in ("a", "b")]
    deleted = 0
    while any(process.poll() is None for process in processes):
        try:
            lock.unlink()
            deleted += 1
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    for process in processes:
        process.communicate(timeout=60)
    lost = _pair_losses(path, changes)
    report("lock file deleted while two processes write", 4 * changes, 0, lost, f"lock file deleted {deleted} times")


def symlinked_database(folder: Path, changes: int) -> None:
    """Two writers, one through a symlink and one through the real path."""
    real = folder / "real.json"
    Store(real)
    link = folder / "link.json"
    link.symlink_to(real)
    processes = [subprocess.Popen([sys.executable, str(WORKER), "pair", str(where), name, str(changes)],
                                  stdout=subprocess.PIPE, text=True) for where, name in ((real, "a"), (link, "b"))]
    for process in processes:
        process.communicate(timeout=600)
    lost = _pair_losses(real, changes)
    report("symlinked DB: writers via link and real path", 4 * changes, 0, lost,
           "link kept" if link.is_symlink() else "LINK REPLACED BY A FILE")


def disk_trouble(folder: Path) -> None:
    # A file size limit: the write fails with EFBIG; the old file stays whole.
    path = folder / "limit.json"
    store = Store(path)
    with store.transaction() as db:
        db.table("x").insert({"a": "small"})
    before = path.read_bytes()
    code = (f"import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, ({len(before) + 50}, {len(before) + 50}))\n"
            "from octotui.storage.file_store import Store, StoreWriteFailed\n"
            f"s = Store({str(path)!r})\n"
            "try:\n    with s.transaction() as db: db.table('x').insert({'a': 'y' * 5000})\n"
            "except StoreWriteFailed as e: print('REFUSED', e.message)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    report("file size limit (ulimit -f) on save", 1, int(path.read_bytes() != before), 0, out.strip()[:70])

    # A full filesystem: a tiny tmpfs if this machine lets us mount one, else skipped with the reason.
    mount = folder / "tiny"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode == 0:
        try:
            path = mount / "full.json"
            store = Store(path)
            with store.transaction() as db:
                db.table("x").insert({"a": "x" * 1000})
            before = path.read_bytes()
            message = ""
            try:
                for _ in range(200):
                    with store.transaction() as db:
                        db.table("x").insert({"a": "x" * 1000})
                    before = path.read_bytes()
            except StoreError as error:
                message = error.message
            corrupt = 0
            try:
                read_tables(path)
            except (ValueError, StoreError):
                corrupt = 1
            report("full disk (64 KiB tmpfs)", 1, corrupt + int(path.read_bytes() != before), 0, message[:70])
            store.close()  # it holds the file it read open: the mount would be busy
        finally:
            subprocess.run(["umount", str(mount)], capture_output=True)
    else:
        report("full disk (64 KiB tmpfs)", 0, 0, 0, "skipped: cannot mount tmpfs here")

    # The DB path is a directory; the folder disappears while running; a read-only folder.
    outcomes = []
    try:
        Store(folder)
    except StoreError as error:
        outcomes.append(error.message)
    report("database path is a directory", 1, 0, 0, outcomes[-1][:70])
    gone = folder / "gone"
    store = Store(gone / "db.json")
    shutil.rmtree(gone)
    try:
        with store.transaction() as db:
            db.table("x").insert({"a": 1})
        note = "save succeeded?!"
    except StoreError as error:
        note = error.message
    report("folder removed while running", 1, 0, 0, note[:70])
    readonly = folder / "ro"
    Store(readonly / "db.json")
    before = (readonly / "db.json").read_bytes()
    # A read-only bind mount binds root too; plain permissions are the fallback for other users.
    bound = subprocess.run(["mount", "--bind", str(readonly), str(readonly)], capture_output=True).returncode == 0 and \
        subprocess.run(["mount", "-o", "remount,bind,ro", str(readonly)], capture_output=True).returncode == 0
    if not bound:
        readonly.chmod(0o500)
        (readonly / "db.json").chmod(0o400)
    store = None
    try:
        store = Store(readonly / "db.json")
        try:
            with store.transaction() as db:
                db.table("x").insert({"a": 1})
            note = f"read_only={store.read_only}; save succeeded"
        except StoreError as error:
            note = f"opened read-only; save refused: {error.message}"
    except StoreError as error:
        note = error.message
    finally:
        if store is not None:
            store.close()  # it holds the file it read open: the mount would be busy
        if bound:
            subprocess.run(["umount", str(readonly)], capture_output=True)
        readonly.chmod(0o700)
    report("read-only folder" + (" (ro bind mount)" if bound else ""), 1,
           int((readonly / "db.json").read_bytes() != before), 0, note[:70])


def bad_files(folder: Path) -> None:
    cases = {
        "truncated JSON (cut inside the snapshot)": lambda p: p.write_bytes(_valid_bytes(folder)[:13]),
        "valid JSON, wrong shape": lambda p: p.write_text(json.dumps({"releases": [1, 2, 3]})),
        "newer schema version": lambda p: p.write_text(json.dumps({"meta": {"1": {"schema": SCHEMA_VERSION + 1}}})),
        "documents failing validation": lambda p: p.write_text(json.dumps(
            {"meta": {"1": {"schema": SCHEMA_VERSION}}, "releases": {"1": {"version": "1.0.0", "title": 5}}})),
        "invalid UTF-8": lambda p: p.write_bytes(b'{"meta": {"1": {"schema": 1}}, "x": "\xff\xfe"}'),
    }
    for name, write in cases.items():
        path = folder / f"bad-{len(ROWS)}.json"
        write(path)
        before = path.read_bytes()
        result = subprocess.run([sys.executable, "-m", "octotui", "--db", str(path), "export", "--list"],
                                capture_output=True, text=True, timeout=60)
        untouched = path.read_bytes() == before
        clean = result.returncode == 2 and "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
        report(f"bad file: {name}", 1, int(not untouched), 0,
               ("refused, exit 2: " if clean else "NOT CLEAN: ") + result.stderr.strip()[:60])

    huge = folder / "huge.json"
    subprocess.run([sys.executable, "-m", "octotui", "demo", "--size", "125000", "--db", str(huge)],
                   check=True, capture_output=True, timeout=900)  # the same generator a person can run
    size = huge.stat().st_size
    start = time.perf_counter()
    Workspace(Store(huge), load_playbook()).validate_all()
    report("huge file opens", 1, 0, 0, f"{size / 1e6:.0f} MB, 125,000 records (octotui demo --size), "
                                       f"opened and validated in {time.perf_counter() - start:.1f} s")


def _valid_bytes(folder: Path) -> bytes:
    path = folder / "valid-source.json"
    if not path.exists():
        workspace = Workspace(Store(path), load_playbook(), author="fault")
        workspace.create_release(version="1.0.0", title="x")
    return path.read_bytes()


def clock_trouble(folder: Path) -> None:
    clock = FrozenClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    workspace = Workspace(Store(folder / "clock.json"), load_playbook(), clock=clock, author="fault")
    incident = workspace.start_incident("clock", "P1")
    problems = 0
    randomizer = random.Random(5)
    statuses = list(IncidentStatus)
    for step in range(200):
        clock.advance(seconds=randomizer.choice([-7200, -60, 5, 30, 600, 3600]))
        action = randomizer.choice(["status", "note", "check"])
        if action == "status":
            workspace.set_status(incident.id, statuses[step % len(statuses)], confirm=True)  # a person who was asked said yes
        elif action == "note":
            workspace.add_note(incident.id, f"note {step}")
        else:
            workspace.change_item(RunRef("incident", incident.id, "escalation"), step % 10, "toggle")
        record = workspace.incident(incident.id)
        stamps = [getattr(record, name) for name in ("started_at", "acknowledged_at", "mitigated_at", "resolved_at")]
        present = [stamp for stamp in stamps if stamp is not None]
        if present != sorted(present) or record.elapsed(clock.now()) < timedelta(0):
            problems += 1
    report("clock jumping back and forth (200 steps)", 200, 0, problems, "milestones ordered, elapsed never negative"
           if not problems else "ORDER BROKEN")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--changes", type=int, default=500)
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    print(f"octotui fault campaign — {datetime.now():%Y-%m-%d %H:%M}", flush=True)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        kill_during_work(folder, args.kills)
        kill_during_compactions(folder, args.kills)
        two_instances(folder, args.changes)
        lock_file_deleted(folder, args.changes)
        symlinked_database(folder, args.changes)
        disk_trouble(folder)
        bad_files(folder)
        clock_trouble(folder)
    print("\n| fault | runs | corrupt files | lost acknowledged changes | note |")
    print("|---|---|---|---|---|")
    for name, runs, corrupt, lost, note in ROWS:
        print(f"| {name} | {runs} | {corrupt} | {lost} | {note} |")


if __name__ == "__main__":
    main()
