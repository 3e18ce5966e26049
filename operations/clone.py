"""`./ops.sh STACK SOURCE clone BACKUP --to TARGET`: restore another instance's backup into an instance of the same
cluster, without giving either one the other's storage or credentials.

For the time of the run, the source serves its backups read-only over HTTP (rclone serve, with a password of
the run) from a Job in its own namespace, with its own identity and volume; the target's restore Job reads them
as an HTTP remote. Two NetworkPolicies of the run let the one pod reach the other, on that port only; everything
the run creates is deleted when it ends, however it ends.
"""

from __future__ import annotations

import base64
import copy
import time
from typing import Any, Protocol

from operations import backups
from operations.job import Manifest, build_secret, build_step_job, from_template, run_name
from operations.run import Api, execute, start
from operations.stack import Instance, OperationError

CLONE_LABEL = "app.openedx.org/clone"
PORT = 8080
USER = "clone"
REMOTE = "RCLONE_CONFIG_BACKUPS_"
SERVE_START_S = 180


def _metadata(name: str) -> dict[str, Any]:
    return {"name": name, "labels": {"app.kubernetes.io/managed-by": "ops.sh", "app.openedx.org/command": "clone",
                                     CLONE_LABEL: name}}


def serve_job(list_cronjob: Manifest, name: str, timeout: int) -> Manifest:
    """The source's server: the rclone step of its backup listing's pod (its image, storage, identity and
    restricted context), serving the backup root read-only; the password from the run's Secret."""
    job = from_template(list_cronjob, "clone", name, timeout)
    pod = job["spec"]["template"]
    spec = pod["spec"]
    (rclone,) = [step for step in spec.pop("initContainers") if step["name"] == "list"]
    server = copy.deepcopy(rclone)
    server["name"] = "serve"
    server["args"] = ["rclone", "serve", "http", "backups:$(BACKUP_ROOT)", "--read-only", "--addr", f":{PORT}"]
    server["env"] = [*server["env"], {"name": "RCLONE_USER", "value": USER},
                     {"name": "RCLONE_PASS", "valueFrom": {"secretKeyRef": {"name": name, "key": "password"}}}]
    server["ports"] = [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]
    spec["containers"] = [server]
    pod["metadata"]["labels"][CLONE_LABEL] = name
    return job


def restore_job(restore_cronjob: Manifest, name: str, backup: str, url: str, timeout: int) -> Manifest:
    """The target's restore of `backup`, read from the source's server instead of the target's own storage."""
    job = build_step_job(restore_cronjob, "clone", name, {"BACKUP_NAME": backup, "TUTOR_DUMPS": "false",
                                                          "BACKUP_ROOT": ""}, timeout)
    pod = job["spec"]["template"]
    pod["metadata"]["labels"][CLONE_LABEL] = name
    for step in [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]:
        step["env"] = [entry for entry in step["env"] if not entry["name"].startswith(REMOTE)] + [
            {"name": f"{REMOTE}TYPE", "value": "http"}, {"name": f"{REMOTE}URL", "value": url},
            {"name": f"{REMOTE}HEADERS", "valueFrom": {"secretKeyRef": {"name": name, "key": "headers"}}}]
    return job


def service(name: str) -> Manifest:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(name),
            "spec": {"selector": {CLONE_LABEL: name},
                     "ports": [{"name": "http", "port": PORT, "targetPort": PORT, "protocol": "TCP"}]}}


def network_policies(name: str, source: Instance, target: Instance) -> tuple[Manifest, Manifest]:
    """(the source's, the target's): the run's two pods may talk to each other on PORT, nothing more."""
    def peer(namespace: str) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "podSelector": {"matchLabels": {CLONE_LABEL: name}}}

    ports = [{"port": PORT, "protocol": "TCP"}]
    selector = {"matchLabels": {CLONE_LABEL: name}}
    return (
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _metadata(name),
         "spec": {"podSelector": selector, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [peer(target.namespace)], "ports": ports}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _metadata(name),
         "spec": {"podSelector": selector, "policyTypes": ["Egress"],
                  "egress": [{"to": [peer(source.namespace)], "ports": ports}]}},
    )


def _wait_running(api: Api, namespace: str, job: str, poll_s: float) -> None:
    deadline = time.monotonic() + SERVE_START_S
    while time.monotonic() < deadline:
        phases = set(api.pod_phases(namespace, job).values())
        if phases & {"Running", "Succeeded"}:
            return
        if "Failed" in phases:
            raise OperationError(f"the source's server (Job {job} in {namespace}) failed to start")
        time.sleep(poll_s)
    raise OperationError(f"the source's server (Job {job} in {namespace}) did not start in {SERVE_START_S} s")


class CloneApi(Api, backups.State, Protocol):
    """A run's calls, the backup commands' reads and changes, and the CronJobs the two Jobs are copied from."""

    def cronjob(self, namespace: str, name: str) -> Manifest: ...


def clone(api: CloneApi, source: Instance, target: Instance, backup: str, stack: str, timeout: int | None,
          password: str, poll_s: float = 2.0) -> int:
    """The whole run; its exit code."""
    if source.name == target.name:
        raise OperationError("a clone goes to another instance: use restore")
    backups.require_maintenance(api, target.namespace, target.name, stack)
    listing = api.cronjob(source.namespace, backups.LIST)
    restoring = api.cronjob(target.namespace, backups.RESTORE)
    name = run_name("clone")
    deadline = timeout or int(restoring["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"])
    server = serve_job(listing, name, deadline + SERVE_START_S)
    url = f"http://{name}.{source.namespace}.svc:{PORT}/"
    restore = restore_job(restoring, name, backup, url, deadline)
    headers = "Authorization,Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()
    source_policy, target_policy = network_policies(name, source, target)
    created: list[tuple[str, str]] = []
    try:
        start(api, source.namespace, server, build_secret(server, {"password": password}))
        created.append((source.namespace, "Job"))
        for namespace, manifest in ((source.namespace, service(name)), (source.namespace, source_policy),
                                    (target.namespace, target_policy)):
            api.create(namespace, manifest)
            created.append((namespace, manifest["kind"]))
        _wait_running(api, source.namespace, name, poll_s)
        code = execute(api, target.namespace, restore, build_secret(restore, {"headers": headers}), poll_s=poll_s)
    finally:
        for namespace, kind in reversed(created):
            api.delete(namespace, kind, name)
    if code == 0:
        print(backups.after_restore(api, target.namespace, target.name, stack), flush=True)
    return code
