"""The MySQL side of a backup, run for real: the backup Job's own scripts against a MariaDB server the test
starts. A database with tables, rows and awkward values is dumped, given its manifest, restored into another
database and compared; the verification restores it into a scratch server and checks the counts; a corrupted or
unfinished backup is refused, naming what is wrong. The plugins' databases (notes, credentials) are parts of their
own, restored into the databases of the same plugins of another instance, whatever their names."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backups.servers import Mariadb, backup_py, mariadb, run_script

pytestmark = pytest.mark.xdist_group("mariadb")

PASSWORD = "s3cr#t pa'ss;word"  # quotes, a space and option-file comment characters: the option file must hold it
ROWS = {"courses": 3, "enrollments": 250, "empty_table": 0, "notes": 4}
# The plugins' databases of the instance `source`: named as on a shared server (`<database>_notes`) and as on the
# in-cluster one (`credentials`); the instance `target` has its own of each.
SOURCE_PLUGINS = ("source_notes", "credentials")
TARGET_PLUGINS = ("target_credentials", "target_notes")
PLUGIN_ROWS = {"mysql-notes.sql.gz": {"note": 3},
               "mysql-credentials.sql.gz": {"core_siteconfiguration": 0, "core_user": 2}}

SOURCE = """
CREATE TABLE courses (id INT PRIMARY KEY, title VARCHAR(200), created DATETIME);
CREATE TABLE enrollments (id INT AUTO_INCREMENT PRIMARY KEY, course_id INT NOT NULL, user VARCHAR(100),
  FOREIGN KEY (course_id) REFERENCES courses(id));
CREATE TABLE empty_table (id INT PRIMARY KEY);
CREATE TABLE notes (id INT PRIMARY KEY, body TEXT, data BLOB);
CREATE VIEW course_sizes AS SELECT course_id, COUNT(*) AS learners FROM enrollments GROUP BY course_id;
INSERT INTO courses VALUES (1, 'Intro (part 1), with ''quotes''', '2026-01-01 10:00:00'),
  (2, 'Tuples),(inside strings', NULL), (3, 'Backslash \\\\ and \\'escaped\\' quotes', NOW());
