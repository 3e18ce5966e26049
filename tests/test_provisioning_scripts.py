"""The openedx-provisioning chart's MySQL scripts, run as its Jobs run them, against a real server (Debian's MariaDB):
the instance's databases (its own and its plugins') and user with their connection limit, a rotation, and the drop
when the instance goes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.charts import PROJECT_DIR
from tests.backups.servers import Mariadb, mariadb

FILES = PROJECT_DIR / "charts/openedx-provisioning/files"
DATABASE = USER = "openedx_campus"
PLUGINS = ("openedx_campus_notes", "openedx_campus_credentials")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Mariadb]:
    with mariadb(tmp_path) as running:
        # An admin as a managed server has one (root stays the test's), and no anonymous users, which would take
        # the TCP logins of the instance's user from localhost.
        running.sql("DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES;"
                    "CREATE USER 'admin'@'%' IDENTIFIED BY 'admin-pass'; "
                    "GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION;")
        yield running


def run(server: Mariadb, tmp_path: Path, action: str, password: str = "", limit: int = 0,
        extra_databases: str = "") -> subprocess.CompletedProcess[str]:
    """files/mysql.sh with the Job's environment (ACTION among it) and credentials files. MariaDB's client has no
    --ssl-mode (MySQL's, in the Job's image, has): a `mysql` first on PATH drops it."""
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "mysql").write_text('#!/bin/sh\nfor a; do shift; case "$a" in --ssl-mode=*) ;; *) set -- "$@" "$a";; esac;'
                                ' done\nexec mariadb --no-defaults --skip-ssl "$@"\n')
    (shim / "mysql").chmod(0o755)
    credentials = tmp_path / "credentials"  # the Job's projected volume
    credentials.mkdir(exist_ok=True)
    for name, value in (("admin-username", "admin"), ("admin-password", "admin-pass"), ("app-password", password)):
        (credentials / name).write_text(value)
    env = {"PATH": f"{shim}:{os.environ['PATH']}", "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(server.port),
           "SSL_MODE": "PREFERRED", "DATABASE": DATABASE, "APP_USER": USER, "MAX_CONNECTIONS": str(limit),
           "CREDENTIALS": str(credentials), "HOME": str(tmp_path), "ACTION": action,
           "EXTRA_DATABASES": extra_databases}
    return subprocess.run(["bash", "-c", (FILES / "mysql.sh").read_text()], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def login(server: Mariadb, password: str, database: str = DATABASE) -> subprocess.Popen[str]:
    """A session of the instance's user, held open until closed; each result line comes as soon as it is read."""
    return subprocess.Popen(
        ["mariadb", "--no-defaults", "--host=127.0.0.1", f"--port={server.port}", f"--user={USER}",
         f"--password={password}", "--batch", "--skip-column-names", "--unbuffered", database],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def logs_in(server: Mariadb, password: str) -> bool:
    session = login(server, password)
    session.communicate("SELECT 1;", timeout=30)
    return session.returncode == 0


def test_the_instance_gets_its_database_and_user_and_a_rotation_reaches_the_server(server: Mariadb,
                                                                                    tmp_path: Path) -> None:
    done = run(server, tmp_path, "provision", "first-password", limit=30)
    assert done.returncode == 0, done.stderr
    assert "first-password" not in done.stdout + done.stderr
    assert server.sql(f"SHOW DATABASES LIKE '{DATABASE}'").strip() == DATABASE
    assert logs_in(server, "first-password")
    assert server.sql(f"SHOW GRANTS FOR '{USER}'@'%'").count(f"`{DATABASE}`.*") == 1
    # A rotation runs it again: the new password only, the database and its data stay.
    server.sql("CREATE TABLE kept (id INT); INSERT INTO kept VALUES (1);", DATABASE)
    assert run(server, tmp_path, "provision", "rotated-password", limit=30).returncode == 0
    assert logs_in(server, "rotated-password") and not logs_in(server, "first-password")
    assert server.sql("SELECT COUNT(*) FROM kept", DATABASE).strip() == "1"


def test_the_user_may_not_open_more_connections_than_its_limit(server: Mariadb, tmp_path: Path) -> None:
    assert run(server, tmp_path, "provision", "password", limit=3).returncode == 0
    sessions = [login(server, "password") for _ in range(3)]
    try:
        for session in sessions:  # each one logged in and waits on its stdin
            assert session.stdin is not None
            session.stdin.write("SELECT 1;\n")
            session.stdin.flush()
            assert session.stdout is not None and session.stdout.readline().strip() == "1"
        refused = login(server, "password")
        _, error = refused.communicate("SELECT 1;", timeout=30)
        assert refused.returncode != 0 and "max_user_connections" in error
    finally:
        for session in sessions:
            session.communicate("", timeout=30)
    # A new limit reaches the existing user.
    assert "MAX_USER_CONNECTIONS 3" in server.sql(f"SHOW CREATE USER '{USER}'@'%'")
    assert run(server, tmp_path, "provision", "password", limit=40).returncode == 0
    assert "MAX_USER_CONNECTIONS 40" in server.sql(f"SHOW CREATE USER '{USER}'@'%'")


def test_the_removal_drops_the_database_and_the_user_and_may_run_again(server: Mariadb, tmp_path: Path) -> None:
    assert run(server, tmp_path, "provision", "password", limit=10).returncode == 0
    for _ in range(2):
        done = run(server, tmp_path, "deprovision")
        assert done.returncode == 0, done.stderr
        assert server.sql(f"SHOW DATABASES LIKE '{DATABASE}'").strip() == ""
        assert server.sql(f"SELECT COUNT(*) FROM mysql.user WHERE User = '{USER}'").strip() == "0"


def works_in(server: Mariadb, password: str, database: str) -> bool:
    session = login(server, password, database)
    session.communicate("CREATE TABLE t (id INT); DROP TABLE t;", timeout=30)
    return session.returncode == 0


def test_the_plugins_databases_are_provisioned_and_dropped_with_the_instances(server: Mariadb,
                                                                              tmp_path: Path) -> None:
    server.sql("CREATE DATABASE openedx_other_notes")  # another instance's
    done = run(server, tmp_path, "provision", "password", limit=10, extra_databases=" ".join(PLUGINS))
    assert done.returncode == 0, done.stderr
    created = server.sql("SELECT schema_name, default_character_set_name, default_collation_name "
                         "FROM information_schema.schemata WHERE schema_name LIKE 'openedx_campus%' ORDER BY 1")
    assert created.splitlines() == [f"{name}\tutf8mb4\tutf8mb4_unicode_ci" for name in sorted((DATABASE, *PLUGINS))]
    assert all(works_in(server, "password", database) for database in (DATABASE, *PLUGINS))
    assert not works_in(server, "password", "openedx_other_notes")
    # Provisioned again (an upgrade, a rotation): the data stays.
    server.sql("CREATE TABLE kept (id INT); INSERT INTO kept VALUES (1);", PLUGINS[0])
    assert run(server, tmp_path, "provision", "rotated", limit=10, extra_databases=" ".join(PLUGINS)).returncode == 0
    assert server.sql("SELECT COUNT(*) FROM kept", PLUGINS[0]).strip() == "1"

    done = run(server, tmp_path, "deprovision", extra_databases=" ".join(PLUGINS))
    assert done.returncode == 0, done.stderr
    assert server.sql("SHOW DATABASES LIKE 'openedx\\_%'").split() == ["openedx_other_notes"]


def test_a_name_that_is_not_a_database_name_stops_it_before_any_sql(server: Mariadb, tmp_path: Path) -> None:
    for action in ("provision", "deprovision"):
        done = run(server, tmp_path, action, "password", extra_databases="notes x`;DROP-DATABASE-mysql")
        assert done.returncode == 2 and "not a database name: x`;DROP-DATABASE-mysql" in done.stderr
    assert server.sql(f"SELECT COUNT(*) FROM mysql.user WHERE User = '{USER}'").strip() == "0"
