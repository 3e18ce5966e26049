"""What an instance runs, sized: the `size` presets and the plan of every workload and volume after the instance's
own overrides. Everything sized downstream reads the plan: the charts' values, the namespace's ResourceQuota and
LimitRange, the MySQL connection limit, the README's capacity table.

The figures start from what Open edX is published to use (the sources are in charts/openedx/charts/edxapp/README.md,
"Sizing"): Tutor's Kubernetes manifests request 2Gi for an LMS or Studio pod of 2 uwsgi processes; edx.org ran one
Celery process per queue worker and recycled the high-memory queue's after every task. Memory requests equal memory
limits for the applications: a pod is never scheduled on memory it may not get, and is never evicted because a
neighbour grew (the 800Mi-requested, 3200Mi-limited pods of earlier releases could be). CPU is requested at what a
pod uses under steady load, with a limit above for bursts (imports, first requests after a start).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from components.settings import plugins as tutor_plugins
from components.settings.instance import DataService, FixedWorkload, InstanceSettings, QueueWorker, Resources, Workload
from components.settings.model import Environment

SizeName = Literal["small", "medium", "large"]
DEFAULT_SIZES: dict[Environment, SizeName] = {"dev": "small", "staging": "medium", "production": "medium"}
PLUGIN_SERVICES = tuple(service.name for service in tutor_plugins.ALL_SERVICES)
"""The workloads of plugin services: planned only with their plugin, their processes set by their image's command."""
SCALED = ("lms", "cms", "lmsWorker", "cmsWorker", "lmsHighMemWorker", *PLUGIN_SERVICES)
"""The autoscaled workloads, by their stack key under `workloads`."""
FIXED = ("mfe", "caddy")
"""The workloads of a fixed replica count, by their stack key."""


@dataclass(frozen=True)
class Amounts:
    cpu: str
    memory: str


@dataclass(frozen=True)
class PodResources:
    requests: Amounts
    limits: Amounts

    def as_values(self) -> dict[str, dict[str, str]]:
        return {"requests": {"cpu": self.requests.cpu, "memory": self.requests.memory},
                "limits": {"cpu": self.limits.cpu, "memory": self.limits.memory}}


@dataclass(frozen=True)
class PlannedWorkload:
    """One workload's pods: resources of its main container, replica bounds, processes per pod."""

    resources: PodResources
    min_replicas: int
    max_replicas: int
    autoscaling: bool = False
    processes: int = 1
    """uwsgi processes of a web pod, Celery processes of a worker pod (1 elsewhere)."""
    enabled: bool = True


@dataclass(frozen=True)
class Plan:
    size: SizeName
    workloads: dict[str, PlannedWorkload]
    """By stack key: SCALED, FIXED and the in-cluster data services."""
    volumes: dict[str, str]
    """Data volume size by service (`volumes.<service>`)."""


def _pod(cpu: str, memory: str, cpu_limit: str) -> PodResources:
    """Memory requested as limited (no overcommit); CPU requested at steady use and limited above."""
    return PodResources(Amounts(cpu, memory), Amounts(cpu_limit, memory))


def _scaled(cpu: str, memory: str, cpu_limit: str, replicas: tuple[int, int], processes: int) -> PlannedWorkload:
    return PlannedWorkload(_pod(cpu, memory, cpu_limit), replicas[0], replicas[1], autoscaling=True,
                           processes=processes)


def _fixed(cpu: str, memory: str, cpu_limit: str, replicas: int) -> PlannedWorkload:
    return PlannedWorkload(_pod(cpu, memory, cpu_limit), replicas, replicas)


def _single(cpu: str, memory: str, cpu_limit: str) -> PlannedWorkload:
    return PlannedWorkload(_pod(cpu, memory, cpu_limit), 1, 1)