INSERT INTO notes VALUES (1, 'line\\nbreak', NULL), (2, '), (', 0x00FF28), (3, 'ünïcödé ✓', ''), (4, NULL, 0x29);
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mariadb]:
    with mariadb(tmp_path_factory.mktemp("mariadb")) as db:
        enrollments = ",".join(f"({1 + i % 3}, 'learner-{i}')" for i in range(ROWS["enrollments"]))
        db.sql(f"""
            CREATE DATABASE source CHARACTER SET utf8mb4; CREATE DATABASE target CHARACTER SET utf8mb4;
            CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '{PASSWORD.replace("'", "''")}';
            GRANT ALL PRIVILEGES ON source.* TO 'app'@'127.0.0.1';
            GRANT ALL PRIVILEGES ON target.* TO 'app'@'127.0.0.1';
            USE source; {SOURCE}
            INSERT INTO enrollments (course_id, user) VALUES {enrollments};
            USE target; CREATE TABLE leftover (id INT PRIMARY KEY); INSERT INTO leftover VALUES (1);
        """)
        for database in (*SOURCE_PLUGINS, *TARGET_PLUGINS, "unrelated"):
            db.sql(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
            if database != "unrelated":  # another instance's, which the user may not see
                db.sql(f"GRANT ALL PRIVILEGES ON {database}.* TO 'app'@'127.0.0.1'")
        db.sql("CREATE TABLE note (id INT PRIMARY KEY, text TEXT, course VARCHAR(100));"
               "INSERT INTO note VALUES (1, 'a note; with ''quotes''', 'course-v1:a+b+c'), (2, '), (', NULL),"
               " (3, 'ünïcödé', 'x');", "source_notes")
        db.sql("CREATE TABLE core_user (id INT PRIMARY KEY, username VARCHAR(100));"
               "CREATE TABLE core_siteconfiguration (id INT PRIMARY KEY);"
               "INSERT INTO core_user VALUES (1, 'ada'), (2, 'grace');", "credentials")
        yield db


def dump(server: Mariadb, work: Path, database: str = "source", plugins: tuple[str, ...] = ()) -> dict:
    run_script("mysql.sh", "dump", server.env(database, "app", PASSWORD, plugins), work)

    backup_py("manifest", str(work / "parts"), "--name", "20261203T050000Z", "--name-file", str(work / "name"),
              "--kind", "manual", "--instance", "demo", "--openedx-version", "22.0.3", "--tutor-version", "22.0.3",
              "--mongodb-database", "openedx")
    manifest: dict = json.loads((work / "parts/manifest.json").read_text())
    return manifest


def contents(server: Mariadb, database: str) -> dict[str, str]:
    tables = server.sql("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
                        "ORDER BY table_name", database).split()
    return {table: server.sql(f"SELECT * FROM `{table}` ORDER BY 1", database) for table in tables}


def test_a_dump_restored_into_another_database_holds_the_same_rows(server: Mariadb, tmp_path: Path) -> None:
    manifest = dump(server, tmp_path)

    part = manifest["parts"]["mysql.sql.gz"]
    assert part["rows"] == ROWS  # counted from the dump: the tuples of its INSERTs, strings holding "),(" aside
    assert part["bytes"] == (tmp_path / "parts/mysql.sql.gz").stat().st_size
    assert manifest["name"] == "20261203T050000Z" and manifest["kind"] == "manual"
    assert manifest["versions"] == {"openedx": "22.0.3", "tutor": "22.0.3"}
    assert (tmp_path / "name").read_text().strip() == "20261203T050000Z"
    dumped = gzip.decompress((tmp_path / "parts/mysql.sql.gz").read_bytes()).decode()
    assert "CREATE DATABASE" not in dumped and "USE `" not in dumped  # restorable into a database of another name

    shutil.copytree(tmp_path / "parts", tmp_path / "backup")
    assert backup_py("check", str(tmp_path / "backup")).returncode == 0
    run_script("mysql.sh", "restore", server.env("target", "app", PASSWORD), tmp_path)

    assert contents(server, "target") == contents(server, "source")
    assert "leftover" not in contents(server, "target")  # a restore replaces the database
    assert server.sql("SELECT learners FROM course_sizes WHERE course_id = 1", "target").strip() == "84"


def test_the_verification_restores_into_a_scratch_server_and_compares_counts(server: Mariadb, tmp_path: Path
                                                                             ) -> None:
    dump(server, tmp_path)
    shutil.copytree(tmp_path / "parts", tmp_path / "backup")

    verified = run_script("mysql.sh", "verify", server.env("source", "app", PASSWORD),
                          tmp_path)
    assert "counted 4 tables" in verified.stdout
    compared = backup_py("compare", str(tmp_path / "backup"), str(tmp_path / "counts"))
    assert "verified backup 20261203T050000Z" in compared.stdout

    # A restore that lost rows is reported, naming the table.
    counts = tmp_path / "counts/mysql.counts"
    counts.write_text(counts.read_text().replace("enrollments\t250", "enrollments\t249"))
    failed = backup_py("compare", str(tmp_path / "backup"), str(tmp_path / "counts"), check=False)
    assert failed.returncode == 1
    assert "enrollments has 249 rows restored, the backup holds 250" in failed.stderr


def test_a_corrupted_or_unfinished_backup_is_refused_naming_what_is_wrong(server: Mariadb, tmp_path: Path) -> None:
    dump(server, tmp_path)
    part = tmp_path / "parts/mysql.sql.gz"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))

    corrupted = backup_py("check", str(tmp_path / "parts"), check=False)
    assert corrupted.returncode == 1
    assert "part mysql.sql.gz does not match its sha256 in the manifest" in corrupted.stderr

    (tmp_path / "parts/manifest.json").unlink()
    unfinished = backup_py("check", str(tmp_path / "parts"), check=False)
    assert unfinished.returncode == 1
    assert "manifest.json is missing" in unfinished.stderr


