"""What a platform stack hands its instance stacks: its `platform` output, and the instance stack's reading of it.

A platform stack (`openedx:layout: platform`) builds the cluster, the shared servers and the add-ons, and exports,
besides the `kubernetes` output every stack has (how to reach the cluster), `platform`:

    {version, cloud, environment, clusterIdentifier, routing: {ingressClass, controllerNamespace, clusterIssuer,
     monitoringNamespace}, storageClass, retainStorageClass, egress: [{cidr, ports}],
     mysql, mongodb: null (in the cluster, per instance) or {host, port, tls, caCertificate[, replicaSet, retryWrites]},
     redis: "in-cluster" | "managed", instanceInputs: {what the cloud's per-instance resources are made from}}

Keys whose value is null may be left out of a stack output (`.get` reads them). It holds no credential: the shared
servers' admin passwords stay in the platform stack's state and in its admin Secrets of `openedx-system`, which the
provisioning Jobs of every instance read there by name. An instance stack (`openedx:layout: instances`) reads both
outputs through a StackReference and deploys its instances as an all-in-one stack would, on what they describe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.infrastructure import (
    Cache,
    DataService,
    Egress,
    InCluster,
    Infrastructure,
    ManagedCache,
    ManagedEndpoint,
    ManagedMongodb,
)
from components.platform import Routing
from components.settings.stack import StackSettings

VERSION = 1
"""Bumped when an instance stack of an earlier program could no longer read the output."""


def _server(server: DataService) -> dict[str, pulumi.Input[Any]] | None:
    if not isinstance(server, ManagedEndpoint):
        return None
    # A CA certificate is public, though a provider may mark it secret (Cloud SQL's): one secret value would make
    # the whole output, and everything an instance stack derives from it, secret.
    ca = None if server.ca_certificate is None else pulumi.Output.unsecret(
        pulumi.Output.from_input(server.ca_certificate))
    exported: dict[str, pulumi.Input[Any]] = {"host": server.host, "port": server.port, "tls": server.tls,
                                              "caCertificate": ca}
    if isinstance(server, ManagedMongodb):
        exported |= {"replicaSet": server.replica_set, "retryWrites": server.retry_writes}
    return exported


def platform_output(settings: StackSettings, infrastructure: Infrastructure, routing: Routing
                    ) -> dict[str, pulumi.Input[Any]]:
    """The `platform` output of a platform stack."""
    return {
        "version": VERSION,
        "cloud": settings.cloud,
        "environment": settings.environment,
        "clusterIdentifier": infrastructure.cluster_identifier,
        "routing": {"ingressClass": routing.ingress_class, "controllerNamespace": routing.controller_namespace,
                    "clusterIssuer": routing.cluster_issuer, "monitoringNamespace": routing.monitoring_namespace},
        "storageClass": infrastructure.storage_class,
        "retainStorageClass": infrastructure.retain_storage_class,
        "egress": [{"cidr": egress.cidr, "ports": list(egress.ports)} for egress in infrastructure.egress],
        "mysql": _server(infrastructure.mysql),
        "mongodb": _server(infrastructure.mongodb),
        "redis": "managed" if isinstance(infrastructure.redis, ManagedCache) else "in-cluster",
        "instanceInputs": dict(infrastructure.instance_inputs),
    }


def contract_problems(contract: Any, settings: StackSettings) -> list[str]:
    """Why an instance stack cannot deploy on what its platform stack exported (checked before it creates
    anything)."""
    where = f"openedx:platformStack: {settings.platform_stack!r}"
    if not isinstance(contract, Mapping) or "version" not in contract:
        return [f"{where} has no `platform` output: is it a platform stack (openedx:layout: platform), and deployed?"]
    if int(contract["version"]) != VERSION:
        return [f"{where} exports version {contract['version']} of the platform output; this program reads version "
                f"{VERSION}: update the platform stack and the instance stacks with the same program"]
    if contract["cloud"] != settings.cloud:
        return [f"openedx:cloud: {settings.cloud!r}, but the platform stack {settings.platform_stack!r} runs on "
                f"{contract['cloud']!r}: set openedx:cloud to {contract['cloud']!r}"]
    return []


def routing(contract: Mapping[str, Any]) -> Routing:
    """The platform's ingress, issuer and monitoring, as the instances name them. What an all-in-one stack's
    instances wait for (the controller, the issuer, the PriorityClasses) exists already: the platform stack made it."""
    exported = contract["routing"]
    return Routing(ingress_class=exported["ingressClass"], controller_namespace=exported["controllerNamespace"],
                   cluster_issuer=exported.get("clusterIssuer"),
                   monitoring_namespace=exported.get("monitoringNamespace"))


def data_service(exported: Mapping[str, Any] | None) -> DataService:
    """A shared server as the instance stack sees it: where it is, never its admin credential."""
    if exported is None:
        return InCluster()
    # Numbers come back from a stack output as floats.
    endpoint = {"host": exported["host"], "port": int(exported["port"]), "tls": exported["tls"],
                "ca_certificate": exported.get("caCertificate")}
    if "replicaSet" in exported:
        return ManagedMongodb(**endpoint, replica_set=exported["replicaSet"], retry_writes=exported["retryWrites"])
    return ManagedEndpoint(**endpoint)


def infrastructure(contract: Mapping[str, Any], provider: k8s.Provider, redis: Cache,
                   **factories: Any) -> Infrastructure:
    """The instance stack's Infrastructure record: its own Kubernetes provider, and its cloud's per-instance
    factories (`object_storage`, `mail`), made by the cloud's `attach`; the rest as the platform exported it."""
    return Infrastructure(
        provider=provider,
        mysql=data_service(contract.get("mysql")),
        mongodb=data_service(contract.get("mongodb")),
        redis=redis,
        storage_class=contract.get("storageClass"),
        retain_storage_class=contract.get("retainStorageClass"),
        egress=tuple(Egress(egress["cidr"], tuple(int(port) for port in egress["ports"]))
                     for egress in contract["egress"]),
        cluster_identifier=contract["clusterIdentifier"],
        instance_inputs=contract["instanceInputs"],
        **factories,
    )
