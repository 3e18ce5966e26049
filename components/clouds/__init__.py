"""Cloud adapters: each turns the stack settings into the `Infrastructure` record."""

from __future__ import annotations

from components.infrastructure import Infrastructure
from components.settings import ConfigError, StackSettings


def provision(settings: StackSettings) -> Infrastructure:
    if settings.cloud == "local":
        from components.clouds.local import LocalCluster

        return LocalCluster("local", settings.local).infrastructure
    if settings.cloud == "aws":
        import pulumi

        from components.clouds.aws import AwsCloud

        return AwsCloud("aws", settings, pulumi.Config("aws").require("region")).infrastructure
    if settings.cloud == "gcp":
        import pulumi

        from components.clouds.gcp import GcpCloud

        config = pulumi.Config("gcp")
        return GcpCloud("gcp", settings, config.require("project"), config.require("region")).infrastructure
    if settings.cloud == "azure":
        import pulumi

        from components.clouds.azure import AzureCloud

        return AzureCloud("azure", settings, pulumi.Config("azure-native").require("location")).infrastructure
    raise ConfigError([f"openedx:cloud: unknown cloud {settings.cloud!r}"])
