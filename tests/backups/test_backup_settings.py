"""What the program hands each instance for its backups, on every example stack: the openedx chart's `backups`
values (on outside dev, the instance's own storage through its identity), the backup Secret (the instance's own
database user, never a server's admin), the backup volume where there is no object storage."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.openedx import backups
from components.openedx import tutor_instance as ti
from components.platform import openedx_alert_rules
from tests.conftest import STACKS, inputs, instances, named, of_type

RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
CLOUD_TYPE = {"aws": "s3", "gcp": "google cloud storage", "azure": "azureblob", "local": "local", "e2e": "local"}


def release_values(recording: Any, name: str) -> dict[str, Any]:
    return dict(inputs(named(recording, RELEASE, name))["values"])


@pytest.mark.parametrize("stack_file", STACKS, ids=lambda path: path.stem.removeprefix("Pulumi."))
def test_backups_are_on_outside_dev_into_the_instances_own_storage(example_stacks, stack_file) -> None:
    stack = example_stacks[stack_file]
    recording = stack.recording
    dev = stack.config.get("openedx:environment", "dev") == "dev"
    cloud = stack.name.split("-")[0]
    entries = {entry["name"]: entry for entry in json.loads(stack.config["openedx:instances"])}
    for instance in instances(recording):
        enabled = entries[instance.name].get("backups", {}).get("enabled", not dev)
        values = release_values(recording, f"{instance.name}-openedx")["backups"]
        secrets = {r.name for r in of_type(recording, SECRET)}
        services = [r for r in of_type(recording, RELEASE) if r.name == f"{instance.name}-services"]
        if not enabled:
            assert values == {"enabled": False}
            assert f"{instance.name}-backup" not in secrets
            continue
        assert values["enabled"] is True and values["secretName"] == "openedx-backup"
        assert values["storage"]["rclone"]["TYPE"] == CLOUD_TYPE[cloud]
        volume = values["storage"]["rclone"]["TYPE"] == "local"
        assert (values["storage"]["existingClaim"] == "backups") == volume
        assert values["storage"]["root"] == "/backups" if volume else values["storage"]["root"].endswith("/backups")
        assert "KEY" not in values["storage"]["rclone"]  # a storage key is in the Secret, never in values
        data = inputs(named(recording, SECRET, f"{instance.name}-backup"))["stringData"]
        assert "admin" not in data["MYSQL_USERNAME"] and data["MYSQL_USERNAME"].startswith("openedx")
        assert data["MYSQL_PASSWORD"] and data["MONGODB_PASSWORD"]
        assert all(re.fullmatch(r"[A-Za-z0-9_]{1,64}", name) for name in data["MYSQL_EXTRA_DATABASES"].split())
        if services:
            assert inputs(services[0])["values"]["backups"]["enabled"] is volume


def storage(kind: str) -> ti.ObjectStorage | None:
    return {
        "s3": ti.S3Storage(bucket="openedx-demo-1", region="eu-west-1"),
        "minio": ti.S3Storage(bucket="media", region="us-east-1", endpoint_url="https://minio.example.com",
                              workload_identity=False),
        "gcs": ti.GcsStorage(bucket="openedx-demo-1", project="campus", signer_email="demo@campus.iam"),
        "azure": ti.AzureBlobStorage(container="media", account_name="demo1", account_key="secret-key=="),
        "volume": None,
    }[kind]


@pytest.mark.parametrize("kind,expected", [
    ("s3", {"root": "openedx-demo-1/backups", "rclone": {"TYPE": "s3", "PROVIDER": "AWS", "ENV_AUTH": "true",
                                                          "REGION": "eu-west-1", "NO_CHECK_BUCKET": "true"}}),
    ("minio", {"root": "media/backups", "rclone": {"TYPE": "s3", "PROVIDER": "Other", "ENV_AUTH": "true",
                                                   "REGION": "us-east-1", "NO_CHECK_BUCKET": "true",
                                                   "ENDPOINT": "https://minio.example.com"}}),
    ("gcs", {"root": "openedx-demo-1/backups", "rclone": {"TYPE": "google cloud storage", "ENV_AUTH": "true",
                                                           "BUCKET_POLICY_ONLY": "true", "NO_CHECK_BUCKET": "true"}}),
    ("azure", {"root": "media/backups", "rclone": {"TYPE": "azureblob", "ACCOUNT": "demo1",
                                                   "NO_CHECK_CONTAINER": "true"}}),
    ("volume", {"root": "/backups", "rclone": {"TYPE": "local"}, "existingClaim": "backups"}),
])
def test_each_storage_is_an_rclone_remote_with_no_secret_in_it(kind: str, expected: dict[str, Any]) -> None:
    assert backups.storage_values(storage(kind)) == {"existingClaim": "", **expected}


def tutor_instance(extra_databases: tuple[str, ...]) -> ti.TutorInstance:
    """What secret_data reads of an instance: its endpoints and storage."""
    mysql = ti.MysqlEndpoint("db.example.internal", 3306, "openedx_campus", "openedx_campus", "mysql-pass",
                             tls=True, extra_databases=extra_databases)
    mongodb = ti.MongodbEndpoint("mongo.example.internal", 27017, "openedx_campus", "openedx_campus", "mongo-pass")
    return ti.TutorInstance(
        name="campus", lms_host="learn.example.com", cms_host="studio.learn.example.com",
        mfe_host="apps.learn.example.com", https=True, platform_name="Campus", contact_email="ops@example.com",
        language_code="en", openedx_image="openedx:22", mfe_image="mfe:22", plugins=("notes", "credentials"),
        mysql=mysql, mongodb=mongodb, redis=ti.RedisEndpoint("redis", 6379, "default", "redis-pass"),
        meilisearch=ti.MeilisearchEndpoint("http://meilisearch:7700", "https://search.example.com", "key", "uid", ""),
        smtp=ti.SmtpEndpoint("smtp", 8025, "", "", False),
        secrets=ti.InstanceSecrets("secret", "pem", "oauth", "id"), object_storage=storage("s3"))


def test_the_backup_secret_names_the_plugins_databases_which_the_instances_user_backs_up_too() -> None:
    data = backups.secret_data(tutor_instance(("openedx_campus_notes", "openedx_campus_credentials")))
    assert data["MYSQL_DATABASE"] == "openedx_campus" and data["MYSQL_USERNAME"] == "openedx_campus"
    assert data["MYSQL_EXTRA_DATABASES"] == "openedx_campus_notes openedx_campus_credentials"
    # Without plugins: present and empty, the instance's own database alone.
    assert backups.secret_data(tutor_instance(()))["MYSQL_EXTRA_DATABASES"] == ""


def _job_regex(expr: str, operator: str) -> re.Pattern[str]:
    (pattern,) = re.findall(rf'job_name{operator}"([^"]+)"', expr)
    return re.compile(pattern)  # PromQL regexes are anchored: fullmatch below


def test_monitoring_alerts_on_failed_missing_and_unverified_backups_and_not_twice() -> None:
    rules = {rule["alert"]: rule for rule in openedx_alert_rules()[0]["rules"]}
    backup_jobs = ["openedx-backup-29412357", "openedx-backup-20261203031700-ab12", "backup-before-upgrade"]
    verify_jobs = ["openedx-backup-verify-29412357", "openedx-backup-verify-20261203031700-ab12"]
    other_jobs = ["init-00-lms-init-lms", "openedx-createuser-20261203031700-ab12", "send-recurring-nudge-2941"]
    backup = _job_regex(rules["OpenedxBackupFailed"]["expr"], "=~")
    verify = _job_regex(rules["OpenedxBackupVerificationFailed"]["expr"], "=~")
    hooks = _job_regex(rules["OpenedxHookJobFailed"]["expr"], "!~")
    for name in backup_jobs:
        assert backup.fullmatch(name) and not verify.fullmatch(name) and hooks.fullmatch(name), name
    for name in verify_jobs:
        assert verify.fullmatch(name) and not backup.fullmatch(name) and hooks.fullmatch(name), name
    for name in other_jobs:
        assert not backup.fullmatch(name) and not verify.fullmatch(name) and not hooks.fullmatch(name), name
    assert 'cronjob="openedx-backup"' in rules["OpenedxBackupMissing"]["expr"]
    # The runs of ./ops.sh backup and verify are watched like the scheduled ones.
    from operations.cli import parser, request
    from operations.job import run_name
    from operations.stack import Instance

    demo = Instance("demo", "openedx-demo", "learn.example.com", "studio.learn.example.com")
    for command, pattern in (("backup", backup), ("verify", verify)):
        name = run_name(request(parser().parse_args(["prod", "demo", command]), demo).name)
        assert pattern.fullmatch(name) and hooks.fullmatch(name), name


@pytest.mark.parametrize("stack_file", [s for s in STACKS if s.stem.split(".")[1].split("-")[0] in
                                        ("aws", "gcp", "azure")], ids=lambda path: path.stem.removeprefix("Pulumi."))
def test_deleted_backups_expire_from_the_versioned_buckets(example_stacks, stack_file) -> None:
    """Retention deletes a backup; the bucket's versioning keeps it, for seven days only, under backups/ only."""
    recording = example_stacks[stack_file].recording
    for instance in instances(recording):
        rules: list[tuple[str, int]] = []
        for r in recording.resources.values():
            if r.name != f"{instance.name}-media":
                continue
            if r.type == "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
                rules += [(rule["filter"]["prefix"], rule["noncurrentVersionExpiration"]["noncurrentDays"])
                          for rule in r.inputs["rules"] if rule["status"] == "Enabled"]
            elif r.type == "gcp:storage/bucket:Bucket":
                rules += [(rule["condition"]["matchesPrefixes"][0], rule["condition"]["daysSinceNoncurrentTime"])
                          for rule in r.inputs["lifecycleRules"] if rule["action"]["type"] == "Delete"]
            elif r.type == "azure-native:storage:ManagementPolicy":
                rules += [(rule["definition"]["filters"]["prefixMatch"][0].split("/", 1)[1],
                           rule["definition"]["actions"]["version"]["delete"]["daysAfterCreationGreaterThan"])
                          for rule in r.inputs["policy"]["rules"]]
        assert rules == [("backups/", 7)], instance.name
