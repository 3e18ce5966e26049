"""Names, labels and Helm values of one instance's three Releases: pure functions of the settings."""

from __future__ import annotations

from typing import Any

from components.charts import APP_CHART, NAMESPACE_CHART, SERVICES_CHART, chart_digest
from components.openedx.tutor import RenderedSettings
from components.platform import Routing
from components.settings import Environment, InstanceSettings, StackSettings, Workload

INSTANCE_LABEL = "app.openedx.org/instance"
SETTINGS_LABEL = "app.openedx.org/settings"
SERVICES_CREDENTIALS = "openedx-services-credentials"
SERVICE_ACCOUNT = "openedx"
MEDIA_CLAIM = "media"
RELEASE_NAMES = {NAMESPACE_CHART: "openedx-namespace", SERVICES_CHART: "openedx-services", APP_CHART: "openedx"}

# Replica bounds by environment, for workloads whose stack entry leaves them unset.
REPLICAS: dict[Environment, tuple[int, int]] = {"dev": (1, 2), "staging": (1, 3), "production": (2, 6)}
WORKLOAD_VALUES = {  # stack key → (subchart, component) in charts/openedx
    "lms": ("lms", "web"),
    "lms_worker": ("lms", "worker"),
    "cms": ("cms", "web"),
    "cms_worker": ("cms", "worker"),
}


def namespace_name(instance: InstanceSettings) -> str:
    return f"openedx-{instance.name}"


def release_name(chart: str) -> str:
    """One instance per namespace: each chart's Release has a fixed name there."""
    return RELEASE_NAMES[chart]


def settings_secret_name(content_hash: str) -> str:
    return f"openedx-settings-{content_hash}"


def instance_labels(instance: InstanceSettings) -> dict[str, str]:
    return {INSTANCE_LABEL: instance.name, "app.kubernetes.io/part-of": "openedx",
            "app.kubernetes.io/managed-by": "pulumi"}


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


def with_chart_digest(chart: str, values: dict[str, Any]) -> dict[str, Any]:
    """Any edit of the chart's files changes the Release's inputs, so it is rolled out."""
    return {**values, "global": {**values.get("global", {}), "chartDigest": chart_digest(chart)}}


def _global(instance: InstanceSettings) -> dict[str, Any]:
    return {"instance": instance.name}


def namespace_values(instance: InstanceSettings, routing: Routing) -> dict[str, Any]:
    quota = instance.quota
    return {
        "global": _global(instance),
        "serviceAccount": {"name": SERVICE_ACCOUNT},
        "networkPolicy": {
            "ingressController": {
                "namespaceSelector": {"kubernetes.io/metadata.name": routing.controller_namespace},
            },
        },
        "resourceQuota": {
            "requests": {"cpu": quota.requests_cpu, "memory": quota.requests_memory},
            "limits": {"cpu": quota.limits_cpu, "memory": quota.limits_memory},
            "pods": quota.pods,
        },
    }


def services_values(instance: InstanceSettings, services: frozenset[str], storage_class: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "global": {**_global(instance), **({"storageClass": storage_class} if storage_class else {})},
        "existingSecret": SERVICES_CREDENTIALS,
        "media": {"enabled": True},
    }
    for service in ("mysql", "mongodb", "redis", "meilisearch", "smtp"):
        values[service] = {"enabled": service in services}
    return values


def replica_bounds(workload: Workload, environment: Environment) -> tuple[int, int]:
    low, high = REPLICAS[environment]
    minimum = workload.min_replicas or low
    return minimum, max(workload.max_replicas or high, minimum)


def _scaling(workload: Workload, environment: Environment) -> dict[str, Any]:
    minimum, maximum = replica_bounds(workload, environment)
    values: dict[str, Any] = {
        "autoscaling": {
            "enabled": workload.autoscaling if workload.autoscaling is not None else True,
            "minReplicas": minimum,
            "maxReplicas": maximum,
        },
        "replicas": minimum,
    }
    if workload.resources is not None:
        values["resources"] = workload.resources.model_dump(exclude_none=True)
    return values


def _image(image: Any) -> dict[str, str]:
    registry, _, repository = image.repository.rpartition("/") if image.repository.count("/") >= 2 else (
        "", "", image.repository)
    return {**({"registry": registry} if registry else {}), "repository": repository, "tag": image.tag}


def init_task_refs(rendered: RenderedSettings) -> list[dict[str, str]]:
    """The ordered init tasks as the chart takes them: each task's service and the Secret key of its script."""
    return [{"service": task.service, "key": task.key} for task in rendered.init_tasks]


def app_values(
    instance: InstanceSettings,
    stack: StackSettings,
    routing: Routing,
    settings_secret: str,
    init_tasks: list[dict[str, str]],
) -> dict[str, Any]:
    workloads = instance.workloads
    values: dict[str, Any] = {
        "global": {
            **_global(instance),
            "settingsSecret": settings_secret,
            "serviceAccountName": SERVICE_ACCOUNT,
            "hosts": {
                "lms": instance.lms_host,
                "cms": instance.studio_host,
                "mfe": instance.apps_host if "mfe" in instance.plugins else "",
                "meilisearch": instance.meilisearch_host,
            },
        },
        "init": {"tasks": init_tasks},
        "media": {"existingClaim": MEDIA_CLAIM},
        "ingress": {
            "enabled": True,
            "className": routing.ingress_class,
            "tls": {"enabled": instance.https, **(
                {"clusterIssuer": routing.cluster_issuer} if routing.cluster_issuer else {})},
        },
        "mfe": {"enabled": "mfe" in instance.plugins},
    }
    for key, (subchart, component) in WORKLOAD_VALUES.items():
        values.setdefault(subchart, {})[component] = _scaling(getattr(workloads, key), stack.environment)
    if instance.images.openedx is not None:
        values["global"]["openedxImage"] = _image(instance.images.openedx)
    if instance.images.mfe is not None:
        values["mfe"]["image"] = _image(instance.images.mfe)
    return values
