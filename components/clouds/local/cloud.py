"""`cloud: local`: an existing cluster from a kubeconfig, with every data service in the cluster."""

from __future__ import annotations

import pulumi

from components.clouds.common import kubernetes_provider
from components.clouds.local.settings import LocalSettings
from components.infrastructure import InCluster, Infrastructure


def cluster_identifier(settings: LocalSettings) -> str:
    """Stable across kubeconfig edits (token or CA rotation must not replace every resource);
    changes only when the stack points at another context."""
    return f"local:{settings.context or 'current-context'}"


class LocalCluster(pulumi.ComponentResource):
    infrastructure: Infrastructure

    def __init__(self, name: str, settings: LocalSettings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openedx:clouds:LocalCluster", name, None, opts)
        provider = kubernetes_provider(name, self, kubeconfig=settings.kubeconfig,
                                       context=settings.context, cluster_identifier=cluster_identifier(settings))
        in_cluster = InCluster()
        self.infrastructure = Infrastructure(
            provider=provider,
            mysql=in_cluster,
            mongodb=in_cluster,
            redis=in_cluster,
            storage_class=settings.storage_class,
            retain_storage_class=None,
            cluster_identifier=cluster_identifier(settings),
            # An instance stack reaches the cluster as the platform stack does.
            instance_inputs=settings.model_dump(by_alias=True, exclude_none=True),
        )
        self.register_outputs({"clusterIdentifier": cluster_identifier(settings)})
