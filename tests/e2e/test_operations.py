"""`./ops.sh` for real: operator commands as Jobs on the deployed `e2e` stack, through the Kubernetes API server.

The module deploys the stack once (`./deploy.sh e2e`) and destroys it at the end. KWOK runs no container: a
Job's pod succeeds after a few seconds without output (and its logs cannot be read), or fails with exit code 1
when its pod is labelled with the version `e2e-init-exits-1` (tests/e2e/kwok-init-exits-1.yaml). Expectations
come from the cluster and the stack's outputs, never from the operations package.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import STACK, Cluster, Completed

NAMESPACE = "openedx-demo"
# The kit's one simulated failure: a Job pod with this version label exits 1.
FAILING_VERSION = "e2e-init-exits-1"
PASSWORD = re.compile(r"password of admin: ([A-Za-z0-9]{24})$", re.MULTILINE)


@pytest.fixture(scope="module")
def deployed(cluster: Cluster) -> Iterator[Completed]:
    done = cluster.run("./deploy.sh", STACK, "--yes")
    cluster.durations["operations up"] = done.seconds
    if done.returncode != 0:
        pytest.fail(f"the e2e stack did not deploy:\n{done}", pytrace=False)
    yield done
    # The next module starts from an empty cluster.
    destroyed = cluster.pulumi("destroy", "--yes", "--skip-preview")
    assert destroyed.returncode == 0, destroyed
    deadline = time.monotonic() + 120
    while any(n["metadata"]["name"] in (NAMESPACE, "openedx-sandbox") for n in cluster.items("namespaces")):
        assert time.monotonic() < deadline, "the namespaces are still there 2 minutes after the destroy"
        time.sleep(2)


def command_jobs(cluster: Cluster, command: str, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    return cluster.items("jobs", namespace, selector=f"app.openedx.org/command={command}")


def conditions(job: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in job["status"].get("conditions", [])}


def template(cluster: Cluster, service: str, namespace: str = NAMESPACE) -> dict[str, Any]:
    """The jobTemplate of the chart's command CronJob of a service variant."""
    cronjob = cluster.kubectl("get", "cronjob", f"openedx-command-{service}", "-n", namespace)
    return dict(cronjob["spec"]["jobTemplate"])


def test_createuser_runs_a_job_and_prints_its_generated_password_once(cluster: Cluster, deployed: Completed) -> None:
    # What `pulumi` run by earlier tests outside deploy.sh left in the kit's TMPDIR is not this command's.
    left_before = set((cluster.directory / "tmp").iterdir())
    done = cluster.run("./ops.sh", STACK, "demo", "createuser", "admin", "admin@example.org", "--superuser")
    assert done.returncode == 0, done
    (password,) = PASSWORD.findall(done.output)
    assert done.output.count(password) == 1, done

    (job,) = command_jobs(cluster, "createuser")
    name = job["metadata"]["name"]
    assert conditions(job).get("Complete") == "True", job["status"]
    expected = template(cluster, "lms")
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels["app.openedx.org/instance"] == "demo"
        assert labels["app.openedx.org/command"] == "createuser"
        assert labels["app.kubernetes.io/managed-by"] != "Helm", "Helm does not manage the Job"
    assert job["spec"]["ttlSecondsAfterFinished"] == expected["spec"]["ttlSecondsAfterFinished"] > 0
    assert job["spec"]["activeDeadlineSeconds"] == expected["spec"]["activeDeadlineSeconds"]
    assert job["spec"]["backoffLimit"] == 0
    pod, expected_pod = job["spec"]["template"]["spec"], expected["spec"]["template"]["spec"]
    for key in ("serviceAccountName", "automountServiceAccountToken", "securityContext", "volumes"):
        assert pod[key] == expected_pod[key], key
    assert pod["containers"][0]["image"] == expected_pod["containers"][0]["image"]
    assert password not in json.dumps(job)

    secret = cluster.kubectl("get", "secret", name, "-n", NAMESPACE)
    assert [(o["kind"], o["name"], o["uid"]) for o in secret["metadata"]["ownerReferences"]] == [
        ("Job", name, job["metadata"]["uid"])]
    assert [base64.b64decode(value).decode() for value in secret["data"].values()] == [password]
    assert set((cluster.directory / "tmp").iterdir()) == left_before, "ops.sh left files in TMPDIR"


def test_an_unknown_instance_is_refused_with_the_known_ones(cluster: Cluster, deployed: Completed) -> None:
    done = cluster.run("./ops.sh", STACK, "nosuch", "reindex")
    assert done.returncode == 2, done
    assert "demo" in done.output and "sandbox" in done.output, done


def test_manage_runs_a_management_command(cluster: Cluster, deployed: Completed) -> None:
    done = cluster.run("./ops.sh", STACK, "demo", "manage", "lms", "showmigrations")
    assert done.returncode == 0, done
    (job,) = command_jobs(cluster, "manage")
    assert conditions(job).get("Complete") == "True", job["status"]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["./manage.py", "lms", "showmigrations"]


