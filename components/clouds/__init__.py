"""Cloud adapters, a folder each (its keys in `settings.py`, its adapter in `cloud.py`, what each instance gets in
`instances.py`): each turns the stack settings into the `Infrastructure` record. Adapters are imported when used:
the settings layer imports only the clouds' `settings` modules, and a stack imports only its own cloud's SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.settings.model import ConfigError

if TYPE_CHECKING:
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
