"""backup.py's file logic on its own: row counts from both dump formats, mongodump's report, retention, the
listing, the adoption of a Tutor operator's dumps (MySQL, its plugins' too, and MongoDB), the checks of a backup's
files, of a manifest made before the plugins' parts too."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from tests.backups.servers import SCRIPTS


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("backup", SCRIPTS / "backup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


backup = _load()

# MySQL 8's mysqldump: each INSERT on one line. (MariaDB's, a row per line, runs in test_mysql_roundtrip.)
MYSQL_DUMP = """-- MySQL dump 10.13  Distrib 8.4.11, for Linux (x86_64)
CREATE TABLE `auth_user` (
  `id` int NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;
LOCK TABLES `auth_user` WRITE;
INSERT INTO `auth_user` VALUES (1,'ada','(x),(y)'),(2,'it\\'s','a\\\\'),(3,NULL,'');
INSERT INTO `auth_user` VALUES (4,'more','rows');
UNLOCK TABLES;
CREATE TABLE `odd``name` (`id` int);
CREATE TABLE `empty` (`id` int);
INSERT INTO `odd``name` VALUES (1);
"""

# mongodump 100.x reports what it wrote to stderr, a line per collection.
MONGODUMP_REPORT = """2026-12-03T03:17:01.123+0000	writing openedx.modulestore.structures to archive
2026-12-03T03:17:01.456+0000	done dumping openedx.modulestore.structures (1523 documents)
2026-12-03T03:17:01.457+0000	done dumping openedx.fs.chunks (1 document)
2026-12-03T03:17:01.458+0000	done dumping openedx.modulestore.active_versions (0 documents)
2026-12-03T03:17:01.459+0000	done dumping other.things (7 documents)
"""


def test_rows_are_counted_from_mysqls_dump_format(tmp_path: Path) -> None:
    dump = tmp_path / "mysql.sql.gz"
    dump.write_bytes(gzip.compress(MYSQL_DUMP.encode()))
    assert backup.mysql_rows(dump) == {"auth_user": 4, "empty": 0, "odd`name": 1}


def test_documents_are_counted_from_mongodumps_report_for_the_database_only() -> None:
    assert backup.mongodb_documents(MONGODUMP_REPORT.splitlines(), "openedx") == {
        "fs.chunks": 1, "modulestore.active_versions": 0, "modulestore.structures": 1523}


def listing(*entries: tuple[str, int]) -> list[dict[str, object]]:
    return [{"Path": path, "Size": size} for path, size in entries]


NOW = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)


def test_retention_keeps_the_newest_complete_backups_within_their_age() -> None:
    found = listing(
        ("20261203T031700Z/mysql.sql.gz", 10), ("20261203T031700Z/manifest.json", 1),
        ("20261202T031700Z/mysql.sql.gz", 10), ("20261202T031700Z/manifest.json", 1),
        ("20261201T031700Z/mysql.sql.gz", 10), ("20261201T031700Z/manifest.json", 1),
        ("20261001T031700Z/mysql.sql.gz", 10), ("20261001T031700Z/manifest.json", 1),
        ("20261203T035900Z/mysql.sql.gz", 10),  # being written now: never deleted
        ("20261130T031700Z/mysql.sql.gz", 10),  # unfinished three days ago
        ("from-tutor/openedx.sql", 10),  # not a backup
    )
    assert backup.to_prune(found, keep=2, max_age=timedelta(days=30), now=NOW) == [
        "20261001T031700Z", "20261130T031700Z", "20261201T031700Z"]
    # The newest complete backup stays, however old.
    old = listing(("20250101T000000Z/manifest.json", 1), ("20240101T000000Z/manifest.json", 1))
    assert backup.to_prune(old, keep=5, max_age=timedelta(days=30), now=NOW) == ["20240101T000000Z"]


def test_the_listing_table() -> None:
    table = backup.table(listing(("20261203T031700Z/mysql.sql.gz", 2048), ("20261203T031700Z/manifest.json", 100),
                                 ("20261130T031700Z/mysql.sql.gz", 5)))
    assert table.splitlines() == [
        "BACKUP             COMPLETE PARTS         SIZE",
        "20261203T031700Z   yes          1      2.1 KiB",
        "20261130T031700Z   no           1          5 B",
    ]
    assert backup.table([]).splitlines()[1] == "(no backup yet)"


def test_a_tutor_mongodump_archive_is_adopted_with_its_database_name(tmp_path: Path) -> None:
    folder = tmp_path / "from-tutor"
    folder.mkdir()
    (folder / "openedx.sql").write_text(MYSQL_DUMP)
    (folder / "openedx.archive").write_bytes(b"\x6d\xe2\x99\x81 an archive")
    manifest = backup.adopt(folder, name="from-tutor", instance="demo", versions={"openedx": "x", "tutor": "y"})
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "mongodb.archive.gz", "mysql.sql.gz"]
    assert gzip.decompress((folder / "mongodb.archive.gz").read_bytes()) == b"\x6d\xe2\x99\x81 an archive"
    part = manifest["parts"]["mongodb.archive.gz"]
    assert part["database"] == "openedx" and "documents" not in part  # no report: not counted, still checksummed
    assert manifest["parts"]["mysql.sql.gz"]["rows"]["auth_user"] == 4
    assert backup.check(folder) == json.loads((folder / "manifest.json").read_text())


def test_a_tutor_operators_plugin_dumps_are_adopted_as_the_plugins_parts(tmp_path: Path) -> None:
    """Tutor names the plugins' databases after them (notes, credentials): each dump is that plugin's part."""
    folder = tmp_path / "from-tutor"
    folder.mkdir()
    (folder / "openedx.sql").write_text(MYSQL_DUMP)
    (folder / "notes.sql.gz").write_bytes(gzip.compress(b"CREATE TABLE `note` (`id` int);\n"
                                                        b"INSERT INTO `note` VALUES (1),(2);\n"))
    (folder / "credentials.sql").write_text("CREATE TABLE `core_user` (`id` int);\n")
    manifest = backup.adopt(folder, name="from-tutor", instance="demo", versions={})
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json", "mysql-credentials.sql.gz", "mysql-notes.sql.gz", "mysql.sql.gz"]
    assert {name: part["rows"] for name, part in manifest["parts"].items()} == {
        "mysql.sql.gz": {"auth_user": 4, "empty": 0, "odd`name": 1},
        "mysql-notes.sql.gz": {"note": 2}, "mysql-credentials.sql.gz": {"core_user": 0}}
    assert backup.check(folder) == manifest


@pytest.mark.parametrize(("dumps", "found"), [
    (("a.sql", "b.sql.gz"), "['b.sql.gz', 'a.sql']"),  # several, none of them Tutor's `openedx`
    (("openedx.sql", "notes.sql", "notes.sql.gz"), "['notes.sql.gz', 'notes.sql', 'openedx.sql']"),
    (("openedx.sql", "my-notes.sql"), "['my-notes.sql', 'openedx.sql']"),  # not a database name
])
def test_adopting_dumps_that_are_not_one_per_database_names_what_it_found(tmp_path: Path, dumps: tuple[str, ...],
                                                                           found: str) -> None:
    for name in dumps:
        (tmp_path / name).write_bytes(gzip.compress(b"") if name.endswith(".gz") else b"")
    with pytest.raises(backup.CheckFailed, match=rf"expected openedx.sql .*, found {re.escape(found)}$"):
        backup.adopt(tmp_path, name="x", instance="demo", versions={})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(dumps)  # left as they were


def test_adopting_a_folder_without_a_mysql_dump_names_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "openedx.archive").write_bytes(b"archive")
    with pytest.raises(backup.CheckFailed, match=r"expected a MySQL dump .* found \['openedx.archive'\]"):
        backup.adopt(tmp_path, name="x", instance="demo", versions={})


def write_dump(folder: Path, name: str, text: str) -> dict[str, object]:
    """A part as a backup holds it, and its manifest entry (bytes, sha256) as computed here."""
    data = gzip.compress(text.encode())
    (folder / name).write_bytes(data)
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_a_manifest_written_before_the_plugins_parts_still_verifies(tmp_path: Path) -> None:
    """A backup of the instance's database alone (every backup made before plugins had databases)."""
    folder, counts = tmp_path / "20261101T031700Z", tmp_path / "counts"
    folder.mkdir()
    counts.mkdir()
    part = write_dump(folder, "mysql.sql.gz", MYSQL_DUMP)
    (folder / "manifest.json").write_text(json.dumps({
        "format": 1, "name": "20261101T031700Z", "kind": "scheduled", "instance": "demo",
        "completed": "2026-11-01T03:20:00Z", "versions": {"openedx": "22.0.3", "tutor": "22.0.3"},
        "parts": {"mysql.sql.gz": {**part, "rows": {"auth_user": 4, "empty": 0, "odd`name": 1}}}}))
    (counts / "mysql.counts").write_text("auth_user\t4\nempty\t0\nodd`name\t1\n")
    assert backup.compare(backup.check(folder), counts) == []
    (counts / "mysql.counts").write_text("auth_user\t4\nempty\t0\n")
    assert backup.compare(backup.check(folder), counts) == [
        "mysql.sql.gz: odd`name has no rows restored, the backup holds 1"]


def test_a_file_the_manifest_does_not_list_is_refused(tmp_path: Path) -> None:
    """A restore takes every MySQL part it finds: one that no checksum vouches for is never restored."""
    part = write_dump(tmp_path, "mysql.sql.gz", MYSQL_DUMP)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "name": "n", "parts": {"mysql.sql.gz": part}}))
    assert backup.check(tmp_path)["parts"] == {"mysql.sql.gz": part}
    write_dump(tmp_path, "mysql-notes.sql.gz", "DROP TABLE `auth_user`;\n")
    with pytest.raises(backup.CheckFailed, match=r"mysql-notes\.sql\.gz is not a part of the manifest"):
        backup.check(tmp_path)


def test_a_manifest_needs_the_mongodump_report_it_counts_from(tmp_path: Path) -> None:
    (tmp_path / "mysql.sql.gz").write_bytes(gzip.compress(MYSQL_DUMP.encode()))
    (tmp_path / "mongodb.archive.gz").write_bytes(b"archive")
    with pytest.raises(backup.CheckFailed, match=r"mongodump's report .* is missing"):
        backup.build_manifest(tmp_path, name="n", kind="manual", instance="demo", versions={},
                              mongodb_database="openedx", mongodb_report=tmp_path / "none.log")
    report = tmp_path / "mongodb.log"
    report.write_text(MONGODUMP_REPORT)
    manifest = backup.build_manifest(tmp_path, name="n", kind="manual", instance="demo", versions={},
                                     mongodb_database="openedx", mongodb_report=report)
    assert manifest["parts"]["mongodb.archive.gz"]["documents"]["modulestore.structures"] == 1523
