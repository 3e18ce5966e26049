"""`openedx:index:Platform`: the cluster-wide add-ons every instance relies on, as Helm releases of upstream charts.

Ingress (Traefik), TLS (cert-manager and a ClusterIssuer created only once cert-manager runs), metrics-server,
optional monitoring (kube-prometheus-stack with Open edX alert rules) and backups (Velero). Each can be
switched off; instances depend on the ingress controller and issuer they use, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import priorities
from components.settings.model import Cloud
from components.settings.platform import PlatformSettings
from components.settings.stack import StackSettings


@dataclass(frozen=True)
class UpstreamChart:
    repository: str
    chart: str
    version: str


# The one place each add-on's chart version is pinned.
CHARTS = {
    "traefik": UpstreamChart("https://traefik.github.io/charts", "traefik", "41.3.0"),
    "cert-manager": UpstreamChart("https://charts.jetstack.io", "cert-manager", "v1.19.3"),
    "metrics-server": UpstreamChart("https://kubernetes-sigs.github.io/metrics-server/", "metrics-server", "3.13.0"),
    "kube-prometheus-stack": UpstreamChart(
        "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "81.0.1"
    ),
    "velero": UpstreamChart("https://vmware-tanzu.github.io/helm-charts", "velero", "12.1.0"),
}
VELERO_PLUGINS = {
    "aws": "velero/velero-plugin-for-aws:v1.13.1",
    "gcp": "velero/velero-plugin-for-gcp:v1.13.1",
    "azure": "velero/velero-plugin-for-microsoft-azure:v1.13.1",
}
ACME_SERVERS = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
CLUSTER_ISSUER = "openedx"
MONITORING_NAMESPACE = "monitoring"
UPLOAD_TIMEOUT = "600s"  # Studio accepts 250 MB course imports; Traefik's default cuts slow uploads at 60 s
LOCAL_NODE_PORTS = {"web": 30080, "websecure": 30443}
LOAD_BALANCER_ANNOTATIONS: dict[Cloud, dict[str, str]] = {
    # A Network Load Balancer of the in-tree cloud provider (the program installs no AWS Load Balancer Controller,
    # whose annotations would do nothing). Its instance targets keep the client's address as the packets' source,
    # where a Classic ELB opens its own connections: every request would come from the load balancer.
    "aws": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
    # gcp (external passthrough Network Load Balancer) and azure (Standard Load Balancer) pass packets through
    # with the client's address as they are. With externalTrafficPolicy Local, all three probe kube-proxy's
    # healthCheckNodePort, so only nodes running a Traefik pod get traffic (on Azure that probe takes precedence
    # over the health-probe annotations: nothing to set).
}


@dataclass(frozen=True)
class Routing:
    """What an instance needs from the platform to be reachable."""

    ingress_class: str
    controller_namespace: str
    cluster_issuer: str | None
    monitoring_namespace: str | None = None
    """Where Prometheus runs, when it does: the instances let it scrape their pods."""
    depends_on: tuple[pulumi.Resource, ...] = field(default=())
    priority_classes: tuple[pulumi.Resource, ...] = field(default=())
    """The PriorityClasses the instances' pods name: they must exist before any of them is created."""


# --- values (pure) -----------------------------------------------------------------------------------------------


def traefik_service(service_type: str, cloud: Cloud) -> dict[str, Any]:
    """Traefik's Service: the client's address must reach Traefik as the packets' source."""
    annotations = LOAD_BALANCER_ANNOTATIONS.get(cloud, {}) if service_type == "LoadBalancer" else {}
    return {
        "annotations": dict(annotations),
        # Local: a node hands packets to a Traefik pod of its own, never to another node through kube-proxy's
        # SNAT, which would replace the client's address with the node's.
        "spec": {"type": service_type, "externalTrafficPolicy": "Local"},
    }


def forwarded_headers() -> dict[str, Any]:
    """Whose X-Forwarded-* headers Traefik keeps: nobody's. The load balancers in front of it are layer-4
    passthrough (they add no header and no PROXY protocol preamble), so Traefik's TCP peer is the client itself;
    trusting any range (the VPC's, say) would only let hosts inside it pick their own address. Traefik then drops
    the X-Forwarded-* and X-Real-Ip headers a client sends, and X-Forwarded-For starts with the client's address:
    the entry edx-platform reads (see the client-IP patch of components/openedx/tutor_plugin.py)."""
    return {"trustedIPs": [], "insecure": False}


def https_redirect() -> dict[str, Any]:
    """The web entry point's answer to plain HTTP: a permanent redirect to the same URL on websecure.

    cert-manager's HTTP-01 challenges still work: allowACMEByPass keeps /.well-known/acme-challenge/ out of the
    redirect, so the solver's Ingress answers them over plain HTTP. Were they redirected, they would still pass:
    Let's Encrypt follows redirects to HTTPS on port 443 without validating the certificate (its challenge-types
    documentation), and so does cert-manager's own reachability check (it skips certificate verification)."""
    return {
        "allowACMEByPass": True,
        "http": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}},
    }


