"""A subprocess that writes to a store: used by the crash and two-process tests and the fault script.

    python store_worker.py writer DB [BYTES]    insert forever, print each acknowledged id (compact past BYTES)
    python store_worker.py pair DB NAME COUNT   COUNT inserts and COUNT updates of one shared doc
    python store_worker.py app DB               the app's own save path: checklist changes forever
"""

from __future__ import annotations

import sys


def writer(path: str, compact_every: int = 0) -> None:
    from octotui.storage.file_store import Store

    # With BYTES, compact whenever the journal passes a few KB: kills land during compactions too.
    store = Store(path, compact_min_journal_bytes=compact_every) if compact_every else Store(path)
    payload = "x" * 200
    number = max((doc["n"] for doc in store.table("items").values()), default=0)  # numbering goes on across runs
    while True:
        number += 1
        with store.transaction() as db:
            db.table("items").insert({"n": number, "payload": payload})
        print(number, flush=True)  # acknowledged only after the atomic replace returned


def pair(path: str, name: str, count: int) -> None:
    from octotui.storage.file_store import Store

    store = Store(path)
    for number in range(count):
        with store.transaction() as db:
            db.table("items").insert({"by": name, "n": number})
        with store.transaction() as db:
            shared = db.table("shared")
            doc = shared.get(doc_id=1)
            seen = list(doc["seen"]) if doc else []
            seen.append(f"{name}-{number}")
            if doc is None:
                from tinydb.table import Document
                shared.insert(Document({"seen": seen}, doc_id=1))
            else:
                shared.update({"seen": seen}, doc_ids=[1])
    print("done", flush=True)


def app_path(path: str) -> None:
    """Changes through Workspace (what the UI calls), each printed once it is on disk."""
    from octotui.domain.playbook import load_playbook
    from octotui.services.workspace import RunRef, Workspace
    from octotui.storage.file_store import Store

    workspace = Workspace(Store(path), load_playbook(), author="fault")
    release = workspace.create_release(version=f"1.0.{len(workspace.releases())}", title="fault run")
    print(f"release {release.id}", flush=True)
    gate = RunRef("release", release.id, "gate")
    number = 0
    while True:
        number += 1
        index = number % 6
        workspace.change_item(gate, index, "note", text=f"note {number}")
        print(f"note {release.id} {index} {number}", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "writer":
        writer(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    elif mode == "pair":
        pair(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "app":
        app_path(sys.argv[2])
