"""A throwaway PostgreSQL server for tests and benchmarks: Debian's server binaries (not on PATH), a cluster
in a temp folder on a free port, trust for the local socket and passwords over TCP.

PostgreSQL refuses to run as root, and CI runs as root: then the cluster belongs to the `postgres` user and
every server command runs as that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def server_bin() -> Path | None:
    """The newest installed server's bin folder (`/usr/lib/postgresql/15/bin`), or what is on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """`start()`, then `url(db)` for the superuser over the socket, `tcp_url(db, user, password)` over TCP."""

    def __init__(self) -> None:
        bin_dir = server_bin()
        if bin_dir is None:
            raise RuntimeError("no PostgreSQL server installed (Debian: apt-get install postgresql)")
        self.bin = bin_dir
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self.base = Path(tempfile.mkdtemp(prefix="octotui-pg-"))
        self.data = self.base / "data"
        self.socket_dir = self.base / "socket"
        self.port = _free_port()
        if self.as_root:
            os.chmod(self.base, 0o755)
            shutil.chown(self.base, "postgres", "postgres")
        self._run("mkdir", "-p", str(self.socket_dir))

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if self.as_root:
            command = ("runuser", "-u", "postgres", "--", *command)
        return subprocess.run(command, capture_output=True, text=True, check=check, cwd="/")

    def start(self, fsync: bool = True) -> Cluster:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust",
                  "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        with open(self.data / "pg_hba.conf", "w") as hba:  # written as root is fine: the server only reads it
            hba.write("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        self.pg_ctl("start", "-w", "-o",
                    f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
                    f"-c fsync={'on' if fsync else 'off'} "
                    "-c max_connections=200 -c shared_buffers=64MB")
        return self

    def pg_ctl(self, *args: str) -> None:
        log = self.base / "server.log"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(log), *args)

    def restart(self) -> None:
        self.pg_ctl("restart", "-w", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg_ctl("stop", "-w", "-m", "immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"

    def tcp_url(self, database: str, user: str, password: str) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cursor = conn.execute(statement)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str, template: str | None = None) -> str:
        self.sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._run(str(self.bin / "pg_isready"), "-h", str(self.socket_dir), "-p", str(self.port),
                        check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not come back")
            time.sleep(0.05)
