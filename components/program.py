"""The program `pulumi up` runs: settings → infrastructure → platform → instances → outputs."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from components import clouds, platform_contract
from components.infrastructure import Infrastructure, ManagedEndpoint
from components.openedx import tutor_checks, tutor_keys
from components.openedx.endpoints import openedx_image
from components.openedx.instance import Instance, InstanceArgs
from components.platform import Platform, Routing
from components.provisioning import SharedServers
from components.settings.instance import tutor_versions
from components.settings.model import ConfigError
from components.settings.stack import StackSettings, from_engine_config


class InvalidStackConfig(pulumi.RunError):
    """Raised before any resource exists; the CLI prints the message without a traceback."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(str(ConfigError(problems)))
        self.problems = problems


def engine_config() -> Mapping[str, Any]:
    """Every config key of the stack, as the engine hands them to the program."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


INSTANCE_CHECKS = (tutor_checks.settings_problems, tutor_keys.settings_problems)
"""What the Open edX layer adds to the settings' checks of every instance: the Tutor keys the program sets, values
Tutor could not render, and keys nothing would read. So a stack Tutor would refuse, or a setting that would be
ignored, is refused before anything is created."""


def load_settings() -> StackSettings:
    try:
        return from_engine_config(engine_config(), INSTANCE_CHECKS)
    except ConfigError as error:
        raise InvalidStackConfig(error.problems) from None


def shared_servers(stack: StackSettings, infrastructure: Infrastructure) -> SharedServers | None:
    """The stack's shared servers, where its instances' databases are provisioned: a platform stack's even without
    an instance (their admin Secrets are what its instance stacks' provisioning reads)."""
    mysql, mongodb = (server if isinstance(server, ManagedEndpoint) else None
                      for server in (infrastructure.mysql, infrastructure.mongodb))
    if (mysql or mongodb) and (stack.instances or stack.layout == "platform"):
        return SharedServers("shared", infrastructure.provider, mysql=mysql, mongodb=mongodb)
    return None


def deploy_instances(stack: StackSettings, infrastructure: Infrastructure, routing: Routing,
                     shared: SharedServers | None) -> list[Instance]:
    """Every instance, independent of the others, except that a rollout wave starts after the previous one."""
    deployed: list[Instance] = []
    previous_wave: tuple[pulumi.Resource, ...] = ()
    # Within a wave, instances with the same Tutor plugins are created together, so their settings renders
    # (run as their secrets resolve, in creation order) switch Tutor's global plugin state once per set.
    ordered = sorted(stack.instances, key=lambda i: (i.wave, sorted(i.plugins), i.name))
    for _, wave in groupby(ordered, key=lambda i: i.wave):
        this_wave = [
            Instance(settings.name, InstanceArgs(settings, stack, infrastructure, routing, shared, previous_wave))
            for settings in wave
        ]
        deployed += this_wave
        previous_wave = tuple(instance.application for instance in this_wave)
    return deployed


def kubernetes_access(settings: StackSettings, infrastructure: Infrastructure) -> dict[str, pulumi.Input[str]]:
    """How the operator commands reach the cluster: the kubeconfig of a cluster the program built (no credential in
    it), or the kubeconfig path and context a `local` stack names (empty: the operator's default)."""
    if infrastructure.kubeconfig is not None:
        return {"kubeconfig": infrastructure.kubeconfig, "kubeconfigPath": "", "context": ""}
    local = settings.local
    return {"kubeconfig": "", "kubeconfigPath": local.kubeconfig or "", "context": local.context or ""}


def instance_outputs(settings: StackSettings, instances: list[Instance]) -> dict[str, Any]:
    """The `instances` output (where each instance is, what it runs: its image, Tutor's and its plugins' versions),
    and the `admins` output of the instances that have an admin (its passwords are
    secrets: `pulumi stack output admins --show-secrets` shows them)."""
    by_name = {instance.name: instance for instance in settings.instances}
    versions = tutor_versions()
    outputs: dict[str, Any] = {"instances": {i.instance_name: {
        "namespace": i.namespace, "lmsUrl": i.lms_url, "studioUrl": i.studio_url,
        "image": openedx_image(by_name[i.instance_name]), "tutor": versions["tutor"],
        "plugins": {plugin: versions.get(plugin, "") for plugin in sorted(by_name[i.instance_name].plugins)},
    } for i in instances}}
    admins = {s.name: s.admin.username for s in settings.instances if s.admin is not None}
    if admins:
        outputs["admins"] = {i.instance_name: {"username": admins[i.instance_name], "password": i.admin_password}
                             for i in instances if i.instance_name in admins}
    return outputs


def export(outputs: Mapping[str, Any]) -> None:
    for name, value in outputs.items():
        pulumi.export(name, value)


def deploy_on_platform(settings: StackSettings) -> None:
    """An instance stack: its instances on the cluster and shared servers of its platform stack, read through a
    StackReference. What they are deployed on is known once the reference is read, so they are declared then
    (the engine reads it in a preview too: a preview shows them)."""
    reference = pulumi.StackReference("platform", stack_name=settings.platform_stack)
    kubernetes = reference.require_output("kubernetes")

    def deploy(contract: Any) -> list[Instance]:
        problems = platform_contract.contract_problems(contract, settings)
        if problems:
            raise InvalidStackConfig(problems)
        try:
            infrastructure = clouds.attach(settings, contract, kubernetes.apply(lambda access: access["kubeconfig"]))
        except ConfigError as error:
            raise InvalidStackConfig(error.problems) from None
        shared = shared_servers(settings, infrastructure)
        return deploy_instances(settings, infrastructure, platform_contract.routing(contract), shared)

    deployed = reference.get_output("platform").apply(deploy)
    export({"cloud": settings.cloud, "environment": settings.environment, "kubernetes": kubernetes})
    # Each output its own apply: the admins' passwords make theirs secret, and only theirs.
    pulumi.export("instances", deployed.apply(lambda instances: instance_outputs(settings, instances)["instances"]))
    if any(s.admin is not None for s in settings.instances):
        pulumi.export("admins", deployed.apply(lambda instances: instance_outputs(settings, instances)["admins"]))


def main() -> None:
    settings = load_settings()
    if settings.layout == "instances":
        deploy_on_platform(settings)
        return
    try:
        infrastructure = clouds.provision(settings)
    except ConfigError as error:
        raise InvalidStackConfig(error.problems) from None
    platform = Platform("platform", settings, infrastructure.provider)
    instances = deploy_instances(settings, infrastructure, platform.routing, shared_servers(settings, infrastructure))
    export({"cloud": settings.cloud, "environment": settings.environment,
            "kubernetes": kubernetes_access(settings, infrastructure), **instance_outputs(settings, instances)})
    if settings.layout == "platform":
        pulumi.export("platform", platform_contract.platform_output(settings, infrastructure, platform.routing))