def test_settheme_targets_the_instances_hosts_within_the_given_time(cluster: Cluster, deployed: Completed) -> None:
    """The sites default to the instance's LMS and Studio hosts, from the stack's outputs."""
    outputs = json.loads(cluster.pulumi("stack", "output", "--json").output)["instances"]["sandbox"]
    hosts = [outputs[key].split("://", 1)[1] for key in ("lmsUrl", "studioUrl")]
    done = cluster.run("./ops.sh", STACK, "sandbox", "settheme", "indigo", "--timeout", "120")
    assert done.returncode == 0, done
    (job,) = command_jobs(cluster, "settheme", "openedx-sandbox")
    assert job["spec"]["activeDeadlineSeconds"] == 120
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["OPENEDX_DOMAINS"].split() == hosts


def test_a_failing_job_exits_1_with_its_reason(cluster: Cluster, deployed: Completed) -> None:
    version = template(cluster, "cms")["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"]

    def label_pods(value: str) -> None:
        patch = {"spec": {"jobTemplate": {"spec": {"template": {"metadata": {"labels": {
            "app.kubernetes.io/version": value}}}}}}}
        cluster.kubectl("patch", "cronjob", "openedx-command-cms", "-n", NAMESPACE, "--type=merge",
                        "-p", json.dumps(patch))

    label_pods(FAILING_VERSION)
    try:
        done = cluster.run("./ops.sh", STACK, "demo", "reindex")
    finally:
        label_pods(version)
    assert done.returncode == 1, done
    assert "failed" in done.output and "BackoffLimitExceeded" in done.output, done
    (job,) = command_jobs(cluster, "reindex")
    assert conditions(job).get("Failed") == "True", job["status"]


# --- backups (the e2e stack turns them on for `demo`: they are off by default in dev) --------------------------


def backup_jobs(cluster: Cluster, cronjob: str, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    return cluster.items("jobs", namespace, selector=f"app.kubernetes.io/name={cronjob}")


def test_backups_are_scheduled_with_their_volume_and_secret_and_a_backup_runs_now(cluster: Cluster,
                                                                                 deployed: Completed) -> None:
    cronjobs = {c["metadata"]["name"]: c["spec"] for c in cluster.items("cronjobs", NAMESPACE)}
    assert (cronjobs["openedx-backup"]["schedule"], cronjobs["openedx-backup"]["suspend"]) == ("17 3 * * *", False)
    assert (cronjobs["openedx-backup-verify"]["schedule"], cronjobs["openedx-backup-verify"]["suspend"]) == (
        "43 4 * * 0", False)
    assert cronjobs["openedx-restore"]["suspend"] is True and cronjobs["openedx-backup-list"]["suspend"] is True
    (claim,) = [c for c in cluster.items("persistentvolumeclaims", NAMESPACE) if c["metadata"]["name"] == "backups"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    secret = cluster.kubectl("get", "secret", "openedx-backup", "-n", NAMESPACE)
    assert base64.b64decode(secret["data"]["MYSQL_USERNAME"]).decode() == "openedx"  # the instance's own user
    assert not [c for c in cluster.items("cronjobs", "openedx-sandbox") if "backup" in c["metadata"]["name"]]

    done = cluster.run("./ops.sh", STACK, "demo", "backup")
    assert done.returncode == 0, done
    (job,) = command_jobs(cluster, "backup")
    assert conditions(job).get("Complete") == "True", job["status"]
    pod = job["spec"]["template"]["spec"]
    steps = [*pod["initContainers"], *pod["containers"]]
    assert [s["name"] for s in steps] == ["mysql-dump", "mongodb-dump", "media-dump", "manifest", "upload",
                                          "retention", "prune"]
    for step in steps:
        assert {"name": "BACKUP_KIND", "value": "manual"} in step["env"]
    # Its pod ran in a namespace that enforces the restricted profile, with the instance's identity.
    assert pod["serviceAccountName"] == "openedx"


def test_backups_lists_and_reports_the_newest_backup(cluster: Cluster, deployed: Completed) -> None:
    done = cluster.run("./ops.sh", STACK, "demo", "backups")
    assert done.returncode == 0, done
    assert re.search(r"last backup: completed at \S+ \(Job openedx-backup-\d{14}-[a-z0-9]{4}\)", done.output), done
    assert "last verification: none on record" in done.output, done
    (job,) = command_jobs(cluster, "backups")
    assert conditions(job).get("Complete") == "True", job["status"]


def test_verify_runs_the_verification_now(cluster: Cluster, deployed: Completed) -> None:
    done = cluster.run("./ops.sh", STACK, "demo", "verify")
    assert done.returncode == 0, done
    (job,) = backup_jobs(cluster, "openedx-backup-verify")
    assert conditions(job).get("Complete") == "True", job["status"]
    done = cluster.run("./ops.sh", STACK, "demo", "backups")
    assert "last verification: completed at" in done.output, done


def test_a_restore_outside_maintenance_is_refused_before_anything_runs(cluster: Cluster, deployed: Completed
                                                                       ) -> None:
    done = cluster.run("./ops.sh", STACK, "demo", "restore")
    assert done.returncode == 2, done
    assert "not in maintenance" in done.output and "maintenance: true" in done.output, done
    assert command_jobs(cluster, "restore") == []


def test_backup_commands_on_an_instance_without_backups_say_so(cluster: Cluster, deployed: Completed) -> None:
    done = cluster.run("./ops.sh", STACK, "sandbox", "backup")
    assert done.returncode == 2, done
    assert "backups are off for this instance" in done.output, done
