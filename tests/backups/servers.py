"""A real MySQL-compatible server for the backup tests: Debian's MariaDB, started by the test on 127.0.0.1 with a
data directory of its own, and the scripts of the openedx chart's backup Jobs run against it as the Jobs run them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from components.charts import PROJECT_DIR

SCRIPTS = PROJECT_DIR / "charts/openedx/files/backups"
MISSING = ("MariaDB is needed by the backup tests (a real server to dump and restore): "
           "apt-get install mariadb-server (./test.sh installs it when run as root)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Mariadb:
    port: int
    socket: Path

    def sql(self, statements: str, database: str = "") -> str:
        """Statements run as root (through the socket); tab-separated output without column names."""
        done = subprocess.run(["mariadb", "--no-defaults", f"--socket={self.socket}", "--user=root", "--batch",
                               "--skip-column-names", *([database] if database else [])],
                              input=statements, capture_output=True, encoding="utf-8", errors="backslashreplace",
                              check=False, timeout=120)
        if done.returncode != 0:
            raise AssertionError(f"SQL failed: {done.stderr}")
        return done.stdout

    def env(self, database: str, user: str, password: str, extra_databases: tuple[str, ...] = ()) -> dict[str, str]:
        """The backup Secret's MySQL keys for `user` on `database` and `extra_databases` (the plugins')."""
        return {"MYSQL_HOST": "127.0.0.1", "MYSQL_PORT": str(self.port), "MYSQL_DATABASE": database,
                "MYSQL_EXTRA_DATABASES": " ".join(extra_databases), "MYSQL_USERNAME": user,
                "MYSQL_PASSWORD": password, "MYSQL_TLS": "false"}


@contextmanager
def mariadb(directory: Path) -> Iterator[Mariadb]:
    if shutil.which("mariadbd") is None and not Path("/usr/sbin/mariadbd").exists():
        raise RuntimeError(MISSING)
    data, sock, port = directory / "data", directory / "mysqld.sock", free_port()
    user = ["--user=root"] if os.geteuid() == 0 else []
    # Temporary files of its own: servers bootstrapping side by side in one /tmp collide (and crash).
    tmp = directory / "tmp"
    tmp.mkdir()
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", f"--tmpdir={tmp}", *user,
                    "--auth-root-authentication-method=socket"], check=True, capture_output=True, timeout=300)
    server = subprocess.Popen(["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={data}", f"--tmpdir={tmp}",
                               f"--socket={sock}",
                               f"--port={port}", "--bind-address=127.0.0.1", "--skip-log-bin", *user,
                               f"--pid-file={directory / 'mysqld.pid'}"],
                              stdout=subprocess.DEVNULL, stderr=(directory / "mysqld.log").open("w"))
    try:
        for _ in range(300):
            if sock.exists() and subprocess.run(["mariadb-admin", "--no-defaults", f"--socket={sock}",
                                                 "--user=root", "ping"], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"MariaDB did not start: {(directory / 'mysqld.log').read_text()[-2000:]}")
        yield Mariadb(port, sock)
    finally:
        server.terminate()
        server.wait(timeout=60)


def run_script(script: str, command: str, env: Mapping[str, str], work: Path,
               check: bool = True) -> subprocess.CompletedProcess[str]:
    """A Job step: `<script> <command>` with the step's environment (WORK, BACKUP, COUNTS under `work`)."""
    step_env = {"PATH": os.environ["PATH"], "HOME": str(work), "WORK": str(work), "BACKUP": str(work / "backup"),
                "COUNTS": str(work / "counts"), **env}
    shell = "bash" if script.endswith(("mysql.sh", "mongodb.sh")) else "sh"
    done = subprocess.run([shell, str(SCRIPTS / script), command], env=step_env, capture_output=True, text=True,
                          check=False, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"{script} {command} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return done


def backup_py(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, str(SCRIPTS / "backup.py"), *args], capture_output=True, text=True,
                          check=False, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"backup.py {args[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return done
