"""What one instance of each size takes from a cluster, and how many fit on the clouds' default node groups: the
README's capacity table (`python -m operations.capacity` prints it; a test keeps the README's copy current).

Counted: the requests of every pod at the workloads' minimum (steady state) and the instance's ResourceQuota (every
workload at its maximum, a surge pod each, the Jobs beside them), with the data services a cloud stack runs in the
cluster by default (MongoDB, Redis, Meilisearch; MySQL on the cloud's managed server), and the default plugins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from components.openedx import quota
from components.settings.instance import InstanceSettings
from components.settings.sizes import FIXED, PRESETS, SCALED, Plan, SizeName, cpu_millis, memory_bytes, plan

CLOUD_SERVICES = frozenset({"mongodb", "redis", "meilisearch"})
NODE_CPU_MILLIS = 3500
NODE_MEMORY = 13 * 2**30
"""What a 4 vCPU / 16 GiB node (m6i.xlarge, e2-standard-4, Standard_D4ds_v5: each cloud's default) leaves to pods,
roughly: its allocatable (the kubelet's and the system's reservations taken off: about 3.9 CPU and 13.3 to 14.8 GiB
depending on the cloud) less the DaemonSets (CNI, kube-proxy, CSI drivers, log and metrics agents)."""
NODE_GROUPS = {"aws": 6, "gcp": 9, "azure": 6}
"""The default node group maxima (`aws.nodeGroup.maxSize`, `gcp.nodePool.maxNodes`, `azure.userPool.maxCount`)."""


@dataclass(frozen=True)
class Footprint:
    size: SizeName
    steady_cpu: int
    """Millicores requested with every workload at its minimum."""
    steady_memory: int
    peak_cpu: int
    """Millicores of the ResourceQuota: every workload at its maximum, surge pods and Jobs."""
    peak_memory: int
    storage: int


def _steady(planned: Plan, services: frozenset[str]) -> tuple[int, int]:
    cpu = memory = 0
    for key, workload in planned.workloads.items():
        if not workload.enabled or (key not in SCALED and key not in FIXED and key not in services):
            continue
        cpu += workload.min_replicas * cpu_millis(workload.resources.requests.cpu)
        memory += workload.min_replicas * memory_bytes(workload.resources.requests.memory)
    return cpu, memory


def footprint(size: SizeName, services: frozenset[str] = CLOUD_SERVICES) -> Footprint:
    """An instance of `size` with the default plugins (no plugin service), outside `dev`."""
    planned = plan(InstanceSettings.model_validate({"name": "sized", "lmsHost": "sized.example.com", "size": size}),
                   "production")
    bounds = quota.bounds(planned, services)
    steady_cpu, steady_memory = _steady(planned, services)
    return Footprint(size, steady_cpu, steady_memory, cpu_millis(bounds.hard["requests.cpu"]),
                     memory_bytes(bounds.hard["requests.memory"]), memory_bytes(bounds.hard["requests.storage"]))


def fits(nodes: int, cpu: int, memory: int) -> int:
    """How many instances of these requests fit on `nodes` nodes, by the scarcer of CPU and memory."""
    return min(nodes * NODE_CPU_MILLIS // cpu, nodes * NODE_MEMORY // memory)


def _cores(millis: int) -> str:
    return f"{millis / 1000:g}"


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f}"


def markdown_table() -> str:
    rows = ["| size | requests at the minimum (CPU / GiB) | quota: at the maximum (CPU / GiB) | volumes (GiB) | "
            "instances per node group at their minimum: aws 6, gcp 9, azure 6 nodes |",
            "|---|---|---|---|---|"]
    for size in get_args(SizeName):
        f = footprint(size)
        per_group = ", ".join(f"{cloud} {fits(nodes, f.steady_cpu, f.steady_memory)}"
                              for cloud, nodes in NODE_GROUPS.items())
        rows.append(f"| `{size}` | {_cores(f.steady_cpu)} / {_gib(f.steady_memory)} | {_cores(f.peak_cpu)} / "
                    f"{_gib(f.peak_memory)} | {_gib(f.storage)} | {per_group} |")
    return "\n".join(rows)


def presets_table() -> str:
    """Each workload's pod in each size: requests / limits, replicas (min-max), processes per pod."""
    sizes = get_args(SizeName)
    rows = ["| workload | " + " | ".join(f"`{size}`" for size in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for key in PRESETS["small"].workloads:
        cells = []
        for size in sizes:
            w = PRESETS[size].workloads[key]
            r = w.resources
            replicas = f"{w.min_replicas}-{w.max_replicas}" if w.max_replicas != w.min_replicas else str(w.min_replicas)
            processes = f", {w.processes} proc." if key in SCALED else ""
            cells.append(f"{r.requests.cpu}/{r.limits.cpu} CPU, {r.limits.memory}; {replicas}{processes}")
        rows.append(f"| `{key}` | " + " | ".join(cells) + " |")
    for service in PRESETS["small"].volumes:
        rows.append(f"| volume `{service}` | " + " | ".join(PRESETS[size].volumes[service] for size in sizes) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(presets_table(), markdown_table(), sep="\n\n")