def test_a_tutor_operators_dump_is_adopted_and_restored(server: Mariadb, tmp_path: Path) -> None:
    """What `tutor local` operators run (`mysqldump --databases openedx` is not what they run; a plain dump of the
    database is), made by the test with MariaDB's mysqldump, then restored like one of our backups."""
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "openedx.sql").write_text(run_script("mysql.sh", "dump", server.env("source", "app", PASSWORD),
                                                   tmp_path) and gzip.decompress(
        (tmp_path / "parts/mysql.sql.gz").read_bytes()).decode())

    (tmp_path / "name").write_text("tutor-import\n")  # what the fetch step writes

    adopted = backup_py("check", str(folder), "--adopt", "true", "--name-file", str(tmp_path / "name"),
                        "--instance", "demo", "--openedx-version", "22.0.3", "--tutor-version", "21.0.0")
    assert "Tutor dumps adopted as backup tutor-import: mysql.sql.gz" in adopted.stdout
    assert "1 parts match the manifest" in adopted.stdout
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "imported" and manifest["parts"]["mysql.sql.gz"]["rows"] == ROWS
    assert manifest["versions"] == {"openedx": "22.0.3", "tutor": "21.0.0"}
    run_script("mysql.sh", "restore", server.env("target", "app", PASSWORD), tmp_path)
    assert contents(server, "target") == contents(server, "source")


# --- the plugins' databases ----------------------------------------------------------------------------------------


def test_each_plugin_database_is_a_part_restored_into_the_same_plugins_database_of_another_instance(
        server: Mariadb, tmp_path: Path) -> None:
    manifest = dump(server, tmp_path, plugins=SOURCE_PLUGINS)

    assert sorted(manifest["parts"]) == ["mysql-credentials.sql.gz", "mysql-notes.sql.gz", "mysql.sql.gz"]
    assert manifest["parts"]["mysql.sql.gz"]["rows"] == ROWS  # the instance's own database, as before
    for part, rows in PLUGIN_ROWS.items():
        assert manifest["parts"][part]["rows"] == rows
        assert manifest["parts"][part]["bytes"] == (tmp_path / "parts" / part).stat().st_size
    server.sql("CREATE TABLE IF NOT EXISTS leftover (id INT); INSERT INTO leftover VALUES (1);", "target_notes")

    shutil.copytree(tmp_path / "parts", tmp_path / "backup")
    assert "3 parts match the manifest" in backup_py("check", str(tmp_path / "backup")).stdout
    restored = run_script("mysql.sh", "restore", server.env("target", "app", PASSWORD, TARGET_PLUGINS), tmp_path)

    assert contents(server, "target") == contents(server, "source")
    assert contents(server, "target_notes") == contents(server, "source_notes")  # by plugin, whatever the names
    assert contents(server, "target_credentials") == contents(server, "credentials")
    assert "restored mysql-notes.sql.gz into target_notes" in restored.stdout


def test_the_verification_restores_and_counts_every_database_of_the_backup(server: Mariadb, tmp_path: Path) -> None:
    dump(server, tmp_path, plugins=SOURCE_PLUGINS)
    shutil.copytree(tmp_path / "parts", tmp_path / "backup")

    # What is verified is the backup: every part it holds, whatever the instance's databases are now.
    verified = run_script("mysql.sh", "verify", server.env("source", "app", PASSWORD), tmp_path)
    assert "counted 7 tables in the scratch server (mysql.sql.gz mysql-" in verified.stdout
    compared = backup_py("compare", str(tmp_path / "backup"), str(tmp_path / "counts"))
    assert "restored 7 tables (mysql-credentials.sql.gz, mysql-notes.sql.gz, mysql.sql.gz)" in compared.stdout

    counts = tmp_path / "counts/mysql-notes.counts"
    counts.write_text(counts.read_text().replace("note\t3", "note\t1"))
    (tmp_path / "counts/mysql-credentials.counts").unlink()
    failed = backup_py("compare", str(tmp_path / "backup"), str(tmp_path / "counts"), check=False)
    assert failed.returncode == 1
    assert "mysql-notes.sql.gz: note has 1 rows restored, the backup holds 3" in failed.stderr
    assert "mysql-credentials.sql.gz: no counts were taken after the restore" in failed.stderr


@pytest.mark.parametrize("plugins", [("source_notes", "source_discovery"), ("source_notes", "unrelated")],
                         ids=["missing", "not-granted"])
