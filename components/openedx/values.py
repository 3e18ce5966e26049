"""Names, labels and Helm values of one instance's three Releases: pure functions of the settings."""

from __future__ import annotations

from typing import Any

from components import priorities
from components.charts import APP_CHART, NAMESPACE_CHART, SERVICES_CHART, pinned_image_values
from components.infrastructure import Egress
from components.openedx import commands, quota
from components.openedx.endpoints import APP_DATABASE
from components.openedx.tutor import RenderedSettings
from components.platform import Routing
from components.settings import plugins as tutor_plugins
from components.settings.email import EmailSettings
from components.settings.instance import Image, InstanceSettings, tutor_versions
from components.settings.model import Environment
from components.settings.sizes import (
    Plan,
    PlannedWorkload,
    mongodb_cache_gb,
    mysql_buffer_pool,
    plan,
    redis_maxmemory,
)
from components.settings.stack import StackSettings

INSTANCE_LABEL = "app.openedx.org/instance"
SETTINGS_LABEL = "app.openedx.org/settings"
SERVICES_CREDENTIALS = "openedx-services-credentials"
SERVICE_ACCOUNT = "openedx"
ADMIN_SECRET = "openedx-admin"
ADMIN_PASSWORD_KEY = "password"
MEDIA_CLAIM = "media"
MEDIA_SIZE = "10Gi"
"""The media volume, where there is no object storage (uploads, course assets, ORA2 files)."""
SERVICES_VALUES = "charts/openedx-services/values.yaml"
RELEASE_NAMES = {NAMESPACE_CHART: "openedx-namespace", SERVICES_CHART: "openedx-services", APP_CHART: "openedx"}


def namespace_name(instance: InstanceSettings) -> str:
    return f"openedx-{instance.name}"


def release_name(chart: str) -> str:
    """One instance per namespace: each chart's Release has a fixed name there."""
    return RELEASE_NAMES[chart]


def settings_secret_name(content_hash: str) -> str:
    return f"openedx-settings-{content_hash}"


def instance_labels(instance: InstanceSettings) -> dict[str, str]:
    return {
        INSTANCE_LABEL: instance.name,
        "app.kubernetes.io/part-of": "openedx",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def namespace_labels(instance: InstanceSettings) -> dict[str, str]:
    """The restricted Pod Security level is enforced on the whole namespace, hook Jobs included."""
    return {
        **instance_labels(instance),
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
    }


def url(instance: InstanceSettings, host: str) -> str:
    return f"{'https' if instance.https else 'http'}://{host}"


def _global(instance: InstanceSettings) -> dict[str, Any]:
    return {"instance": instance.name}


def namespace_values(
    instance: InstanceSettings,
    routing: Routing,
    service_account_annotations: dict[str, Any],
    egress: tuple[Egress, ...],
    email: EmailSettings | None,
    bounds: quota.Bounds,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "global": _global(instance),
        "serviceAccount": {"name": SERVICE_ACCOUNT, "annotations": service_account_annotations},
        "keptData": {"secretName": SERVICES_CREDENTIALS},
        "networkPolicy": {
            "ingressController": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": routing.controller_namespace}},
            },
            "extraEgress": [{"cidr": rule.cidr, "ports": list(rule.ports)} for rule in egress],
            # Mail leaves through the stack's relay, on its port alone; the in-cluster relay needs none.
            "external": {"smtpPorts": [email.effective_port] if email is not None else []},
            "monitoring": {
                "enabled": routing.monitoring_namespace is not None,
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": routing.monitoring_namespace or "monitoring"}
                },
            },
        },
    }
    values["resourceQuota"] = {"hard": {**bounds.hard, **instance.quota}}
    values["limitRange"] = {"max": bounds.container_max}
    return values


