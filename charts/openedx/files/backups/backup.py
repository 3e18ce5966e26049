"""The file side of an instance's logical backups: manifests, checksums, counts, retention. Standard library only.

It runs in the instance's openedx image (whose Python is the one every instance has), between the containers that
talk to the databases (the mysql and mongo images' own dump and restore tools) and the one that talks to storage
(rclone). It never opens a network connection: it reads and writes files in the pod's work directory.

    backup.py manifest DIR --kind KIND --instance I --openedx-version V --tutor-version V --mongodb-database D
    backup.py check DIR                     refuses a backup without manifest, or with a part that does not match
    backup.py check DIR --adopt true --name-file F --instance I ...
                                            a Tutor operator's dumps made into a backup (writes its manifest)
    backup.py compare DIR COUNTS            the counts of a restore against the manifest; the status line
    backup.py prune LISTING --keep N --max-age-days D --out F   the backups retention deletes, a name per line
    backup.py list LISTING                  a table of the backups in a storage listing

A backup is a folder NAME (a UTC time, `20261203T045500Z`) holding its parts and `manifest.json`, which is written
last: a folder without one is a backup that did not finish, never restored, removed by retention after a day. The
MySQL parts are `mysql.sql.gz` (the instance's database) and `mysql-<key>.sql.gz` (a plugin's: mysql.sh says which
database is which); every part holding a MySQL dump has its rows per table in the manifest, and its restore's counts
in `<part without .sql.gz>.counts`.
Exit codes: 0 done, 1 a check failed (the message names the part), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FORMAT = 1
MANIFEST = "manifest.json"
MYSQL_PART = "mysql.sql.gz"
MYSQL_PARTS = re.compile(r"^mysql(-[A-Za-z0-9_]{1,64})?\.sql\.gz$")
TUTOR_DATABASE = "openedx"  # Tutor's OPENEDX_MYSQL_DATABASE
MONGODB_PART = "mongodb.archive.gz"
NAME = re.compile(r"^\d{8}T\d{6}Z$")
NAME_FORMAT = "%Y%m%dT%H%M%SZ"
INCOMPLETE_GRACE = timedelta(days=1)
CHUNK = 1 << 20

# mysqldump's data lines: `INSERT INTO `table` VALUES (...),(...);`. Quoted strings are removed first (backslash
# escapes, as mysqldump writes them); what remains holds no parenthesis but the row tuples' own.
_INSERT = re.compile(r"^INSERT INTO `((?:[^`]|``)+)` VALUES\s*")
_CREATE = re.compile(r"^CREATE TABLE `((?:[^`]|``)+)` \(")
_STRING = re.compile(r"'(?:[^'\\]|\\.|'')*'")
# mongodump reports each collection it wrote: `done dumping openedx.modulestore.structures (12 documents)`.
_DUMPED = re.compile(r"done dumping (?P<database>[^.\s]+)\.(?P<collection>\S+) \((?P<count>\d+) documents?\)")


class CheckFailed(Exception):
    """A backup that must not be restored, or a restore that does not hold what its backup did."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _open_text(path: Path) -> Iterator[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="surrogateescape") as stream:
        yield from stream


def mysql_rows(path: Path) -> dict[str, int]:
    """Rows per table of a mysqldump file (gzip or plain): every table it creates, with the rows it inserts. An
    INSERT may span lines (MariaDB's dump puts a row per line) and ends with `;`; strings never span lines (the
    dump escapes newlines)."""
    rows: dict[str, int] = {}
    table = None
    for line in _open_text(path):
        if table is None:
            if created := _CREATE.match(line):
                rows.setdefault(created.group(1).replace("``", "`"), 0)
                continue
            if not (inserted := _INSERT.match(line)):
                continue
            table, line = inserted.group(1).replace("``", "`"), line[inserted.end():]
        values = _STRING.sub("", line).rstrip()
        rows[table] = rows.get(table, 0) + values.count("(")
        if values.endswith(";"):
            table = None
    return dict(sorted(rows.items()))


def mongodb_documents(log: Iterable[str], database: str) -> dict[str, int]:
    """Documents per collection of `database`, from mongodump's report."""
    found = (_DUMPED.search(line) for line in log)
    return dict(sorted((m["collection"], int(m["count"])) for m in found if m and m["database"] == database))


def _part(path: Path) -> dict[str, Any]:
    return {"bytes": path.stat().st_size, "sha256": sha256(path)}


