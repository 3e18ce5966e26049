"""The backup Jobs' steps run for real, as the openedx chart renders them: each step's command and environment
taken from the rendered CronJob, run in order on this machine with the paths of the pod mapped to folders of the
test, against a MariaDB server the test starts, with rclone (built by the kit, `local` remote: the backup volume of
`cloud: local`). What cannot run here: the MongoDB steps (mongodump and mongorestore are not served by the Go
module proxy, and no MongoDB server is packaged), whose options are checked against the tools' documentation in
tests/backups/test_backup_jobs.py.

A backup (with media, retention among older backups), the listing, the verification by restoring into a scratch
server, and a restore into another database are run in turn; a corrupted part stops a restore before any
database is touched."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backups.servers import SCRIPTS, Mariadb, mariadb
from tests.charts.chart_render import Render, template
from tests.e2e import kit

MONGODB_STEPS = {"mongodb-dump", "mongodb-verify", "mongodb-restore"}
VALUES = {
    "global": {"media": {"existingClaim": "media"}},
    "backups": {
        "enabled": True, "schedule": "17 3 * * *", "verifySchedule": "43 4 * * 0", "tutorVersion": "22.0.3",
        "retention": {"count": 2, "maxAgeDays": 30},
        "storage": {"root": "/backups", "rclone": {"TYPE": "local"}, "existingClaim": "backups"},
        "images": {"mysql": {"registry": "docker.io", "repository": "mysql", "tag": "8.4.11"},
                   "mongodb": {"registry": "docker.io", "repository": "mongo", "tag": "7.0.39"}},
    },
}
# Older backups already in storage: complete and recent, complete and too old, unfinished for days, and a folder
# that is not a backup (Tutor dumps waiting for a restore), which retention leaves alone.
SEEDED = {"20261130T031700Z": True, "20261020T031700Z": True, "20261125T031700Z": False}


class Pod:
    """One backup Job's pod, run here: the CronJob's steps in order, sharing a work folder."""

    def __init__(self, render: Render | dict[str, Any], cronjob: str, root: Path, secret: dict[str, str]) -> None:
        """The pod of a rendered CronJob, or of a Job (`render` is then the Job)."""
        job = render if isinstance(render, dict) else render.get("CronJob", cronjob)["spec"]["jobTemplate"]
        spec = job["spec"]["template"]["spec"]
        self.steps = [*spec.get("initContainers", []), *spec["containers"]]
        self.root, self.secret = root, secret
        self.work = root / f"work-{cronjob}-{len(list(root.glob('work-*')))}"
        self.work.mkdir()

    def path(self, value: str) -> str:
        """A path of the pod as a folder of the test."""
        for pod_path, here in (("/backups-tools", str(self.root / "tools")), ("/work", str(self.work)),
                               ("/backups", str(self.root / "storage")), ("/media", str(self.root / "media"))):
            if value == pod_path or value.startswith(pod_path + "/"):
                return here + value[len(pod_path):]
        return value

    def run(self, **env: str) -> list[subprocess.CompletedProcess[str]]:
        done = []
        for step in self.steps:
            if step["name"] in MONGODB_STEPS:
                continue
            args = [self.path(arg) for arg in step["args"]]
            if args[0] == "python":
                args[0] = sys.executable
            step_env = {item["name"]: self.path(item["value"]) for item in step["env"] if "value" in item}
            step_env |= {item["name"]: self.secret[item["valueFrom"]["secretKeyRef"]["key"]]
                         for item in step["env"] if "valueFrom" in item}
            step_env |= {"PATH": f"{kit.BIN}:{os.environ['PATH']}", **self.secret, **env}
            result = subprocess.run(args, env=step_env, capture_output=True, text=True, timeout=600, check=False)
            done.append(result)
            if result.returncode != 0:
                break
        return done


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mariadb]:
    if not (kit.BIN / "rclone").exists():
        pytest.fail(f"rclone is not in {kit.BIN}: run tests/e2e/kit.sh build", pytrace=False)
    with mariadb(tmp_path_factory.mktemp("mariadb")) as db:
        db.sql("""
            CREATE DATABASE openedx CHARACTER SET utf8mb4; CREATE DATABASE restored CHARACTER SET utf8mb4;
            CREATE USER 'openedx'@'127.0.0.1' IDENTIFIED BY 'app-password';
            GRANT ALL PRIVILEGES ON openedx.* TO 'openedx'@'127.0.0.1';
            GRANT ALL PRIVILEGES ON restored.* TO 'openedx'@'127.0.0.1';
            USE openedx;
            CREATE TABLE auth_user (id INT PRIMARY KEY, username VARCHAR(150), email VARCHAR(254));
            CREATE TABLE student_courseenrollment (id INT PRIMARY KEY, user_id INT, course_id VARCHAR(255));
            INSERT INTO auth_user VALUES (1, 'ada', 'ada@example.edu'), (2, 'bob', 'bob@example.edu');
            INSERT INTO student_courseenrollment VALUES (1, 1, 'course-v1:Org+CS101+2026'),
              (2, 2, 'course-v1:Org+CS101+2026'), (3, 2, 'course-v1:Org+MA201+2026');
        """)
        yield db


@pytest.fixture(scope="module")
def rendered() -> Render:
    return template("openedx", extra=VALUES)


def secret(server: Mariadb, database: str = "openedx") -> dict[str, str]:
    """The openedx-backup Secret's keys, for this server."""
    return {**server.env(database, "openedx", "app-password"), "MONGODB_DATABASE": "openedx"}


