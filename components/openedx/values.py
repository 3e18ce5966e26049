"""Names, labels and Helm values of one instance's three Releases: pure functions of the settings."""

from __future__ import annotations

from typing import Any

from components.charts import APP_CHART, NAMESPACE_CHART, SERVICES_CHART
from components.infrastructure import Egress
from components.openedx import commands
from components.openedx.tutor import RenderedSettings
from components.platform import Routing
from components.settings.email import EmailSettings
from components.settings.instance import FixedWorkload, Image, InstanceSettings, Workload, tutor_versions
from components.settings.model import Environment
from components.settings.stack import StackSettings

INSTANCE_LABEL = "app.openedx.org/instance"
SETTINGS_LABEL = "app.openedx.org/settings"
SERVICES_CREDENTIALS = "openedx-services-credentials"
SERVICE_ACCOUNT = "openedx"
ADMIN_SECRET = "openedx-admin"
ADMIN_PASSWORD_KEY = "password"
MEDIA_CLAIM = "media"
RELEASE_NAMES = {NAMESPACE_CHART: "openedx-namespace", SERVICES_CHART: "openedx-services", APP_CHART: "openedx"}

# Replica bounds by environment, for workloads whose stack entry leaves them unset.
REPLICAS: dict[Environment, tuple[int, int]] = {"dev": (1, 2), "staging": (1, 3), "production": (2, 6)}


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
    if instance.quota:
        values["resourceQuota"] = {"hard": dict(instance.quota)}
    return values




def services_values(
    instance: InstanceSettings, services: frozenset[str], storage_class: str | None, media_volume: bool,
    backups_volume: bool = False,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "global": {**_global(instance), "storageClass": storage_class or ""},
        "existingSecret": SERVICES_CREDENTIALS,
        "media": {"enabled": media_volume},
        "backups": {"enabled": backups_volume, "size": instance.backups.volume_size},
        # A rotation restarts the server holding that credential (which syncs its user's password to the Secret).
        "credentials": {"revision": {"mysql": instance.rotations.mysql, "mongodb": instance.rotations.mongodb,
                                     "meilisearch": instance.rotations.meilisearch}},
    }
    for service in ("mysql", "mongodb", "redis", "meilisearch", "smtp"):
        values[service] = {"enabled": service in services}
    values["mongodb"]["databases"] = mongodb_databases(instance)
    return values


FORUM_DATABASE = "cs_comments_service"  # tutor-forum's FORUM_MONGODB_DATABASE (its indexes are created at init)


def mongodb_databases(instance: InstanceSettings) -> list[str]:
    """The databases the instance's MongoDB user may read and write: its own, and the forum's."""
    return ["openedx", *([FORUM_DATABASE] if "forum" in instance.plugins else [])]


def replica_bounds(workload: Workload, environment: Environment) -> tuple[int, int]:
    low, high = REPLICAS[environment]
    minimum = workload.min_replicas or low
    return minimum, max(workload.max_replicas or high, minimum)


def _resources(workload: Workload | FixedWorkload) -> dict[str, Any]:
    return {} if workload.resources is None else {"resources": workload.resources.model_dump(exclude_none=True)}


def _autoscaled(workload: Workload, environment: Environment) -> dict[str, Any]:
    minimum, maximum = replica_bounds(workload, environment)
    enabled = workload.autoscaling if workload.autoscaling is not None else True
    return {
        "replicaCount": minimum,
        "autoscaling": {"enabled": enabled, "minReplicas": minimum, "maxReplicas": maximum},
        **_resources(workload),
    }


def _fixed(workload: FixedWorkload, environment: Environment) -> dict[str, Any]:
    return {"replicaCount": workload.replicas or REPLICAS[environment][0], **_resources(workload)}


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
    workloads, environment = instance.workloads, stack.environment
    mfe = "mfe" in instance.plugins
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
            "revision": init_revision(instance),
            "once": once_tasks(instance),
            "activeDeadlineSeconds": instance.init.deadline_seconds,
            "backoffLimit": instance.init.backoff_limit,
        },
        "ingress": {"enabled": True, "className": routing.ingress_class, "tls": tls},
        "lms": {
            "web": _autoscaled(workloads.lms, environment),
            "worker": _autoscaled(workloads.lms_worker, environment),
        },
        "cms": {
            "web": _autoscaled(workloads.cms, environment),
            "worker": _autoscaled(workloads.cms_worker, environment),
        },
        "mfe": {"enabled": mfe, **_fixed(workloads.mfe, environment)},
        "caddy": _fixed(workloads.caddy, environment),
        "backups": backups or {"enabled": False},
    }
    if instance.images.openedx is not None:
        values["global"]["openedxImage"] = _image(instance.images.openedx)
    if instance.images.mfe is not None:
        values["mfe"]["image"] = _image(instance.images.mfe)
    return values