def build_manifest(folder: Path, *, name: str, kind: str, instance: str, versions: dict[str, str],
                   mongodb_database: str, mongodb_report: Path | None = None) -> dict[str, Any]:
    """The manifest of the parts in `folder`: the rows of each MySQL dump and, from mongodump's report, the
    documents of the MongoDB archive of `mongodb_database`."""
    parts: dict[str, Any] = {}
    for path in sorted(folder.iterdir()):
        if path.name == MANIFEST or not path.is_file():
            continue
        part = _part(path)
        if MYSQL_PARTS.match(path.name):
            part["rows"] = mysql_rows(path)
        elif path.name == MONGODB_PART:
            part["database"] = mongodb_database
            if mongodb_report is not None:
                if not mongodb_report.is_file():
                    raise CheckFailed(f"{path.name}: mongodump's report {mongodb_report} is missing")
                part["documents"] = mongodb_documents(mongodb_report.read_text().splitlines(), mongodb_database)
        parts[path.name] = part
    if MYSQL_PART not in parts:
        raise CheckFailed(f"{MYSQL_PART} is missing: there is no MySQL dump to back up")
    return {
        "format": FORMAT,
        "name": name,
        "kind": kind,
        "instance": instance,
        "completed": _now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions,
        "parts": parts,
    }


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise CheckFailed(f"{folder.name}: {MANIFEST} is missing: the backup did not finish, or is not one of ours "
                          "(a Tutor operator's dumps are restored with --tutor)")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except ValueError as error:
        raise CheckFailed(f"{folder.name}: {MANIFEST} is not JSON: {error}") from None
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("parts"), dict):
        raise CheckFailed(f"{folder.name}: {MANIFEST} is not a format-{FORMAT} manifest")
    return manifest


def check(folder: Path) -> dict[str, Any]:
    """The manifest of a backup whose every part is present with its size and sha256, and which holds no file the
    manifest does not list (a restore takes every MySQL part it finds); CheckFailed names the first that is not."""
    manifest = read_manifest(folder)
    for path in sorted(folder.iterdir()):
        if path.name != MANIFEST and path.name not in manifest["parts"]:
            raise CheckFailed(f"{path.name} is not a part of the manifest: a backup holds nothing else")
    for name, expected in sorted(manifest["parts"].items()):
        path = folder / name
        if not path.is_file():
            raise CheckFailed(f"part {name} is missing")
        if path.stat().st_size != expected["bytes"]:
            raise CheckFailed(f"part {name} has {path.stat().st_size} bytes, the manifest says {expected['bytes']}")
        if sha256(path) != expected["sha256"]:
            raise CheckFailed(f"part {name} does not match its sha256 in the manifest: it is corrupted")
    return manifest


def _pack(source: Path, target: Path) -> None:
    """`source` as the gzip file `target` (renamed when it already is one)."""
    if source.name.endswith(".gz"):
        source.rename(target)
        return
    with source.open("rb") as plain, gzip.open(target, "wb") as packed:
        while chunk := plain.read(CHUNK):
            packed.write(chunk)
    source.unlink()


def _dump_parts(folder: Path, dumps: list[Path]) -> dict[Path, str]:
    """The part each of a Tutor operator's MySQL dumps becomes: a lone dump is the instance's database; among
    several, `openedx` is (Tutor's database) and each other `<database>` a plugin's, `mysql-<database>.sql.gz` (its
    key: Tutor's plugins name their databases `notes`, `credentials`)."""
    if len(dumps) == 1:
        return {dumps[0]: MYSQL_PART}
    names = [path.name.split(".")[0] for path in dumps]
    parts = [MYSQL_PART if name == TUTOR_DATABASE else f"mysql-{name}.sql.gz" for name in names]
    if len(set(names)) != len(names) or parts.count(MYSQL_PART) != 1 or not all(map(MYSQL_PARTS.match, parts)):
        raise CheckFailed(f"{folder.name}: expected {TUTOR_DATABASE}.sql (or .sql.gz), the dump of Tutor's database, "
                          "and one dump per plugin database named after it (notes.sql, credentials.sql...), "
                          f"found {[p.name for p in dumps]}")
    return dict(zip(dumps, parts, strict=True))


