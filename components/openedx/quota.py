"""An instance's ResourceQuota and LimitRange, derived from its own plan: what its pods may request and use when
every workload runs at its maximum replicas, each Deployment mid-rollout (one surge pod), its data services and the
Jobs that run beside them. A neighbour's instance then cannot take what this one was sized for, and a runaway
HPA or a forgotten Job stops at the instance's own bounds instead of at the cluster's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from components.charts import chart_values
from components.settings.sizes import FIXED, SCALED, Amounts, Plan, PodResources, cpu_millis, memory_bytes

APP_VALUES = "charts/openedx/values.yaml"
SERVICES_VALUES = "charts/openedx-services/values.yaml"
SURGE_PODS = 1
"""The Deployments' rollingUpdate.maxSurge: one pod above the count during a rollout."""
ACME_SOLVER_PODS = 2
"""cert-manager's HTTP-01 solver pods run in the instance's namespace (with the LimitRange's defaults)."""
SIDECARS = ("mysql", "mongodb")
"""The data services whose pod also runs the credentials-sync container."""


@dataclass(frozen=True)
class Bounds:
    hard: dict[str, str]
    """The ResourceQuota's `hard`."""
    container_max: dict[str, str]
    """The LimitRange's per-container `max`: the largest limits of any container the instance runs."""


def _resources(values: dict[str, dict[str, str]]) -> PodResources:
    return PodResources(Amounts(**values["requests"]), Amounts(**values["limits"]))


def _jobs() -> list[PodResources]:
    """The Job pods that may run at once beside the workloads: an init task, a backup and its verification, two
    scheduled (or operator) commands, the settings pruner."""
    app = chart_values(APP_VALUES)
    init, backup = _resources(app["init"]["resources"]), _resources(app["backups"]["resources"])
    command, prune = _resources(app["cronJobDefaults"]["resources"]), _resources(app["settingsPrune"]["resources"])
    return [init, backup, backup, command, command, prune]


def _pods(planned: Plan, services: frozenset[str]) -> list[tuple[int, list[PodResources]]]:
    """(how many pods at most, the resources of each container of one) for everything the instance runs."""
    pods: list[tuple[int, list[PodResources]]] = []
    for key, workload in planned.workloads.items():
        if not workload.enabled:
            continue
        if key in SCALED or key in FIXED:
            pods.append((workload.max_replicas + SURGE_PODS, [workload.resources]))
        elif key in services:
            sync = _resources(chart_values(SERVICES_VALUES)["credentials"]["sync"]["resources"])
            pods.append((1, [workload.resources, *([sync] if key in SIDECARS else [])]))
    if "smtp" in services:
        pods.append((1, [_resources(chart_values(SERVICES_VALUES)["smtp"]["resources"])]))
    return pods + [(1, [job]) for job in _jobs()]


def _cpu(millis: int) -> str:
    return f"{millis // 1000}" if millis % 1000 == 0 else f"{millis}m"


def _memory(size: int) -> str:
    return f"{size // 2**30}Gi" if size % 2**30 == 0 else f"{-(-size // 2**20)}Mi"


def _total(pods: Iterable[tuple[int, list[PodResources]]], kind: str) -> tuple[int, int]:
    cpu = memory = 0
    for count, containers in pods:
        for container in containers:
            amounts: Amounts = getattr(container, kind)
            cpu += count * cpu_millis(amounts.cpu)
            memory += count * memory_bytes(amounts.memory)
    return cpu, memory


def storage(planned: Plan, services: frozenset[str], media_size: str | None, backups_size: str | None,
            ) -> tuple[int, int]:
    """(claims, bytes) of the instance's volumes: its data services', the SMTP spool, media and backups."""
    sizes = [size for service, size in planned.volumes.items() if service in services]
    if "smtp" in services:
        sizes.append(chart_values(SERVICES_VALUES)["smtp"]["persistence"]["size"])
    sizes += [size for size in (media_size, backups_size) if size]
    return len(sizes), sum(memory_bytes(size) for size in sizes)


def bounds(planned: Plan, services: frozenset[str], media_size: str | None = None,
           backups_size: str | None = None) -> Bounds:
    """The quota of everything `_pods` counts (ACME solvers counted at the LimitRange's defaults) and of its volumes;
    the LimitRange's max at the largest container."""
    pods = _pods(planned, services)
    limit_range = chart_values("charts/openedx-namespace/values.yaml")["limitRange"]
    solvers = (ACME_SOLVER_PODS, [PodResources(Amounts(**limit_range["defaultRequest"]),
                                               Amounts(**limit_range["default"]))])
    requests_cpu, requests_memory = _total([*pods, solvers], "requests")
    limits_cpu, limits_memory = _total([*pods, solvers], "limits")
    claims, stored = storage(planned, services, media_size, backups_size)
    containers = [container for _, containers in pods for container in containers]
    return Bounds(
        hard={
            "requests.cpu": _cpu(requests_cpu),
            "requests.memory": _memory(requests_memory),
            "limits.cpu": _cpu(limits_cpu),
            "limits.memory": _memory(limits_memory),
            "pods": str(sum(count for count, _ in pods) + ACME_SOLVER_PODS),
            "persistentvolumeclaims": str(claims),
            "requests.storage": _memory(stored),
        },
        container_max={
            "cpu": _cpu(max(cpu_millis(c.limits.cpu) for c in containers)),
            "memory": _memory(max(memory_bytes(c.limits.memory) for c in containers)),
        },
    )
