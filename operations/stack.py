"""Where an instance runs, from its stack's outputs: its namespace and hosts, and how to reach its cluster.

The outputs are read with `pulumi stack output --json` (never `--show-secrets`: nothing here needs a secret).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[1]


class OperationError(Exception):
    """A mistake of the operator's, or a stack or cluster that cannot be used: one line, exit code 2."""


@dataclass(frozen=True)
class Instance:
    name: str
    namespace: str
    lms_host: str
    studio_host: str


@dataclass(frozen=True)
class KubeAccess:
    """The `kubernetes` output: a kubeconfig's text (a cluster the program built), else a kubeconfig path, else the
    operator's default kubeconfig; a context when one is set, else the kubeconfig's current one."""

    kubeconfig: dict[str, Any] | None = None
    path: str | None = None
    context: str | None = None


@dataclass(frozen=True)
class Outputs:
    instances: dict[str, Instance]
    access: KubeAccess

    def instance(self, name: str) -> Instance:
        if name not in self.instances:
            known = ", ".join(sorted(self.instances)) or "none"
            raise OperationError(f"no instance {name!r} in this stack (its instances: {known})")
        return self.instances[name]


def _host(url: str) -> str:
    return urlsplit(url).netloc


def parse_outputs(stack: str, outputs: dict[str, Any]) -> Outputs:
    """The outputs `pulumi stack output --json` prints, as the commands need them."""
    if "instances" not in outputs:
        raise OperationError(f"stack {stack} has no `instances` output: deploy it first (./deploy.sh {stack})")
    instances = {
        name: Instance(name, entry["namespace"], _host(entry["lmsUrl"]), _host(entry["studioUrl"]))
        for name, entry in outputs["instances"].items()
    }
    # A stack deployed before the `kubernetes` output existed: the default kubeconfig, as `kubectl` would use.
    access = outputs.get("kubernetes") or {}
    kubeconfig = None
    if access.get("kubeconfig"):
        kubeconfig = yaml.safe_load(access["kubeconfig"])
        if not isinstance(kubeconfig, dict):
            raise OperationError(f"stack {stack}'s kubernetes.kubeconfig output is not a kubeconfig")
    path = str(Path(access["kubeconfigPath"]).expanduser()) if access.get("kubeconfigPath") else None
    return Outputs(instances, KubeAccess(kubeconfig, path, access.get("context") or None))


def read_outputs(stack: str) -> Outputs:
    """`pulumi stack output --json` of the project's stack."""
    try:
        done = subprocess.run(["pulumi", "stack", "output", "--json", "--stack", stack], cwd=PROJECT_DIR,
                              capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise OperationError("the Pulumi CLI is needed: https://www.pulumi.com/docs/install/") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no error output"])[-1]
        raise OperationError(f"cannot read the outputs of stack {stack}: {reason}")
    return parse_outputs(stack, json.loads(done.stdout or "{}"))