def adopt(folder: Path, *, name: str, instance: str, versions: dict[str, str]) -> dict[str, Any]:
    """The dumps a Tutor operator makes, given our parts' names and a manifest, to be restored like our backups:
    `<database>.sql[.gz]` (mysqldump of Tutor's `openedx` database; with plugins, one more per plugin database,
    see `_dump_parts`) and `<database>.archive[.gz]` (`mongodump --db=<database> --archive`, gzipped or not). Rows
    are counted from the MySQL dumps; a MongoDB archive made elsewhere has no mongodump report, so its documents are
    not counted (its checksum still is)."""
    dumps = sorted(folder.glob("*.sql.gz")) + sorted(folder.glob("*.sql"))
    archives = sorted(folder.glob("*.archive.gz")) + sorted(folder.glob("*.archive"))
    if not dumps or len(archives) > 1:
        raise CheckFailed(f"{folder.name}: expected a MySQL dump (*.sql or *.sql.gz) and at most one MongoDB "
                          f"archive (*.archive or *.archive.gz), found {[p.name for p in dumps + archives]}")
    database = archives[0].name.split(".")[0] if archives else ""
    for dump, part in _dump_parts(folder, dumps).items():
        _pack(dump, folder / part)
    if archives:
        _pack(archives[0], folder / MONGODB_PART)
    manifest = build_manifest(folder, name=name, kind="imported", instance=instance, versions=versions,
                              mongodb_database=database)
    write_manifest(folder, manifest)
    return manifest


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def read_counts(path: Path) -> dict[str, int]:
    """A count file a restore writes: `<name> <count>` per line (a table's rows or a collection's documents)."""
    counts: dict[str, int] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            name, count = line.rsplit(None, 1)
            counts[name] = int(count)
    return counts


def compare(manifest: dict[str, Any], counts: Path) -> list[str]:
    """What a restore lacks against the manifest, from the count files it wrote in `counts` (`mysql.counts` and
    `mysql-<key>.counts` for the MySQL parts, `mongodb.counts`): one line per table or collection whose count
    differs."""
    problems: list[str] = []
    expected = {name: ("rows", f"{name.removesuffix('.sql.gz')}.counts") for name in manifest["parts"]
                if MYSQL_PARTS.match(name)}
    expected[MONGODB_PART] = ("documents", "mongodb.counts")
    for part_name, (what, file) in sorted(expected.items()):
        part = manifest["parts"].get(part_name)
        if part is None or what not in part:
            continue
        if not (counts / file).is_file():
            problems.append(f"{part_name}: no counts were taken after the restore")
            continue
        found = read_counts(counts / file)
        for name, count in sorted(part[what].items()):
            if found.get(name) != count:
                problems.append(f"{part_name}: {name} has {found.get(name, 'no')} {what} restored, "
                                f"the backup holds {count}")
    return problems


def _now() -> datetime:
    return datetime.now(UTC)


def _time(name: str) -> datetime:
    return datetime.strptime(name, NAME_FORMAT).replace(tzinfo=UTC)