def services_values(
    instance: InstanceSettings, environment: Environment, services: frozenset[str], storage_class: str | None,
    media_volume: bool, backups_volume: bool = False,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "global": {**_global(instance), "storageClass": storage_class or ""},
        "existingSecret": SERVICES_CREDENTIALS,
        "media": {"enabled": media_volume, "size": MEDIA_SIZE},
        "backups": {"enabled": backups_volume, "size": instance.backups.volume_size},
        # A rotation restarts the server holding that credential (which syncs its user's password to the Secret).
        "credentials": {"revision": {"mysql": instance.rotations.mysql, "mongodb": instance.rotations.mongodb,
                                     "meilisearch": instance.rotations.meilisearch}},
    }
    planned = plan(instance, environment)
    for service in ("mysql", "mongodb", "redis", "meilisearch", "smtp"):
        values[service] = {"enabled": service in services}
        if service not in services:
            continue
        values[service]["priorityClassName"] = priorities.DATA.name
        if service in planned.volumes:
            values[service]["persistence"] = {"size": planned.volumes[service],
                                              "expand": service in grown_volumes(instance)}
            values[service]["resources"] = planned.workloads[service].resources.as_values()
    values["mongodb"]["databases"] = mongodb_databases(instance)
    values["mysql"]["extraDatabases"] = list(tutor_plugins.plugin_databases(instance.supported_plugins, APP_DATABASE))
    values["mongodb"]["wiredTigerCacheSizeGB"] = mongodb_cache_gb(planned)
    values["redis"]["maxmemory"] = redis_maxmemory(planned)
    values["mysql"]["extraArgs"] = [f"--innodb-buffer-pool-size={mysql_buffer_pool(planned)}"]
    return values


def grown_volumes(instance: InstanceSettings) -> dict[str, str]:
    """The data volumes the instance sizes itself (`volumes.<service>`), which the program grows to that size: a
    size preset's volumes are created at install only, so that no claim of a default instance costs a resource."""
    return instance.volumes.model_dump(exclude_none=True)


def mongodb_databases(instance: InstanceSettings) -> list[str]:
    """The databases the instance's MongoDB user may read and write: its own, and its plugins' (the forum's)."""
    return ["openedx", *tutor_plugins.mongodb_databases(instance.supported_plugins)]


def _plugin_services(instance: InstanceSettings, planned: Plan) -> dict[str, Any]:
    """The `ida` subchart's values of each plugin service: on with its plugin, sized by the plan."""
    values: dict[str, Any] = {}
    for service in tutor_plugins.ALL_SERVICES:
        workload = planned.workloads[service.name]
        values[service.name] = {"enabled": workload.enabled}
        if workload.enabled:
            values[service.name] |= _scaled(workload, priorities.WEB)
        image: Image | None = getattr(instance.images, service.name)
        if image is not None:
            values[service.name]["image"] = _image(image)
    return values


def _scaled(workload: PlannedWorkload, priority: priorities.Priority) -> dict[str, Any]:
    return {
        "replicaCount": workload.min_replicas,
        "autoscaling": {"enabled": workload.autoscaling, "minReplicas": workload.min_replicas,
                        "maxReplicas": workload.max_replicas},
        "resources": workload.resources.as_values(),
        "priorityClassName": priority.name,
    }


def _web(workload: PlannedWorkload) -> dict[str, Any]:
    return {**_scaled(workload, priorities.WEB), "uwsgiWorkers": workload.processes}


def _worker(workload: PlannedWorkload) -> dict[str, Any]:
    return {**_scaled(workload, priorities.WORKER), "concurrency": workload.processes}


def _fixed(workload: PlannedWorkload) -> dict[str, Any]:
    return {"replicaCount": workload.min_replicas, "resources": workload.resources.as_values(),
            "priorityClassName": priorities.WEB.name}


def _variants(planned: Plan) -> dict[str, Any]:
    """The lms and cms subcharts' web, worker and high-memory worker values."""
    w = planned.workloads
    high_mem = w["lmsHighMemWorker"]
    return {
        "lms": {"web": _web(w["lms"]), "worker": _worker(w["lmsWorker"]),
                "highMemWorker": {"enabled": high_mem.enabled, **_worker(high_mem)}},
        "cms": {"web": _web(w["cms"]), "worker": _worker(w["cmsWorker"])},
    }


