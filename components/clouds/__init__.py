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
    raise ConfigError([f"openedx:cloud: the {settings.cloud!r} adapter is not available yet (use 'local')"])