# The one place the presets are written. small: a pilot or a department (tens of concurrent learners), one pod of
# each; medium: a campus (hundreds), two web pods or more; large: thousands, web pods of 4 processes up to 12-20.
PRESETS: dict[SizeName, Plan] = {
    "small": Plan(
        size="small",
        workloads={
            "lms": _scaled("500m", "2Gi", "2", (1, 2), processes=2),
            "cms": _scaled("250m", "2Gi", "1", (1, 2), processes=2),
            "lmsWorker": _scaled("250m", "1536Mi", "1", (1, 2), processes=1),
            "cmsWorker": _scaled("250m", "1536Mi", "1", (1, 2), processes=1),
            "lmsHighMemWorker": _scaled("250m", "3Gi", "1", (1, 1), processes=1),
            "notes": _scaled("100m", "512Mi", "1", (1, 2), processes=2),
            "credentials": _scaled("100m", "768Mi", "1", (1, 2), processes=2),
            "mfe": _fixed("20m", "64Mi", "200m", 1),
            "caddy": _fixed("50m", "128Mi", "500m", 1),
            "mysql": _single("250m", "1Gi", "1"),
            "mongodb": _single("250m", "1Gi", "1"),
            "redis": _single("50m", "512Mi", "500m"),
            "meilisearch": _single("100m", "512Mi", "1"),
        },
        volumes={"mysql": "5Gi", "mongodb": "5Gi", "redis": "1Gi", "meilisearch": "5Gi"},
    ),
    "medium": Plan(
        size="medium",
        workloads={
            "lms": _scaled("1", "3Gi", "2", (2, 6), processes=4),
            "cms": _scaled("500m", "2Gi", "2", (2, 4), processes=2),
            "lmsWorker": _scaled("1", "2560Mi", "2", (1, 4), processes=2),
            "cmsWorker": _scaled("500m", "2560Mi", "2", (1, 3), processes=2),
            "lmsHighMemWorker": _scaled("500m", "4Gi", "2", (1, 2), processes=1),
            "notes": _scaled("100m", "512Mi", "1", (2, 3), processes=2),
            "credentials": _scaled("200m", "768Mi", "1", (2, 3), processes=2),
            "mfe": _fixed("20m", "64Mi", "200m", 2),
            "caddy": _fixed("100m", "128Mi", "1", 2),
            "mysql": _single("500m", "2Gi", "2"),
            "mongodb": _single("500m", "1536Mi", "2"),
            "redis": _single("100m", "1Gi", "1"),
            "meilisearch": _single("250m", "1Gi", "1"),
        },
        volumes={"mysql": "20Gi", "mongodb": "10Gi", "redis": "2Gi", "meilisearch": "5Gi"},
    ),
    "large": Plan(
        size="large",
        workloads={
            "lms": _scaled("1", "3Gi", "2", (3, 20), processes=4),
            "cms": _scaled("1", "2Gi", "2", (2, 6), processes=2),
            "lmsWorker": _scaled("1", "2560Mi", "2", (2, 10), processes=2),
            "cmsWorker": _scaled("500m", "2560Mi", "2", (2, 6), processes=2),
            "lmsHighMemWorker": _scaled("500m", "6Gi", "2", (1, 4), processes=1),
            "notes": _scaled("250m", "512Mi", "1", (2, 6), processes=2),
            "credentials": _scaled("250m", "768Mi", "1", (2, 6), processes=2),
            "mfe": _fixed("50m", "64Mi", "500m", 3),
            "caddy": _fixed("250m", "256Mi", "2", 3),
            "mysql": _single("1", "4Gi", "4"),
            "mongodb": _single("1", "3Gi", "4"),
            "redis": _single("250m", "2Gi", "1"),
            "meilisearch": _single("500m", "2Gi", "2"),
        },
        volumes={"mysql": "100Gi", "mongodb": "50Gi", "redis": "5Gi", "meilisearch": "20Gi"},
    ),
}


_MEMORY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                 "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def cpu_millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else round(float(quantity) * 1000)


def memory_bytes(quantity: str) -> int:
    number = quantity.rstrip("kMGTi")
    return round(float(number) * _MEMORY_UNITS[quantity[len(number):]])


def redis_maxmemory(planned: Plan) -> str:
    """redis.conf maxmemory: 75% of Redis's memory limit, the rest for its own use and its forks (AOF rewrites)."""
    return f"{memory_bytes(planned.workloads['redis'].resources.limits.memory) * 3 // 4 // 2**20}mb"


