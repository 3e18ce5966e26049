"""`cloud: azure` in an instance stack: the instances' own Azure resources, on the cluster of a platform stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_azure_native import provider as azure_provider

from components.clouds import common
from components.clouds.azure.instances import TYPE, AzureInstanceResources, from_exported
from components.clouds.azure.settings import AzureSettings, blob_image_problems
from components.settings.stack import StackSettings


def media_problems(stack: StackSettings, contract: Mapping[str, Any]) -> list[str]:
    """What the platform stack's media storage asks of this stack's instances: Blob media needs an image that can
    write to it. The platform stack holds no instance to check it against; an instance stack learns the setting
    only from the contract."""
    media_storage = from_exported(contract["instanceInputs"]).media_storage
    return blob_image_problems(AzureSettings.model_validate({"mediaStorage": media_storage}), stack.production,
                               list(enumerate(stack.instances)))


class AttachedAzureCloud(AzureInstanceResources):
    """Named, typed and with its providers named as `AzureCloud` (the adapter that builds the cluster), so that an
    instance moved from an all-in-one stack keeps its URNs; its per-instance resources are made by the same
    factories, from the platform stack's `instanceInputs`."""

    def __init__(self, name: str, stack: StackSettings, contract: Mapping[str, Any], kubeconfig: pulumi.Output[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, stack, opts)
        self._instances = from_exported(contract["instanceInputs"])
        self._provider = azure_provider.Provider(f"{name}-provider", location=self._instances.location,
                                                 opts=common.provider_options(self))
        self.infrastructure = common.attached_infrastructure(
            self, name, contract, kubeconfig, self.cache_for,
            object_storage=self.container_for if self._instances.media_storage == "blob" else None)