def backups(listing: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The backups of an `rclone lsjson --recursive --files-only` listing of the backup root, by name: their
    completeness (a manifest) and total size. Folders not named like a backup are not ours and are left alone."""
    found: dict[str, dict[str, Any]] = {}
    for entry in listing:
        folder, _, file = str(entry["Path"]).partition("/")
        if not NAME.match(folder) or not file:
            continue
        backup = found.setdefault(folder, {"complete": False, "bytes": 0, "parts": 0})
        backup["bytes"] += int(entry.get("Size", 0))
        if file == MANIFEST:
            backup["complete"] = True
        else:
            backup["parts"] += 1
    return dict(sorted(found.items(), reverse=True))


def to_prune(listing: Sequence[dict[str, Any]], keep: int, max_age: timedelta, now: datetime) -> list[str]:
    """What retention deletes: complete backups beyond the newest `keep` or older than `max_age` (the newest
    complete one always stays), and unfinished ones older than a day (a day: never one still being written)."""
    found = backups(listing)
    complete = [name for name, backup in found.items() if backup["complete"]]
    newest = complete[:1]
    doomed = [name for index, name in enumerate(complete)
              if name not in newest and (index >= keep or now - _time(name) > max_age)]
    doomed += [name for name, backup in found.items()
               if not backup["complete"] and now - _time(name) > INCOMPLETE_GRACE]
    return sorted(doomed)


def table(listing: Sequence[dict[str, Any]]) -> str:
    rows = [f"{'BACKUP':<18} {'COMPLETE':<8} {'PARTS':>5} {'SIZE':>12}"]
    for name, backup in backups(listing).items():
        rows.append(f"{name:<18} {'yes' if backup['complete'] else 'no':<8} {backup['parts']:>5} "
                    f"{_size(backup['bytes']):>12}")
    if len(rows) == 1:
        rows.append("(no backup yet)")
    return "\n".join(rows)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _listing(path: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(Path(path).read_text() or "[]")
    return entries


def _versions(args: argparse.Namespace) -> dict[str, str]:
    return {"openedx": args.openedx_version, "tutor": args.tutor_version}


def _parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="backup.py", description=__doc__.split("\n\n")[0])
    commands = main.add_subparsers(dest="command", required=True)
    manifest = commands.add_parser("manifest")
    manifest.add_argument("folder", type=Path)
    manifest.add_argument("--name", default=_now().strftime(NAME_FORMAT),
                          help="the backup's name (default: the time now, UTC)")
    for option in ("--instance", "--openedx-version", "--tutor-version"):
        manifest.add_argument(option, required=True)
    manifest.add_argument("--kind", default=os.environ.get("BACKUP_KIND", ""),
                          choices=("scheduled", "manual", "pre-upgrade"), help="default: $BACKUP_KIND")
    manifest.add_argument("--name-file", type=Path, help="where to write the backup's name")
    manifest.add_argument("--mongodb-database", default=os.environ.get("MONGODB_DATABASE", ""),
                          help="default: $MONGODB_DATABASE")
    manifest.add_argument("--mongodb-report", type=Path)
    checked = commands.add_parser("check")
    checked.add_argument("folder", type=Path)
    checked.add_argument("--adopt", choices=("true", "false", ""), default=os.environ.get("TUTOR_DUMPS", ""),
                         help="true: the folder holds a Tutor operator's dumps, made into a backup first")
    checked.add_argument("--name-file", type=Path, help="the backup's name (with --adopt true)")
    for option in ("--instance", "--openedx-version", "--tutor-version"):
        checked.add_argument(option, default="", help="written in an adopted backup's manifest")
    compared = commands.add_parser("compare")
    compared.add_argument("folder", type=Path)
    compared.add_argument("counts", type=Path)
    prune = commands.add_parser("prune")
    prune.add_argument("listing")
    prune.add_argument("--keep", type=int, required=True)
    prune.add_argument("--max-age-days", type=int, required=True)
    prune.add_argument("--out", type=Path, required=True)
    commands.add_parser("list").add_argument("listing")
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "manifest":
            if not NAME.match(args.name):
                raise CheckFailed(f"{args.name!r} is not a backup name (UTC time, e.g. 20261203T045500Z)")
            write_manifest(args.folder, build_manifest(
                args.folder, name=args.name, kind=args.kind, instance=args.instance, versions=_versions(args),
                mongodb_database=args.mongodb_database, mongodb_report=args.mongodb_report))
            if args.name_file:
                args.name_file.write_text(args.name + "\n")
            print(f"backup {args.name}: manifest written")
        elif args.command == "check":
            if args.adopt == "true":
                name = args.name_file.read_text().strip() if args.name_file else args.folder.name
                manifest = adopt(args.folder, name=name, instance=args.instance, versions=_versions(args))
                print(f"Tutor dumps adopted as backup {name}: {', '.join(sorted(manifest['parts']))}")
            manifest = check(args.folder)
            print(f"backup {manifest['name']}: {len(manifest['parts'])} parts match the manifest")
        elif args.command == "compare":
            manifest = check(args.folder)
            if problems := compare(manifest, args.counts):
                raise CheckFailed("; ".join(problems))
            mysql = sorted(name for name in manifest["parts"] if MYSQL_PARTS.match(name))
            tables = sum(len(manifest["parts"][name].get("rows", {})) for name in mysql)
            print(f"verified backup {manifest['name']}: restored {tables} tables ({', '.join(mysql)}) and every "
                  "collection with the row and document counts of the manifest")
        elif args.command == "prune":
            doomed = to_prune(_listing(args.listing), args.keep, timedelta(days=args.max_age_days), _now())
            args.out.write_text("".join(f"{name}\n" for name in doomed))
            print(f"retention: {len(doomed)} backups to delete {' '.join(doomed)}".rstrip())
        else:
            print(table(_listing(args.listing)))
    except CheckFailed as failure:
        print(f"backup.py: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