def _image(image: Image) -> dict[str, str]:
    """`registry/owner/name` → registry and repository, as the chart's image values take them."""
    first, _, rest = image.repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return {"registry": first, "repository": rest, "tag": image.tag}
    return {"registry": "docker.io", "repository": image.repository, "tag": image.tag}


def init_task_refs(rendered: RenderedSettings) -> list[dict[str, str]]:
    """The ordered init tasks as the chart takes them: each task's service and the Secret key of its script."""
    return [{"service": task.service, "key": task.key} for task in rendered.init_tasks]


def init_revision(instance: InstanceSettings) -> str:
    """What the init tasks depend on beyond their scripts, the settings and the image: the Tutor version and the
    instance's plugins with theirs. A new value runs them again (the chart's `init.revision`)."""
    versions = tutor_versions()
    return ", ".join(f"{name} {versions.get(name, '')}".strip() for name in ("tutor", *sorted(instance.plugins)))


def _once(name: str, command: commands.Command, secret: str = "") -> dict[str, Any]:
    return {"name": name, "service": command.service, "args": list(command.args),
            "env": commands.container_env(command, secret)}


def once_tasks(instance: InstanceSettings) -> list[dict[str, Any]]:
    """The instance's first-time tasks (the chart's `init.once`): its admin, with the generated password of the
    ADMIN_SECRET Secret, and the demo course."""
    tasks = []
    if instance.admin is not None:
        admin = commands.create_user(instance.admin.username, instance.admin.email, staff=True, superuser=True,
                                     password_key=ADMIN_PASSWORD_KEY)
        tasks.append(_once("admin", admin, ADMIN_SECRET))
    if instance.demo_course:
        tasks.append(_once("demo-course", commands.import_demo_course()))
    return tasks


def app_values(
    instance: InstanceSettings,
    stack: StackSettings,
    routing: Routing,
    settings_secret: str,
    init_tasks: list[dict[str, str]],
    media_volume: bool,
    backups: dict[str, Any] | None = None,
) -> dict[str, Any]:
    planned = plan(instance, stack.environment)
    mfe = "mfe" in instance.plugins
    job_priority = {"priorityClassName": priorities.JOB.name}
    tls: dict[str, Any] = {"enabled": instance.https}
    if routing.cluster_issuer:
        tls["clusterIssuer"] = routing.cluster_issuer
    values: dict[str, Any] = {
        "global": {
            **_global(instance),
            "settingsSecret": settings_secret,
            "serviceAccountName": SERVICE_ACCOUNT,
            "hosts": {
                "lms": instance.lms_host,
                "cms": instance.studio_host,
                "mfe": instance.apps_host if mfe else "",
                "meilisearch": instance.meilisearch_host,
            },
            "media": {"existingClaim": MEDIA_CLAIM if media_volume else ""},
            "maintenance": {"enabled": instance.maintenance},
        },
        "init": {
            "tasks": init_tasks,
            # Plugins' MySQL tasks run in the client of the MySQL image the services chart pins.
            "mysqlImage": pinned_image_values(SERVICES_VALUES, "mysql", "image"),
            "revision": init_revision(instance),
            "once": once_tasks(instance),
            "activeDeadlineSeconds": instance.init.deadline_seconds,
            "backoffLimit": instance.init.backoff_limit,
            **job_priority,
        },
        "settingsPrune": job_priority,
        "cronJobDefaults": job_priority,
        "ingress": {"enabled": True, "className": routing.ingress_class, "tls": tls,
                    "extraHosts": list(instance.plugin_hosts.values())},
        **_variants(planned),
        "mfe": {"enabled": mfe, **_fixed(planned.workloads["mfe"])},
        "caddy": _fixed(planned.workloads["caddy"]),
        **_plugin_services(instance, planned),
        "backups": {**backups, **job_priority} if backups and backups["enabled"] else {"enabled": False},
    }
    if instance.images.openedx is not None:
        values["global"]["openedxImage"] = _image(instance.images.openedx)
    if instance.images.mfe is not None:
        values["mfe"]["image"] = _image(instance.images.mfe)
    return values
