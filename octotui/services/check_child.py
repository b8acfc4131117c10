"""The child process of the check after start-up (see services.check): it opens the file read-only,
validates every record and prints one JSON line (a CheckReport)."""

from __future__ import annotations

import gc
import sys

from pydantic import ValidationError

from octotui.domain.settings import SignOffRules
from octotui.services.check import CheckReport


def main(argv: list[str]) -> int:
    gc.disable()  # everything read is garbage at exit: nothing for the cyclic GC to find meanwhile
    from octotui.domain.config import ConfigProblem
    from octotui.domain.playbook import load_playbook
    from octotui.domain.settings import Settings
    from octotui.services.workspace import Workspace
    from octotui.storage.backends import open_repository
    from octotui.storage.errors import StoreCorrupt, StoreError

    try:
        rules = SignOffRules.model_validate_json(sys.stdin.read())
        workspace = Workspace(open_repository(argv[0], read_only=True, create=False), load_playbook(), settings=Settings(signoff=rules))
        report = CheckReport(stale=frozenset(workspace.validate_all()))
    except StoreCorrupt as error:
        report = CheckReport(problem=error.message)
    except (StoreError, ConfigProblem, ValidationError, IndexError):
        return 2  # unreadable here, or not asked properly: the parent checks itself
    print(report.model_dump_json())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
