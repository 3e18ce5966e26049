"""`cloud: aws` in an instance stack: the instances' own AWS resources, on the cluster of a platform stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from components import platform_contract
from components.clouds import common
from components.clouds.aws.instances import TYPE, AwsInstanceResources, from_exported
from components.infrastructure import InCluster, ManagedCache
from components.settings.stack import StackSettings


class AttachedAwsCloud(AwsInstanceResources):
    """Named, typed and with its providers named as `AwsCloud` (the adapter that builds the cluster), so that an
    instance moved from an all-in-one stack keeps its URNs; its per-instance resources are made by the same
    factories, from the platform stack's `instanceInputs`."""

    def __init__(self, name: str, stack: StackSettings, contract: Mapping[str, Any], kubeconfig: pulumi.Output[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, stack, opts)
        self._instances = from_exported(contract["instanceInputs"])
        self._provider = aws.Provider(f"{name}-provider", region=self._instances.region,
                                      opts=common.provider_options(self))
        # The cluster and its add-ons are the platform stack's: nothing to wait for.
        provider = common.cluster_provider(name, kubeconfig, contract["clusterIdentifier"], self, depends_on=[])
        self.infrastructure = platform_contract.infrastructure(
            contract, provider,
            redis=ManagedCache(create=self.cache_for) if contract["redis"] == "managed" else InCluster(),
            object_storage=self.bucket_for, mail=self.mail_for, kubeconfig=kubeconfig)
        self.register_outputs({"clusterIdentifier": contract["clusterIdentifier"]})