def output(done: list[subprocess.CompletedProcess[str]]) -> str:
    return "".join(f"$ {' '.join(d.args)}\n{d.stdout}{d.stderr}" for d in done)


@pytest.fixture(scope="module")
def backed_up(server: Mariadb, rendered: Render, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("backup-steps")
    # The scripts as the pod has them: the ConfigMap's files, read-only and not executable (defaultMode 0444).
    shutil.copytree(SCRIPTS, root / "tools")
    for script in (root / "tools").iterdir():
        script.chmod(0o444)
    storage, media = root / "storage", root / "media"
    for name, complete in SEEDED.items():
        (storage / name).mkdir(parents=True)
        (storage / name / "mysql.sql.gz").write_bytes(b"old")
        if complete:
            (storage / name / "manifest.json").write_text("{}")
    (storage / "from-tutor").mkdir()
    (storage / "from-tutor" / "openedx.sql").write_text("-- a Tutor dump\n")
    (media / "media" / "course-images").mkdir(parents=True)
    (media / "media" / "course-images" / "cs101.png").write_bytes(b"\x89PNG image")
    (media / "ora2").mkdir()
    (media / "ora2" / "submission.txt").write_text("an essay")
    done = Pod(rendered, "openedx-backup", root, secret(server)).run(BACKUP_KIND="manual")
    return {"root": root, "done": done}


def test_a_backup_writes_a_complete_checked_backup_and_applies_retention(backed_up: dict[str, Any]) -> None:
    done, storage = backed_up["done"], backed_up["root"] / "storage"
    assert [d.returncode for d in done] == [0] * 6, output(done)
    backups = sorted(path.name for path in storage.iterdir())
    (new,) = [name for name in backups if name.startswith("2026") and name not in SEEDED]
    # Kept: the two newest complete backups (retention.count 2), and what is not a backup.
    assert backups == sorted([new, "20261130T031700Z", "from-tutor"]), output(done)
    manifest = json.loads((storage / new / "manifest.json").read_text())
    assert manifest["kind"] == "manual" and manifest["name"] == new
    assert manifest["versions"] == {"openedx": "22.0.3", "tutor": "22.0.3"}
    assert set(manifest["parts"]) == {"mysql.sql.gz", "media.tar.gz"}
    assert manifest["parts"]["mysql.sql.gz"]["rows"] == {"auth_user": 2, "student_courseenrollment": 3}
    assert "retention: 2 backups to delete 20261020T031700Z 20261125T031700Z" in output(done)
    assert "Config file" not in output(done)  # rclone is configured by the environment alone


def test_the_listing_shows_each_backup_and_whether_it_is_complete(backed_up: dict[str, Any], rendered: Render,
                                                                  server: Mariadb) -> None:
    done = Pod(rendered, "openedx-backup-list", backed_up["root"], secret(server)).run()
    assert [d.returncode for d in done] == [0, 0], output(done)
    table = done[-1].stdout
    assert table.splitlines()[0].split() == ["BACKUP", "COMPLETE", "PARTS", "SIZE"]
    assert any(line.startswith("20261130T031700Z") and " yes " in line for line in table.splitlines()), table
    assert "from-tutor" not in table


def test_the_verification_restores_the_newest_backup_into_a_scratch_server(backed_up: dict[str, Any],
                                                                           rendered: Render, server: Mariadb) -> None:
    done = Pod(rendered, "openedx-backup-verify", backed_up["root"], secret(server)).run()
    assert [d.returncode for d in done] == [0, 0, 0, 0], output(done)
    assert "verified backup 2026" in done[-1].stdout and "restored 2 tables" in done[-1].stdout


def test_a_restore_replaces_the_database_and_the_media(backed_up: dict[str, Any], rendered: Render,
                                                       server: Mariadb) -> None:
    media = backed_up["root"] / "media"
    (media / "media" / "course-images" / "cs101.png").unlink()
    (media / "written-after-the-backup.txt").write_text("gone after the restore")
    server.sql("CREATE TABLE stale (id INT PRIMARY KEY)", "restored")
    done = Pod(rendered, "openedx-restore", backed_up["root"], secret(server, "restored")).run()
    assert [d.returncode for d in done] == [0, 0, 0, 0], output(done)
    assert server.sql("SELECT username FROM auth_user ORDER BY id", "restored").split() == ["ada", "bob"]
    assert server.sql("SHOW TABLES", "restored").split() == ["auth_user", "student_courseenrollment"]
    assert (media / "media" / "course-images" / "cs101.png").read_bytes() == b"\x89PNG image"
    assert not (media / "written-after-the-backup.txt").exists()


def test_a_corrupted_part_stops_a_restore_before_any_database_is_touched(backed_up: dict[str, Any],
                                                                        rendered: Render, server: Mariadb) -> None:
    storage = backed_up["root"] / "storage"
    (name,) = [p.name for p in storage.iterdir() if p.name.startswith("2026") and p.name not in SEEDED]
    part = storage / name / "mysql.sql.gz"
    original = part.read_bytes()
    part.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    server.sql("CREATE TABLE untouched (id INT PRIMARY KEY)", "restored")
    try:
        done = Pod(rendered, "openedx-restore", backed_up["root"], secret(server, "restored")).run(BACKUP_NAME=name)
    finally:
        part.write_bytes(original)
    assert [d.returncode for d in done] == [0, 1], output(done)
    assert "part mysql.sql.gz does not match its sha256 in the manifest" in done[-1].stderr
    assert "untouched" in server.sql("SHOW TABLES", "restored").split()


def test_a_tutor_installations_dumps_are_restored(backed_up: dict[str, Any], rendered: Render,
                                                  server: Mariadb) -> None:
    dump = subprocess.run(["mariadb-dump", "--no-defaults", f"--socket={server.socket}", "--user=root",
                           "--single-transaction", "openedx"], capture_output=True, text=True, check=True).stdout
    folder = backed_up["root"] / "storage" / "from-tutor"
    (folder / "openedx.sql").write_text(dump)
    server.sql("DROP DATABASE restored; CREATE DATABASE restored")
    done = Pod(rendered, "openedx-restore", backed_up["root"], secret(server, "restored")).run(
        BACKUP_NAME="from-tutor", TUTOR_DUMPS="true")
    assert [d.returncode for d in done] == [0, 0, 0, 0], output(done)
    assert "Tutor dumps adopted as backup from-tutor" in done[1].stdout
    assert server.sql("SELECT COUNT(*) FROM student_courseenrollment", "restored").strip() == "3"


FLAG_PREFIX = {"s3": "s3", "google cloud storage": "gcs", "azureblob": "azureblob", "local": "local"}


def test_every_rclone_option_the_program_sets_is_one_of_rclones() -> None:
    """The remote's options (RCLONE_CONFIG_BACKUPS_<KEY>) for each storage the clouds create, against the options
    of the pinned rclone itself; the Azure key comes from the backup Secret."""
    from components.openedx import backups
    from tests.backups.test_backup_settings import storage

    flags = subprocess.run([str(kit.BIN / "rclone"), "help", "flags"], capture_output=True, text=True,
                           check=True).stdout
    for kind in ("s3", "minio", "gcs", "azure", "volume"):
        options = backups.storage_values(storage(kind))["rclone"]
        prefix = FLAG_PREFIX[options["TYPE"]]
        secret_keys = ["KEY"] if kind == "azure" else []
        for key in [*(k for k in options if k != "TYPE"), *secret_keys]:
            flag = f"--{prefix}-{key.lower().replace('_', '-')}"
            assert re.search(rf"^\s+{re.escape(flag)}\b", flags, re.MULTILINE), f"{kind}: rclone has no {flag}"


def test_a_clone_reads_the_sources_backup_through_its_server(backed_up: dict[str, Any], rendered: Render,
                                                            server: Mariadb) -> None:
    """./ops.sh clone's two Jobs, as it builds them from the rendered CronJobs: the source's rclone server (on
    127.0.0.1 here, not :8080) and the target's restore reading it, with the run's password."""
    import base64
    import socket
    import time

    from operations.clone import restore_job, serve_job
    from tests.backups.servers import free_port

    storage = backed_up["root"] / "storage"
    (backup,) = [p.name for p in storage.iterdir() if p.name.startswith("2026") and p.name not in SEEDED]
    port = free_port()
    serve = serve_job(rendered.get("CronJob", "openedx-backup-list"), "openedx-clone-x", 600)
    (container,) = serve["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value", "") for item in container["env"]}
    assert container["args"][-2:] == ["--addr", ":8080"] and "--read-only" in container["args"]
    args = [str(kit.BIN / "rclone"), *container["args"][1:-1], f"127.0.0.1:{port}"]
    args = [arg.replace("$(BACKUP_ROOT)", str(storage)) for arg in args]
    server_env = {**{k: v for k, v in env.items() if k.startswith("RCLONE_CONFIG_BACKUPS_")},
                  "RCLONE_USER": env["RCLONE_USER"], "RCLONE_PASS": "run-password", "PATH": os.environ["PATH"]}
    serving = subprocess.Popen(args, env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        job = restore_job(rendered.get("CronJob", "openedx-restore"), "openedx-clone-x", backup,
                          f"http://127.0.0.1:{port}/", 600)
        server.sql("DROP DATABASE restored; CREATE DATABASE restored")
        headers = "Authorization,Basic " + base64.b64encode(b"clone:run-password").decode()
        done = Pod(job, "", backed_up["root"], {**secret(server, "restored"), "headers": headers}).run()
        assert [d.returncode for d in done] == [0, 0, 0, 0], output(done)
        assert f"fetched backup {backup}" in done[0].stdout
        assert server.sql("SELECT COUNT(*) FROM student_courseenrollment", "restored").strip() == "3"

        # Without the run's password, nothing is served.
        wrong = "Authorization,Basic " + base64.b64encode(b"clone:guess").decode()
        refused = Pod(job, "", backed_up["root"], {**secret(server, "restored"), "headers": wrong}).run()
        assert refused[0].returncode != 0 and "401" in refused[0].stderr
    finally:
        serving.terminate()
        serving.wait(timeout=30)


def test_a_backup_that_is_not_there_is_named(backed_up: dict[str, Any], rendered: Render, server: Mariadb) -> None:
    done = Pod(rendered, "openedx-restore", backed_up["root"], secret(server, "restored")).run(
        BACKUP_NAME="20200101T000000Z")
    assert [d.returncode for d in done] == [1], output(done)
    assert "there is no backup 20200101T000000Z in backups:" in done[0].stderr
