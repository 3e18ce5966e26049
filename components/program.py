"""The program `pulumi up` runs: settings → infrastructure → platform → instances → outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from components import clouds
from components.settings import ConfigError, StackSettings, from_engine_config


class InvalidStackConfig(pulumi.RunError):
    """Raised before any resource exists; the CLI prints the message without a traceback."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(str(ConfigError(problems)))
        self.problems = problems


def engine_config() -> Mapping[str, Any]:
    """Every config key of the stack, as the engine hands them to the program."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def load_settings() -> StackSettings:
    try:
        return from_engine_config(engine_config())
    except ConfigError as error:
        raise InvalidStackConfig(error.problems) from None


def main() -> None:
    settings = load_settings()
    try:
        infrastructure = clouds.provision(settings)
    except ConfigError as error:
        raise InvalidStackConfig(error.problems) from None
    pulumi.export("cloud", settings.cloud)
    pulumi.export("environment", settings.environment)
    del infrastructure  # the instances consume it (issue 4)
