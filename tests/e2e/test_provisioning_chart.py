"""The openedx-provisioning chart on a real API server, through real Helm: its hook Jobs are admitted in a namespace
that enforces the restricted profile, run at install and at every upgrade, and, only with `removeOnUninstall`,
a drop Job runs before the Release is uninstalled.

The kit's cluster has no shared database server (the `e2e` stack is `cloud: local`), so this installs the chart
as the program does for a managed one, with a host nothing answers on: KWOK completes the Jobs' pods without
running them (the scripts themselves run against a real server in tests/test_provisioning_scripts.py), and the
program's part — the values, and the Release Pulumi deletes when an instance is removed — is in tests/test_aws.py
and tests/test_rotation.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from components.charts import PROJECT_DIR, PROVISIONING_CHART, package_dependencies
from components.helm import helm_binary
from tests.e2e.conftest import Cluster

NAMESPACE = "provisioning-e2e"
RELEASE = "provision-demo"


@pytest.fixture(scope="module")
def system_namespace(cluster: Cluster) -> Iterator[str]:
    """A namespace like openedx-system: restricted, with a server's admin Secret and the instance's password."""
    for command in (
        ("kubectl", "create", "namespace", NAMESPACE),
        ("kubectl", "label", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=restricted"),
        ("kubectl", "-n", NAMESPACE, "create", "secret", "generic", "mysql-admin", "--from-literal=username=admin",
         "--from-literal=password=e2e-admin-password", "--from-literal=ca.pem=not-a-real-ca"),
        ("kubectl", "-n", NAMESPACE, "create", "secret", "generic", "demo-mysql-user",
         "--from-literal=password=e2e-user-password"),
    ):
        done = cluster.run(*command)
        assert done.returncode == 0, done
    package_dependencies(PROJECT_DIR / PROVISIONING_CHART)
    yield NAMESPACE
    cluster.run("kubectl", "delete", "namespace", NAMESPACE, "--wait=false")


def helm(cluster: Cluster, *args: str, **values: Any) -> str:
    settings = [f"{key}={value}" for key, value in {
        "global.instance": "demo", "images.mysql.registry": "docker.io", "images.mysql.repository": "mysql",
        "images.mysql.tag": "8.4.11", "mysql.enabled": "true", "mysql.host": "mysql.invalid",
        "mysql.sslMode": "VERIFY_CA", "mysql.caKey": "ca.pem", "mysql.instanceDatabase": "openedx_demo",
        "mysql.instanceUser": "openedx_demo", "mysql.passwordSecret": "demo-mysql-user",
        "mysql.maxConnections": "38", **values}.items()]
    done = cluster.run(helm_binary(), *args, "--namespace", NAMESPACE, "--timeout", "5m",
                       *[part for setting in settings for part in ("--set", setting)])
    assert done.returncode == 0, f"{done}\n{cluster.state()}"
    return done.output


def job_uids(cluster: Cluster) -> dict[str, str]:
    return {j["metadata"]["name"]: j["metadata"]["uid"] for j in cluster.items("jobs", NAMESPACE)}


def created_jobs(cluster: Cluster) -> list[str]:
    """The Jobs the namespace's events say were created, deleted ones included."""
    return [e["involvedObject"]["name"] for e in cluster.items("events", NAMESPACE)
            if e["involvedObject"]["kind"] == "Job" and e["reason"] == "Completed"]


def test_install_and_every_upgrade_provision_and_the_uninstall_drops_only_when_asked(
        cluster: Cluster, system_namespace: str) -> None:
    helm(cluster, "install", RELEASE, str(PROJECT_DIR / PROVISIONING_CHART), removeOnUninstall="true")
    installed = job_uids(cluster)
    assert set(installed) == {"provision-mysql-demo"}
    (job,) = cluster.items("jobs", NAMESPACE)
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])

    # A rotation: the Release upgrades and its Job runs again (a new Job of the same name).
    helm(cluster, "upgrade", RELEASE, str(PROJECT_DIR / PROVISIONING_CHART), removeOnUninstall="true",
         **{"mysql.passwordRevision": "1"})
    assert job_uids(cluster)["provision-mysql-demo"] != installed["provision-mysql-demo"]

    # The removal of an instance outside production: the drop Job runs before the Release goes, then is deleted.
    done = cluster.run(helm_binary(), "uninstall", RELEASE, "--namespace", NAMESPACE, "--wait", "--timeout", "5m")
    assert done.returncode == 0, done
    assert "deprovision-mysql-demo" in created_jobs(cluster)
    assert "deprovision-mysql-demo" not in job_uids(cluster)

    # In production the data stays: no drop Job.
    helm(cluster, "install", "provision-kept", str(PROJECT_DIR / PROVISIONING_CHART), **{"global.instance": "kept"})
    done = cluster.run(helm_binary(), "uninstall", "provision-kept", "--namespace", NAMESPACE, "--wait")
    assert done.returncode == 0, done
    assert "deprovision-mysql-kept" not in created_jobs(cluster)
    assert not cluster.items("secrets", NAMESPACE, selector="owner=helm")
