"""The in-cluster MySQL's `credentials-sync` container, its script run as the pod runs it against a real server
(Debian's MariaDB): a rotated password reaches the server, root's password is the one it logs in with, it never
creates a user of its own, and it gives the user the plugins' databases, never dropping one."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.charts import PROJECT_DIR
from tests.backups.servers import Mariadb, mariadb

SCRIPT = (PROJECT_DIR / "charts/openedx-services/files/credentials/mysql.sh").read_text()
USER = "openedx"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Mariadb]:
    with mariadb(tmp_path) as running:
        # Without MariaDB's anonymous users, which would take the TCP logins of `openedx` from localhost.
        running.sql("DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES;"
                    f"CREATE DATABASE openedx; CREATE USER '{USER}'@'%' IDENTIFIED BY 'first-password';"
                    f"GRANT ALL ON openedx.* TO '{USER}'@'%';"
                    "ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('root-pass');")
        yield running


def sync(server: Mariadb, directory: Path, password: str, root_password: str = "root-pass",
         timeout: float = 60, extra_databases: str = "") -> subprocess.CompletedProcess[str]:
    """The script with the credentials files the Secret would mount and the container's environment (without its
    final sleep)."""
    credentials = directory / "credentials"
    credentials.mkdir(exist_ok=True)
    (credentials / "mysql-password").write_text(password)
    (credentials / "mysql-root-password").write_text(root_password)
    env = {"PATH": os.environ["PATH"], "MYSQL_USER": USER, "MYSQL_SOCKET": str(server.socket),
           "CREDENTIALS": str(credentials), "SYNCED": str(directory / "synced"),
           "MYSQL_EXTRA_DATABASES": extra_databases}
    return subprocess.run(["bash", "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def as_root(server: Mariadb, statements: str) -> str:
    """Root's password is set: socket authentication would let any local root in, and hide a wrong password."""
    done = subprocess.run(["mariadb", "--no-defaults", f"--socket={server.socket}", "--user=root",
                           "--password=root-pass", "--batch", "--skip-column-names"], input=statements,
                          capture_output=True, text=True, check=True)
    return done.stdout


def as_user(server: Mariadb, password: str, statements: str, database: str = "openedx"
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mariadb", "--no-defaults", "--host=127.0.0.1", f"--port={server.port}", f"--user={USER}",
                           f"--password={password}", f"--execute={statements}", database],
                          capture_output=True, text=True, check=False)


def logs_in(server: Mariadb, password: str) -> bool:
    return as_user(server, password, "SELECT 1").returncode == 0


def test_a_rotated_password_reaches_the_server_and_the_pod_is_then_ready(server: Mariadb, tmp_path: Path) -> None:
    done = sync(server, tmp_path, "rotated-password")
    assert done.returncode == 0, done.stderr
    assert logs_in(server, "rotated-password") and not logs_in(server, "first-password")
    assert (tmp_path / "synced").exists()
    assert "rotated-password" not in done.stdout + done.stderr
    # Every start of the pod runs it again: the same password is a no-op, and the grants stay.
    assert sync(server, tmp_path, "rotated-password").returncode == 0
    assert as_root(server, f"SHOW GRANTS FOR '{USER}'@'%'").count("`openedx`.*") == 1


def test_it_logs_in_as_root_with_roots_password_and_waits_until_that_works(server: Mariadb, tmp_path: Path) -> None:
    with pytest.raises(subprocess.TimeoutExpired) as waiting:
        sync(server, tmp_path, "rotated-password", root_password="not-roots", timeout=3)
    assert "retrying" in str(waiting.value.stderr)
    assert logs_in(server, "first-password") and not (tmp_path / "synced").exists()


def test_it_never_creates_the_user_the_image_creates_on_first_start(server: Mariadb, tmp_path: Path) -> None:
    as_root(server, f"DROP USER '{USER}'@'%'")
    with pytest.raises(subprocess.TimeoutExpired):
        sync(server, tmp_path, "rotated-password", timeout=3)
    assert as_root(server, f"SELECT COUNT(*) FROM mysql.user WHERE User = '{USER}'").strip() == "0"


def test_the_plugins_databases_are_created_and_granted_to_the_user_and_never_dropped(server: Mariadb,
                                                                                     tmp_path: Path) -> None:
    as_root(server, "CREATE DATABASE credentials CHARACTER SET latin1; CREATE TABLE credentials.kept (id INT); "
                    "INSERT INTO credentials.kept VALUES (1); CREATE DATABASE discovery;")
    done = sync(server, tmp_path, "password", extra_databases="notes credentials")
    assert done.returncode == 0, done.stderr
    assert "openedx has ALL on notes credentials" in done.stdout
    # Created as Tutor's databases are; one that exists is left as it is.
    assert as_root(server, "SELECT schema_name, default_character_set_name, default_collation_name "
                           "FROM information_schema.schemata WHERE schema_name IN ('notes', 'credentials') "
                           "ORDER BY 1").splitlines() == ["credentials\tlatin1\tlatin1_swedish_ci",
                                                          "notes\tutf8mb4\tutf8mb4_unicode_ci"]
    # The user works in each; an existing database keeps its data; another database stays out of its reach.
    for database in ("notes", "credentials"):
        created = as_user(server, "password", "CREATE TABLE t (id INT); DROP TABLE t;", database)
        assert created.returncode == 0, created.stderr
    assert as_user(server, "password", "SELECT id FROM kept", "credentials").stdout.split() == ["id", "1"]
    assert "denied" in as_user(server, "password", "SELECT 1", "discovery").stderr

    # A plugin removed: its database and its data stay, for the day it is enabled again.
    assert sync(server, tmp_path, "password", extra_databases="notes").returncode == 0
    assert as_user(server, "password", "SELECT id FROM kept", "credentials").stdout.split() == ["id", "1"]
    grants = as_root(server, f"SHOW GRANTS FOR '{USER}'@'%'")
    assert [grants.count(f"`{database}`.*") for database in ("openedx", "notes", "credentials")] == [1, 1, 1]


def test_a_name_that_is_not_a_database_name_stops_it_before_any_sql(server: Mariadb, tmp_path: Path) -> None:
    done = sync(server, tmp_path, "rotated-password", extra_databases="notes openedx`.*;DROP-DATABASE-openedx")
    assert done.returncode == 1 and "not a database name: openedx`.*;DROP-DATABASE-openedx" in done.stderr
    assert logs_in(server, "first-password") and not (tmp_path / "synced").exists()
    assert as_root(server, "SHOW DATABASES LIKE 'notes'").strip() == ""
