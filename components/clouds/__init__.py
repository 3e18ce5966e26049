"""Cloud adapters, a folder each (its keys in `settings.py`, its adapter in `cloud.py`, what each instance gets in
`instances.py`): each turns the stack settings into the `Infrastructure` record (`provision`), and an instance
stack's reading of its platform stack's output into the same record (`attach`). Adapters are imported when used:
the settings layer imports only the clouds' `settings` modules, and a stack imports only its own cloud's SDK."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from components.settings.model import ConfigError

if TYPE_CHECKING:
    import pulumi

    from components.infrastructure import Infrastructure
    from components.settings.stack import StackSettings


def provision(settings: StackSettings) -> Infrastructure:
    if settings.cloud == "local":
        from components.clouds.local.cloud import LocalCluster

        return LocalCluster("local", settings.local).infrastructure
    if settings.cloud == "aws":
        import pulumi

        from components.clouds.aws.cloud import AwsCloud

        return AwsCloud("aws", settings, pulumi.Config("aws").require("region")).infrastructure
    if settings.cloud == "gcp":
        import pulumi

        from components.clouds.gcp.cloud import GcpCloud

        config = pulumi.Config("gcp")
        return GcpCloud("gcp", settings, config.require("project"), config.require("region")).infrastructure
    if settings.cloud == "azure":
        import pulumi

        from components.clouds.azure.cloud import AzureCloud

        return AzureCloud("azure", settings, pulumi.Config("azure-native").require("location")).infrastructure
    raise ConfigError([f"openedx:cloud: unknown cloud {settings.cloud!r}"])


def attach(settings: StackSettings, contract: Mapping[str, Any], kubeconfig: pulumi.Output[str]) -> Infrastructure:
    """An instance stack's Infrastructure, on the cluster its platform stack exported (`contract`, the `platform`
    output; `kubeconfig`, that stack's kubeconfig where it built the cluster). Its components and providers are
    named as the all-in-one adapter names them, so an instance's resources keep their URNs when it moves between
    layouts."""
    if settings.cloud == "local":
        from components import platform_contract
        from components.clouds.local.cloud import LocalCluster
        from components.clouds.local.settings import LocalSettings
        from components.infrastructure import InCluster

        cluster = LocalCluster("local", LocalSettings.model_validate(contract["instanceInputs"]))
        return platform_contract.infrastructure(contract, cluster.infrastructure.provider, redis=InCluster())
    if settings.cloud == "aws":
        from components.clouds.aws.attached import AttachedAwsCloud

        return AttachedAwsCloud("aws", settings, contract, kubeconfig).infrastructure
    if settings.cloud == "gcp":
        from components.clouds.gcp.attached import AttachedGcpCloud

        return AttachedGcpCloud("gcp", settings, contract, kubeconfig).infrastructure
    if settings.cloud == "azure":
        from components.clouds.azure.attached import AttachedAzureCloud, media_problems

        problems = media_problems(settings, contract)
        if problems:  # before anything is created
            raise ConfigError(problems)
        return AttachedAzureCloud("azure", settings, contract, kubeconfig).infrastructure
    raise ConfigError([f"openedx:cloud: unknown cloud {settings.cloud!r}"])
