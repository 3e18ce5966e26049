"""`cloud: gcp` in an instance stack: the instances' own Google Cloud resources, on the cluster of a platform
stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.clouds import common
from components.clouds.gcp.instances import TYPE, GcpInstanceResources, from_exported
from components.settings.stack import StackSettings


class AttachedGcpCloud(GcpInstanceResources):
    """Named, typed and with its providers named as `GcpCloud` (the adapter that builds the cluster), so that an
    instance moved from an all-in-one stack keeps its URNs; its per-instance resources are made by the same
    factories, from the platform stack's `instanceInputs`. The APIs, the peering and the cluster they wait for in
    an all-in-one stack are the platform stack's, there already."""

    def __init__(self, name: str, stack: StackSettings, contract: Mapping[str, Any], kubeconfig: pulumi.Output[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, stack, opts)
        self._instances = from_exported(contract["instanceInputs"])
        self._provider = gcp.Provider(f"{name}-provider", project=self._instances.project,
                                      region=self._instances.region, opts=common.provider_options(self))
        self.infrastructure = common.attached_infrastructure(
            self, name, contract, kubeconfig, self.cache_for, object_storage=self.bucket_for)