def test_a_backup_fails_before_dumping_when_a_plugin_database_is_not_there(server: Mariadb, tmp_path: Path,
                                                                          plugins: tuple[str, ...]) -> None:
    """A plugin's database is created before the instance's Release is upgraded: a backup that cannot dump one is
    a fault to see, never a backup that silently lacks a database."""
    failed = run_script("mysql.sh", "dump", server.env("source", "app", PASSWORD, plugins), tmp_path, check=False)
    assert failed.returncode == 1
    assert f"database {plugins[1]} does not exist on 127.0.0.1, or app has no privilege on it" in failed.stderr
    assert "nothing was dumped" in failed.stderr
    assert not (tmp_path / "parts").exists()


@pytest.mark.parametrize(("plugins", "message"), [
    (("notes", "source_notes"), "would both be part mysql-notes.sql.gz"),
    (("source",), "'source' of MYSQL_EXTRA_DATABASES is not a database of its own"),
    (("source_",), "'source_' of MYSQL_EXTRA_DATABASES is not a database of its own"),
    (("notes`;DROP DATABASE source;--",), "is not a database of its own"),
], ids=["same-part", "the-instances-own", "no-key", "not-an-identifier"])
def test_plugin_databases_whose_parts_would_be_wrong_are_refused(server: Mariadb, tmp_path: Path,
                                                                 plugins: tuple[str, ...], message: str) -> None:
    for command in ("dump", "restore"):
        failed = run_script("mysql.sh", command, server.env("source", "app", PASSWORD, plugins), tmp_path,
                            check=False)
        assert failed.returncode == 1 and message in failed.stderr, command
    assert server.sql("SHOW DATABASES LIKE 'source'").strip() == "source"


def test_a_backup_from_before_a_plugin_restores_and_leaves_the_plugins_database_as_it_is(server: Mariadb,
                                                                                          tmp_path: Path) -> None:
    dump(server, tmp_path)  # no plugin then: mysql.sql.gz only, as every backup made before plugins
    shutil.copytree(tmp_path / "parts", tmp_path / "backup")
    server.sql("CREATE TABLE IF NOT EXISTS kept (id INT); INSERT INTO kept VALUES (7);", "target_notes")

    restored = run_script("mysql.sh", "restore", server.env("target", "app", PASSWORD, TARGET_PLUGINS), tmp_path)
    assert contents(server, "target") == contents(server, "source")
    assert "7" in server.sql("SELECT id FROM kept", "target_notes").split()
    assert "target_notes is left as it is: the backup holds no dump of it" in restored.stdout


def test_a_part_of_a_plugin_the_instance_no_longer_has_is_not_restored(server: Mariadb, tmp_path: Path) -> None:
    dump(server, tmp_path, plugins=SOURCE_PLUGINS)
    shutil.copytree(tmp_path / "parts", tmp_path / "backup")
    server.sql("CREATE TABLE IF NOT EXISTS kept (id INT);", "target_credentials")

    restored = run_script("mysql.sh", "restore", server.env("target", "app", PASSWORD, ("target_notes",)), tmp_path)
    assert contents(server, "target") == contents(server, "source")
    assert contents(server, "target_notes") == contents(server, "source_notes")
    assert "mysql-credentials.sql.gz is not restored: no database of this instance is its" in restored.stdout
    assert "kept" in contents(server, "target_credentials")


def test_a_restore_into_a_plugin_database_that_is_not_there_replaces_nothing(server: Mariadb,
                                                                             tmp_path: Path) -> None:
    dump(server, tmp_path, plugins=SOURCE_PLUGINS)
    shutil.copytree(tmp_path / "parts", tmp_path / "backup")
    # An instance whose notes database was never created.
    server.sql("CREATE DATABASE IF NOT EXISTS other; GRANT ALL PRIVILEGES ON other.* TO 'app'@'127.0.0.1';"
               "CREATE TABLE IF NOT EXISTS other.leftover (id INT);")

    failed = run_script("mysql.sh", "restore", server.env("other", "app", PASSWORD, ("other_notes",)), tmp_path,
                        check=False)
    assert failed.returncode == 1
    assert "database other_notes does not exist" in failed.stderr and "nothing was restored" in failed.stderr
    assert list(contents(server, "other")) == ["leftover"]  # the instance's own database was not touched either
