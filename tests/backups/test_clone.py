"""./ops.sh clone: the source's server and the target's restore, built from the CronJobs the chart renders; the
access the run opens (one port, between the run's two pods) and that it closes whatever happens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from operations import clone
from operations.stack import Instance, OperationError
from tests.backups.test_backup_jobs import LOCAL
from tests.charts.chart_render import Render, env_map, template

SOURCE = Instance("campus", "openedx-campus", "learn.example.com", "studio.learn.example.com")
TARGET = Instance("copy", "openedx-copy", "copy.example.com", "studio.copy.example.com")
COMPLETE = [{"type": "Complete", "status": "True"}]
FAILED = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]


@pytest.fixture(scope="module")
def rendered() -> Render:
    return template("openedx", extra=LOCAL)


class Cluster:
    def __init__(self, rendered: Render, restore: list[dict[str, str]], replicas: int = 0) -> None:
        self.rendered, self.restore, self.scaled = rendered, restore, replicas
        self.created: list[tuple[str, dict[str, Any]]] = []
        self.deleted: list[tuple[str, str, str]] = []
        self.forgotten = False

    def cronjob(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(self.rendered.get("CronJob", name))

    def replicas(self, namespace: str, deployment: str) -> int | None:
        return self.scaled

    def forget_init(self, namespace: str) -> None:
        self.forgotten = True

    def create(self, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
        self.created.append((namespace, manifest))
        return {**manifest, "metadata": {**manifest["metadata"], "uid": "uid"}}

    def set_owner(self, namespace: str, secret: str, owner: dict[str, Any]) -> None: ...

    def delete(self, namespace: str, kind: str, name: str) -> None:
        self.deleted.append((namespace, kind, name))

    def pod_phases(self, namespace: str, job: str) -> dict[str, str]:
        return {f"{job}-pod": "Running"}

    def logs(self, namespace: str, pod: str, container: str, timeout_s: float) -> Iterator[bytes]:
        yield from ()

    def conditions(self, namespace: str, job: str) -> list[dict[str, str]]:
        return self.restore


def objects(cluster: Cluster) -> dict[tuple[str, str], dict[str, Any]]:
    return {(namespace, manifest["kind"]): manifest for namespace, manifest in cluster.created}


def test_a_clone_serves_the_sources_backups_to_the_targets_restore_and_closes_everything(rendered: Render,
                                                                                        capsys) -> None:
    cluster = Cluster(rendered, COMPLETE)
    assert clone.clone(cluster, SOURCE, TARGET, "20261203T031700Z", "prod", None, "run-password", 0) == 0
    made = objects(cluster)
    assert set(made) == {("openedx-campus", "Secret"), ("openedx-campus", "Job"), ("openedx-campus", "Service"),
                         ("openedx-campus", "NetworkPolicy"), ("openedx-copy", "NetworkPolicy"),
                         ("openedx-copy", "Secret"), ("openedx-copy", "Job")}
    name = made[("openedx-campus", "Job")]["metadata"]["name"]
    assert name.startswith("openedx-clone-")
    # The server: the source's rclone step, its storage, read-only; the password only in the run's Secret.
    (server,) = made[("openedx-campus", "Job")]["spec"]["template"]["spec"]["containers"]
    assert server["image"].startswith("docker.io/rclone/rclone:") and "--read-only" in server["args"]
    assert env_map(server)["RCLONE_PASS"] == {"secretKeyRef": {"name": name, "key": "password"}}
    assert env_map(server)["RCLONE_CONFIG_BACKUPS_TYPE"] == "local"
    assert made[("openedx-campus", "Secret")]["stringData"] == {"password": "run-password"}
    assert "run-password" not in json.dumps([m for (_, kind), m in made.items() if kind != "Secret"])
    # The restore: the target's own, reading the server instead of its storage.
    restore = made[("openedx-copy", "Job")]["spec"]["template"]["spec"]
    for step in [*restore["initContainers"], *restore["containers"]]:
        env = env_map(step)
        assert env["RCLONE_CONFIG_BACKUPS_TYPE"] == "http" and env["BACKUP_NAME"] == "20261203T031700Z"
        assert env["RCLONE_CONFIG_BACKUPS_URL"] == f"http://{name}.openedx-campus.svc:8080/"
        assert env["RCLONE_CONFIG_BACKUPS_HEADERS"] == {"secretKeyRef": {"name": name, "key": "headers"}}
        assert not {key for key in env if key.startswith("RCLONE_CONFIG_BACKUPS_")} - {
            "RCLONE_CONFIG_BACKUPS_TYPE", "RCLONE_CONFIG_BACKUPS_URL", "RCLONE_CONFIG_BACKUPS_HEADERS"}
    # The access: between the run's two pods, on the server's port, nothing else.
    ingress = made[("openedx-campus", "NetworkPolicy")]["spec"]
    egress = made[("openedx-copy", "NetworkPolicy")]["spec"]
    run_pods = {"matchLabels": {"app.openedx.org/clone": name}}
    assert ingress["podSelector"] == egress["podSelector"] == run_pods
    assert ingress["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "openedx-copy"}}, "podSelector": run_pods}],
        "ports": [{"port": 8080, "protocol": "TCP"}]}]
    assert egress["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "openedx-campus"}
    # Closed: the server, its Service and both policies (the Secrets go with their Jobs).
    assert sorted(cluster.deleted) == sorted([("openedx-campus", "Job", name), ("openedx-campus", "Service", name),
                                              ("openedx-campus", "NetworkPolicy", name),
                                              ("openedx-copy", "NetworkPolicy", name)])
    assert cluster.forgotten and "maintenance: false" in capsys.readouterr().out


def test_a_failed_clone_closes_everything_too_and_leaves_the_init_record(rendered: Render) -> None:
    cluster = Cluster(rendered, FAILED)
    assert clone.clone(cluster, SOURCE, TARGET, "20261203T031700Z", "prod", 60, "pw", 0) == 1
    assert {kind for _, kind, _ in cluster.deleted} == {"Job", "Service", "NetworkPolicy"}
    assert not cluster.forgotten


def test_a_clone_into_a_running_instance_or_into_itself_is_refused_before_anything_is_made(rendered: Render
                                                                                            ) -> None:
    cluster = Cluster(rendered, COMPLETE, replicas=2)
    with pytest.raises(OperationError, match="instance copy is not in maintenance"):
        clone.clone(cluster, SOURCE, TARGET, "20261203T031700Z", "prod", None, "pw", 0)
    with pytest.raises(OperationError, match="use restore"):
        clone.clone(cluster, SOURCE, SOURCE, "20261203T031700Z", "prod", None, "pw", 0)
    assert cluster.created == []