def traefik_values(platform: PlatformSettings, cloud: Cloud, production: bool, monitoring: bool) -> dict[str, Any]:
    ingress = platform.ingress
    service_type = ingress.service_type or ("NodePort" if cloud == "local" else "LoadBalancer")
    timeouts = {"respondingTimeouts": {"readTimeout": UPLOAD_TIMEOUT, "writeTimeout": UPLOAD_TIMEOUT,
                                       "idleTimeout": "180s"}}
    ports: dict[str, Any] = {name: {"transport": timeouts, "forwardedHeaders": forwarded_headers()}
                             for name in LOCAL_NODE_PORTS}
    if service_type == "NodePort":
        for name, node_port in LOCAL_NODE_PORTS.items():
            ports[name]["nodePort"] = node_port
    if platform.redirects_to_https:
        ports["web"].update(https_redirect())
    replicas = ingress.replicas or (2 if production else 1)
    return {
        "deployment": {"replicas": replicas},
        "ingressClass": {"enabled": True, "isDefaultClass": False, "name": ingress.class_name},
        "ports": ports,
        "service": traefik_service(service_type, cloud),
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1} if replicas >= 2 else {"enabled": False},
        "metrics": {"prometheus": {"serviceMonitor": {"enabled": monitoring}}},
    }


def cert_manager_values() -> dict[str, Any]:
    # The Release owns the CRDs (no manual step) and keeps them if it is ever uninstalled.
    return {"crds": {"enabled": True, "keep": True}}


def cluster_issuer_spec(platform: PlatformSettings) -> dict[str, Any]:
    tls = platform.tls
    if tls.issuer == "selfsigned":
        return {"selfSigned": {}}
    solver: dict[str, Any]
    if tls.dns01 is not None:
        solver = {"dns01": {tls.dns01.provider.replace("clouddns", "cloudDNS").replace("azuredns", "azureDNS"):
                            tls.dns01.config}}
    else:
        solver = {"http01": {"ingress": {"ingressClassName": platform.ingress.class_name}}}
    return {
        "acme": {
            "server": ACME_SERVERS[tls.issuer],
            "email": tls.email,
            "privateKeySecretRef": {"name": f"{CLUSTER_ISSUER}-acme-account"},
            "solvers": [solver],
        }
    }


def metrics_server_values(cloud: Cloud) -> dict[str, Any]:
    # kind, minikube and Docker Desktop serve kubelet metrics with self-signed certificates.
    return {"args": ["--kubelet-insecure-tls"]} if cloud == "local" else {}


def wants_metrics_server(platform: PlatformSettings, cloud: Cloud) -> bool:
    if platform.metrics_server is not None:
        return platform.metrics_server
    return cloud not in ("gcp", "azure")  # GKE and AKS ship one


def monitoring_values(platform: PlatformSettings) -> dict[str, Any]:
    return {
        "grafana": {"enabled": platform.monitoring.grafana},
        "prometheus": {
            "prometheusSpec": {
                "retention": platform.monitoring.retention,
                # Pick up the rules, ServiceMonitors and PodMonitors of every namespace, not only Helm-labelled ones.
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
            }
        },
    }


def _alert(name: str, expr: str, wait: str, summary: str, severity: str = "critical") -> dict[str, Any]:
    return {"alert": name, "expr": expr, "for": wait, "labels": {"severity": severity},
            "annotations": {"summary": summary}}


def openedx_alert_rules() -> list[dict[str, Any]]:
    """A small set of alerts for the instances' workloads (namespaces `openedx-*`)."""
    ns = 'namespace=~"openedx-.*"'
    # Scheduled, manual (ops.sh) and pre-upgrade backups; the verification by restoring.
    backup_jobs, verify_jobs = "openedx-backup-[0-9].*|backup-before-upgrade", "openedx-backup-verify-.*"
    job = "{{ $labels.namespace }}/{{ $labels.job_name }}"
    return [{
        "name": "openedx",
        "rules": [
            _alert("OpenedxWebPodsNotReady",
                   f'kube_deployment_status_replicas_unavailable{{{ns},deployment=~"lms|cms"}} > 0', "10m",
                   "{{ $labels.namespace }}/{{ $labels.deployment }} has unavailable pods"),
            _alert("OpenedxHookJobFailed",
                   f'kube_job_status_failed{{{ns},job_name!~"{backup_jobs}|{verify_jobs}"}} > 0', "1m",
                   f"Job {job} failed (migrations?)"),
            _alert("OpenedxWorkersDown",
                   f'kube_deployment_status_replicas_available{{{ns},deployment=~"(lms|cms)-worker.*"}} == 0',
                   "10m", "{{ $labels.namespace }}/{{ $labels.deployment }} has no running worker"),
            _alert("OpenedxBackupFailed", f'kube_job_status_failed{{{ns},job_name=~"{backup_jobs}"}} > 0', "1m",
                   f"Backup Job {job} failed"),
            _alert("OpenedxBackupMissing",
                   f'time() - kube_cronjob_status_last_successful_time{{{ns},cronjob="openedx-backup"}} > 2 * 86400',
                   "1h", "{{ $labels.namespace }} has no successful backup for two days"),
            _alert("OpenedxBackupVerificationFailed", f'kube_job_status_failed{{{ns},job_name=~"{verify_jobs}"}} > 0',
                   "1m", f"The newest backup did not restore as its manifest says ({job})"),
            _alert("OpenedxIngress5xxRate",
                   'sum by (exported_service) (rate(traefik_service_requests_total{code=~"5..",'
                   'exported_service=~"openedx-.*"}[5m])) / sum by (exported_service) '
                   '(rate(traefik_service_requests_total{exported_service=~"openedx-.*"}[5m])) > 0.05', "10m",
                   "More than 5% of requests to {{ $labels.exported_service }} fail", "warning"),
        ],
    }]


