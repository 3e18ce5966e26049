"""`cloud: aws` in an instance stack: the instances' own AWS resources, on the cluster of a platform stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from components.clouds import common
from components.clouds.aws.instances import TYPE, AwsInstanceResources, from_exported
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
        self.infrastructure = common.attached_infrastructure(
            self, name, contract, kubeconfig, self.cache_for, object_storage=self.bucket_for, mail=self.mail_for)
