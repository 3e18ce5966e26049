"""The backup Jobs as the openedx chart renders them and as ./ops.sh runs them: their steps in order, the
restricted profile, the instance's identity, the documented flags of the tools they run; the restore's
precondition and aftermath; the status line of the newest backup and verification."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.charts import PROJECT_DIR
from operations import backups
from operations.cli import parser, request
from operations.job import run_name
from operations.stack import Instance, OperationError
from tests.charts.chart_render import Render, env_map, template

SCRIPTS = PROJECT_DIR / "charts/openedx/files/backups"
DEMO = Instance("demo", "openedx-demo", "learn.example.com", "studio.learn.example.com")
BACKUPS = {
    "backups": {
        "enabled": True, "schedule": "17 3 * * *", "verifySchedule": "43 4 * * 0", "tutorVersion": "22.0.3",
        "storage": {"root": "openedx-demo-abc/backups", "rclone": {"TYPE": "s3", "PROVIDER": "AWS", "ENV_AUTH": "true",
                                                                   "REGION": "eu-west-1"}},
        "images": {"mysql": {"registry": "docker.io", "repository": "mysql", "tag": "8.4.11"},
                   "mongodb": {"registry": "docker.io", "repository": "mongo", "tag": "7.0.39"}},
    }
}
LOCAL = {"global": {"media": {"existingClaim": "media"}},
         "backups": {**BACKUPS["backups"], "storage": {"root": "/backups", "rclone": {"TYPE": "local"},
                                                       "existingClaim": "backups"}}}


@pytest.fixture(scope="module")
def s3() -> Render:
    return template("openedx", extra=BACKUPS)


@pytest.fixture(scope="module")
def local() -> Render:
    return template("openedx", extra=LOCAL)


def steps(render: Render, cronjob: str) -> list[dict[str, Any]]:
    pod = render.get("CronJob", cronjob)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_a_backup_dumps_then_writes_its_manifest_then_uploads_it_then_applies_retention(s3: Render,
                                                                                      local: Render) -> None:
    assert [c["name"] for c in steps(s3, "openedx-backup")] == [
        "mysql-dump", "mongodb-dump", "manifest", "upload", "retention", "prune"]
    # Media on a volume are archived too (read-only), between the dumps and the manifest.
    names = [c["name"] for c in steps(local, "openedx-backup")]
    assert names == ["mysql-dump", "mongodb-dump", "media-dump", "manifest", "upload", "retention", "prune"]
    media = steps(local, "openedx-backup")[2]
    assert {"name": "media", "mountPath": "/media", "readOnly": True} in media["volumeMounts"]
    images = {c["name"]: c["image"] for c in steps(s3, "openedx-backup")}
    assert images["mysql-dump"] == "docker.io/mysql:8.4.11" and images["mongodb-dump"] == "docker.io/mongo:7.0.39"
    assert images["upload"].startswith("docker.io/rclone/rclone:") and images["manifest"].startswith(
        "docker.io/overhangio/openedx:")


def test_the_verification_and_restore_check_the_backup_before_touching_a_database(s3: Render, local: Render
                                                                                    ) -> None:
    assert [c["name"] for c in steps(s3, "openedx-backup-verify")] == [
        "fetch", "check", "mysql-verify", "mongodb-verify", "compare"]
    assert [c["name"] for c in steps(local, "openedx-restore")] == [
        "fetch", "check", "mysql-restore", "mongodb-restore", "media-restore"]
    restore_media = steps(local, "openedx-restore")[-1]
    assert {"name": "media", "mountPath": "/media", "readOnly": False} in restore_media["volumeMounts"]


def test_schedules_and_templates(s3: Render) -> None:
    spec = {name: s3.get("CronJob", name)["spec"] for name in (backups.BACKUP, backups.VERIFY, backups.RESTORE,
                                                                 backups.LIST)}
    assert (spec[backups.BACKUP]["schedule"], spec[backups.BACKUP]["suspend"]) == ("17 3 * * *", False)
    assert (spec[backups.VERIFY]["schedule"], spec[backups.VERIFY]["suspend"]) == ("43 4 * * 0", False)
    assert spec[backups.RESTORE]["suspend"] is True and spec[backups.LIST]["suspend"] is True
    for name, cronjob in spec.items():
        job = cronjob["jobTemplate"]["spec"]
        assert cronjob["concurrencyPolicy"] == "Forbid", name
        assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] == 7200, name


def test_every_step_is_restricted_with_the_instances_identity_and_its_backup_secret(local: Render) -> None:
    for name in (backups.BACKUP, backups.VERIFY, backups.RESTORE, backups.LIST):
        pod = local.get("CronJob", name)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == "openedx" and pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for step in steps(local, name):
            context = step["securityContext"]
            assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert step["envFrom"] == [{"secretRef": {"name": "openedx-backup"}}]
            env = env_map(step)
            assert env["RCLONE_CONFIG_BACKUPS_TYPE"] == "local" and env["BACKUP_ROOT"] == "/backups"
            assert {m["mountPath"] for m in step["volumeMounts"]} >= {"/work", "/backups-tools", "/backups"}
            assert not any("PASSWORD" in key for key in env), name  # credentials come from the Secret only
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["backups"]["persistentVolumeClaim"]["claimName"] == "backups"
        assert volumes["work"]["emptyDir"]["sizeLimit"] == "20Gi"


def test_the_scripts_are_in_the_tools_configmap_as_they_are_in_the_chart(s3: Render) -> None:
    data = s3.get("ConfigMap", "openedx-backup-tools")["data"]
    assert set(data) == {"backup.py", "mysql.sh", "mongodb.sh", "storage.sh", "media.sh"}
    for name, text in data.items():
        assert text == (SCRIPTS / name).read_text().rstrip("\n"), name


def test_backups_off_render_nothing() -> None:
    render = template("openedx")
    assert not [d for d in render.docs if "backup" in d["metadata"]["name"] or
                d["metadata"]["name"] == "openedx-restore"]


def test_the_pre_upgrade_backup_is_not_run_on_install(s3: Render) -> None:
    assert "backup-before-upgrade" not in s3.names("Job")


# --- the tools' flags, against their documentation -----------------------------------------------------------------

# From the MongoDB Database Tools reference (mongodump, mongorestore 100.x) and rclone's documentation (1.69): the
# options the scripts use. mysqldump and mysql run for real in test_mysql_roundtrip.
DOCUMENTED = {
    "mongodump": {"--config", "--db", "--archive", "--gzip"},
    "mongorestore": {"--config", "--archive", "--gzip", "--nsInclude", "--nsFrom", "--nsTo", "--drop",
                     "--stopOnError"},
    "mongosh": {"--quiet", "--eval", "--nodb"},
    "mongod": {"--dbpath", "--bind_ip", "--port", "--unixSocketPrefix", "--wiredTigerCacheSizeGB"},
    "rclone": {"--exclude", "--recursive", "--files-only", "--include"},
}


def invocations(script: str, tool: str) -> list[set[str]]:
    """The options of each call of `tool` in a script (continued lines joined)."""
    text = (SCRIPTS / script).read_text().replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        for call in re.findall(rf"(?:^|[\s(|]){tool}\s+([^|;]*)", line):
            found.append({option.split("=")[0] for option in re.findall(r"(?<![\w-])--[\w-]+(?:=\S*)?", call)})
    return found


@pytest.mark.parametrize("script,tool", [("mongodb.sh", tool) for tool in ("mongodump", "mongorestore", "mongosh",
                                                                           "mongod")] + [("storage.sh", "rclone")])
def test_the_scripts_use_only_documented_options(script: str, tool: str) -> None:
    calls = invocations(script, tool)
    assert calls, f"{script} does not run {tool}"
    for options in calls:
        assert options <= DOCUMENTED[tool], f"{tool}: {options - DOCUMENTED[tool]}"


def test_mongodb_credentials_are_never_on_a_command_line() -> None:
    for tool in ("mongodump", "mongorestore"):
        for options in invocations("mongodb.sh", tool):
            assert "--config" in options and not options & {"--password", "--uri", "-p"}


# --- ./ops.sh --------------------------------------------------------------------------------------------------


def run(render: Render, *argv: str) -> tuple[Any, dict[str, Any]]:
    wanted = request(parser().parse_args(["prod", "demo", *argv]), DEMO)
    return wanted, wanted.job(render.get("CronJob", wanted.template), run_name(wanted.name), None)


def test_a_manual_backup_is_a_copy_of_the_scheduled_one_marked_manual(s3: Render) -> None:
    wanted, job = run(s3, "backup")
    assert wanted.template == "openedx-backup"
    pod = job["spec"]["template"]["spec"]
    scheduled = s3.get("CronJob", "openedx-backup")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert [c["image"] for c in pod["initContainers"]] == [c["image"] for c in scheduled["initContainers"]]
    for step in [*pod["initContainers"], *pod["containers"]]:
        assert env_map(step)["BACKUP_KIND"] == "manual"
        assert [e["name"] for e in step["env"]].count("BACKUP_KIND") == 1
    assert job["metadata"]["labels"]["app.openedx.org/command"] == "backup"
    assert job["metadata"]["labels"]["app.kubernetes.io/name"] == "openedx-backup"  # found by `backups`


def test_a_restore_names_its_backup_or_its_tutor_dumps(s3: Render) -> None:
    _, job = run(s3, "restore", "20261203T031700Z")
    for step in [*job["spec"]["template"]["spec"]["initContainers"], *job["spec"]["template"]["spec"]["containers"]]:
        assert env_map(step)["BACKUP_NAME"] == "20261203T031700Z" and env_map(step)["TUTOR_DUMPS"] == "false"
    _, job = run(s3, "restore", "from-tutor", "--tutor-dumps")
    assert env_map(job["spec"]["template"]["spec"]["containers"][0])["TUTOR_DUMPS"] == "true"
    with pytest.raises(ValueError, match="--tutor-dumps needs the name"):
        request(parser().parse_args(["prod", "demo", "restore", "--tutor-dumps"]), DEMO)


class FakeState:
    def __init__(self, replicas: dict[str, int], jobs: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.scaled, self.listed, self.forgotten = replicas, jobs or {}, False

    def replicas(self, namespace: str, deployment: str) -> int | None:
        return self.scaled.get(deployment)

    def forget_init(self, namespace: str) -> None:
        self.forgotten = True

    def jobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        return self.listed.get(selector.split(",")[0].split("=")[1], [])


def test_a_restore_is_refused_outside_maintenance_and_reruns_the_init_tasks_after() -> None:
    wanted = request(parser().parse_args(["prod", "demo", "restore"]), DEMO)
    running = FakeState({"lms": 2, "cms": 0, "lms-worker": 1, "cms-worker": 0})
    with pytest.raises(OperationError, match=r"not in maintenance \(lms, lms-worker still run\).*"
                                             r"`maintenance: true`.*Pulumi.prod.yaml.*./deploy.sh prod"):
        wanted.before(running, DEMO)
    stopped = FakeState({"lms": 0, "cms": 0, "lms-worker": 0, "cms-worker": 0})
    assert wanted.before(stopped, DEMO) == ""
    said = wanted.after(stopped, DEMO)
    assert stopped.forgotten
    assert "`maintenance: false`" in said and "migrations" in said


def job(name: str, created: str, condition: str | None, at: str = "") -> dict[str, Any]:
    status = {"conditions": [{"type": condition, "status": "True", "lastTransitionTime": at}]} if condition else {}
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": status}


def test_backups_reports_the_newest_finished_backup_and_verification() -> None:
    state = FakeState({}, {
        "openedx-backup": [job("openedx-backup-1", "2026-12-01T03:17:00Z", "Complete", "2026-12-01T03:20:00Z"),
                           job("openedx-backup-2", "2026-12-02T03:17:00Z", "Failed", "2026-12-02T03:19:00Z"),
                           job("openedx-backup-3", "2026-12-03T03:17:00Z", None)],
    })
    wanted = request(parser().parse_args(["prod", "demo", "backups"]), DEMO)
    assert wanted.after(state, DEMO).splitlines() == [
        "last backup: failed at 2026-12-02T03:19:00Z (Job openedx-backup-2)",
        "last verification: none on record",
    ]