def velero_values(platform: PlatformSettings) -> dict[str, Any]:
    backups = platform.backups
    assert backups.provider is not None  # validated: required when enabled
    return {
        "initContainers": [{
            "name": f"velero-plugin-for-{backups.provider}",
            "image": VELERO_PLUGINS[backups.provider],
            "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
        }],
        "configuration": {
            "backupStorageLocation": [{"name": "default", "provider": backups.provider, "bucket": backups.bucket,
                                       "default": True, "config": backups.config}],
            "volumeSnapshotLocation": [],
            "defaultVolumesToFsBackup": True,  # file-system backup of volumes works on every cloud's disks
        },
        "snapshotsEnabled": False,
        "deployNodeAgent": True,
        # Workload identity, not static keys: the operator binds the velero ServiceAccount to a cloud role.
        "credentials": {"useSecret": False},
        "schedules": {"daily": {"schedule": backups.schedule, "template": {"ttl": backups.ttl}}},
    }


# --- component ---------------------------------------------------------------------------------------------------


class Platform(pulumi.ComponentResource):
    routing: Routing

    def __init__(
        self, name: str, stack: StackSettings, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openedx:index:Platform", name, None, opts)
        platform, cloud = stack.platform, stack.cloud
        self._child = pulumi.ResourceOptions(parent=self, provider=provider)
        monitoring = platform.monitoring.enabled
        waits_on: list[pulumi.Resource] = []

        if monitoring:
            stack_release = self._release("kube-prometheus-stack", MONITORING_NAMESPACE, monitoring_values(platform))
            k8s.apiextensions.CustomResource(
                f"{name}-openedx-alerts",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata={"name": "openedx", "namespace": MONITORING_NAMESPACE},
                spec={"groups": openedx_alert_rules()},
                opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[stack_release])),
            )
        if platform.ingress.install:
            waits_on.append(self._release(
                "traefik", platform.ingress.namespace,
                traefik_values(platform, cloud, stack.production, monitoring),
                depends_on=[stack_release] if monitoring else [],
            ))
        issuer: str | None = None
        priority_classes = tuple(
            k8s.scheduling.v1.PriorityClass(
                f"{name}-priority-{priority.name}",
                metadata={"name": priority.name},
                value=priority.value,
                description=priority.description,
                preemption_policy="PreemptLowerPriority" if priority.preempts else "Never",
                opts=self._child,
            )
            for priority in priorities.PRIORITIES
        )
        if platform.tls.issuer != "none":
            cert_manager = self._release("cert-manager", "cert-manager", cert_manager_values())
            waits_on.append(k8s.apiextensions.CustomResource(
                f"{name}-cluster-issuer",
                api_version="cert-manager.io/v1",
                kind="ClusterIssuer",
                metadata={"name": CLUSTER_ISSUER},
                spec=cluster_issuer_spec(platform),
                # The CRD and the webhook exist only once the cert-manager Release is ready.
                opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[cert_manager])),
            ))
            issuer = CLUSTER_ISSUER
        if wants_metrics_server(platform, cloud):
            self._release("metrics-server", "kube-system", metrics_server_values(cloud))
        if platform.backups.enabled:
            self._release("velero", "velero", velero_values(platform))

        self.routing = Routing(
            ingress_class=platform.ingress.class_name,
            controller_namespace=platform.ingress.namespace,
            cluster_issuer=issuer,
            monitoring_namespace=MONITORING_NAMESPACE if monitoring else None,
            depends_on=tuple(waits_on),
            priority_classes=priority_classes,
        )
        self.register_outputs({"ingressClass": platform.ingress.class_name, "clusterIssuer": issuer})

    def _release(
        self, key: str, namespace: str, values: dict[str, Any], depends_on: list[pulumi.Resource] | None = None
    ) -> k8s.helm.v3.Release:
        chart = CHARTS[key]
        return k8s.helm.v3.Release(
            f"{self._name}-{key}",
            name=key,
            chart=chart.chart,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=namespace,
            create_namespace=True,
            values=values,
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
            timeout=900,
            opts=pulumi.ResourceOptions.merge(
                self._child, pulumi.ResourceOptions(depends_on=depends_on or [], delete_before_replace=True)
            ),
        )
