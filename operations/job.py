"""The Job of one run of a command, and its Secret: pure functions of the instance's command CronJob.

The openedx chart renders, in every instance's namespace, a suspended CronJob per service variant
(`openedx-command-lms`, `openedx-command-cms`) whose jobTemplate is the pod the init Jobs run: the image, the
settings Secret's mounts, the ServiceAccount, the labels the NetworkPolicies select, the restricted security
context, the resources. A run keeps all of that and changes only what makes it this run.
"""

from __future__ import annotations

import copy
import secrets
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from components.openedx.commands import Command, Service, container_env

COMMAND_LABEL = "app.openedx.org/command"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
# Not Helm: Helm never deletes these Jobs; their TTL does.
MANAGED_BY = "ops.sh"
_SUFFIX = string.ascii_lowercase + string.digits

Manifest = dict[str, Any]


def template_name(service: Service) -> str:
    return f"openedx-command-{service}"


def run_name(command: str) -> str:
    """`openedx-<command>-<UTC time>-<4 random characters>`: unique per run, a DNS label (command names are short
    lowercase words)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"openedx-{command}-{stamp}-{''.join(secrets.choice(_SUFFIX) for _ in range(4))}"


def _labelled(metadata: Mapping[str, Any], command: str) -> dict[str, str]:
    return {**metadata.get("labels", {}), MANAGED_BY_LABEL: MANAGED_BY, COMMAND_LABEL: command}


def from_template(cronjob: Manifest, command: str, name: str, timeout: int | None) -> Manifest:
    """A Job from a CronJob's jobTemplate, labelled as the run of `command`: no retry, the template's TTL, its
    deadline unless `timeout` (seconds) replaces it."""
    template = cronjob["spec"]["jobTemplate"]
    spec = copy.deepcopy(template["spec"])
    pod = spec["template"]
    pod["metadata"] = {**pod.get("metadata", {}), "labels": _labelled(pod.get("metadata", {}), command)}
    spec["backoffLimit"] = 0
    if timeout is not None:
        spec["activeDeadlineSeconds"] = timeout
    metadata = {"name": name, "labels": _labelled(template.get("metadata", {}), command)}
    if annotations := template.get("metadata", {}).get("annotations"):
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}


def build_job(cronjob: Manifest, command: Command, name: str, timeout: int | None = None) -> Manifest:
    """The Job running `command`, from the jobTemplate of its service's command CronJob. Its Secret
    (`build_secret`) is named like the Job."""
    job = from_template(cronjob, command.name, name, timeout)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    container["args"] = list(command.args)
    container["env"] = [*container.get("env", []), *container_env(command, name)]
    return job


def build_step_job(cronjob: Manifest, command: str, name: str, env: Mapping[str, str],
                   timeout: int | None = None) -> Manifest:
    """A run of a CronJob whose pod is a sequence of steps (the backup Jobs: init containers, then the last step):
    `env` replaces the template's values of those variables in every step."""
    job = from_template(cronjob, command, name, timeout)
    pod = job["spec"]["template"]["spec"]
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        kept = [entry for entry in container.get("env", []) if entry["name"] not in env]
        container["env"] = [*kept, *({"name": key, "value": value} for key, value in env.items())]
    return job


def build_secret(job: Manifest, data: Mapping[str, str]) -> Manifest:
    """The run's Secret: what the command reads through `secret_env`, nowhere in the Job's spec."""
    metadata = {"name": job["metadata"]["name"], "labels": dict(job["metadata"]["labels"])}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque", "stringData": dict(data)}


def owner_reference(job: Manifest) -> Manifest:
    """The created Job as the owner of its Secret: the garbage collector deletes the Secret with the Job.
    (The Job itself has no owner. `kubectl create job --from` makes the CronJob its owner, but the CronJob
    controller deletes the finished Jobs it owns beyond its history limits, which are 0.)"""
    return {"apiVersion": "batch/v1", "kind": "Job", "name": job["metadata"]["name"], "uid": job["metadata"]["uid"]}