def mysql_buffer_pool(planned: Plan) -> str:
    """InnoDB's buffer pool: half of MySQL's memory limit (MySQL's own default, 128M, would leave most of it idle);
    the rest for connections' buffers and the server itself."""
    return f"{memory_bytes(planned.workloads['mysql'].resources.limits.memory) // 2 // 2**20}M"


def mongodb_cache_gb(planned: Plan) -> float:
    """WiredTiger's cache: a third of MongoDB's memory limit (connections, aggregations and the filesystem cache
    need the rest), at least MongoDB's minimum of 0.25 GB."""
    third = memory_bytes(planned.workloads["mongodb"].resources.limits.memory) / 3 / 2**30
    return max(0.25, round(third * 20) / 20)


def size_of(instance: InstanceSettings, environment: Environment) -> SizeName:
    return instance.size or DEFAULT_SIZES[environment]


def _resources(preset: PodResources, override: Resources | None) -> PodResources:
    """The preset's resources with each quantity the instance sets instead."""
    if override is None:
        return preset
    requests, limits = override.requests, override.limits
    return PodResources(
        Amounts((requests and requests.cpu) or preset.requests.cpu, (requests and requests.memory)
                or preset.requests.memory),
        Amounts((limits and limits.cpu) or preset.limits.cpu, (limits and limits.memory) or preset.limits.memory),
    )


def _overridden(preset: PlannedWorkload, setting: Workload | FixedWorkload | DataService,
                environment: Environment) -> PlannedWorkload:
    planned = replace(preset, resources=_resources(preset.resources, setting.resources))
    if isinstance(setting, Workload):
        low = setting.min_replicas or planned.min_replicas
        planned = replace(planned, min_replicas=low, max_replicas=max(setting.max_replicas or planned.max_replicas,
                                                                      low),
                          autoscaling=planned.autoscaling if setting.autoscaling is None else setting.autoscaling,
                          processes=setting.processes or planned.processes)
    if isinstance(setting, QueueWorker):
        planned = replace(planned, enabled=environment != "dev" if setting.enabled is None else setting.enabled)
    if isinstance(setting, FixedWorkload) and setting.replicas is not None:
        planned = replace(planned, min_replicas=setting.replicas, max_replicas=setting.replicas)
    return planned


def _with_plugins(planned: PlannedWorkload, key: str, instance: InstanceSettings) -> PlannedWorkload:
    """A plugin service runs with its plugin only."""
    return replace(planned, enabled=key in instance.plugins) if key in PLUGIN_SERVICES else planned


def plan(instance: InstanceSettings, environment: Environment) -> Plan:
    """The instance's size preset (its `size`, else the environment's) with every field it sets instead."""
    preset = PRESETS[size_of(instance, environment)]
    settings = instance.workloads
    workloads = {key: _with_plugins(_overridden(planned, getattr(settings, _attribute(key)), environment), key,
                                    instance)
                 for key, planned in preset.workloads.items()}
    volumes = {service: getattr(instance.volumes, service) or size for service, size in preset.volumes.items()}
    return replace(preset, workloads=workloads, volumes=volumes)


def _attribute(key: str) -> str:
    """`lmsHighMemWorker` → `lms_high_mem_worker`: the stack key's attribute on the settings model."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def plan_problems(instance: InstanceSettings, environment: Environment) -> list[tuple[str, str]]:
    """Requests above limits once the instance's resources are laid over its size's (key path, problem)."""
    planned, size = plan(instance, environment), size_of(instance, environment)
    problems = [(f"workloads.{key}.processes", "is set by the service's image (its command runs 2 processes)")
                for key in PLUGIN_SERVICES if getattr(instance.workloads, key).processes is not None]
    for key, workload in planned.workloads.items():
        requests, limits = workload.resources.requests, workload.resources.limits
        for name, request, limit, parse in (("cpu", requests.cpu, limits.cpu, cpu_millis),
                                            ("memory", requests.memory, limits.memory, memory_bytes)):
            if parse(request) > parse(limit):
                problems.append((f"workloads.{key}.resources",
                                 f"requests.{name} ({request}) is above limits.{name} ({limit}) (unset ones come "
                                 f"from size {size})"))
    return problems
