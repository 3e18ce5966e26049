"""The typed stack config: every `openedx:` key validated into one model, with per-environment defaults, and the
checks that span several keys. Each cloud's keys live with its adapter (`components/clouds/<cloud>/settings.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from components.clouds.aws import settings as aws_settings
from components.clouds.aws.settings import AwsSettings
from components.clouds.azure import settings as azure_settings
from components.clouds.azure.settings import AzureSettings
from components.clouds.gcp import settings as gcp_settings
from components.clouds.gcp.settings import GcpSettings
from components.clouds.local.settings import LocalSettings
from components.settings import plugins as tutor_plugins
from components.settings import sizes
from components.settings.email import EmailSettings
from components.settings.instance import IndexedInstances, InstanceCheck, InstanceSettings, instance_problems
from components.settings.messages import describe
from components.settings.model import NAMESPACE, Cloud, ConfigError, Environment, Layout, Model, SectionCheck, StackName
from components.settings.platform import CHECKS as platform_checks
from components.settings.platform import PlatformSettings, https_redirect_problems

M = TypeVar("M", bound=BaseModel)


class StackSettings(Model):
    cloud: Cloud = "local"
    environment: Environment = "dev"
    layout: Layout = "all-in-one"
    platform_stack: StackName | None = None
    """An instance stack's platform stack (`layout: instances`): the stack it reads the cluster and the shared
    servers from."""
    instances: tuple[InstanceSettings, ...] = ()
    local: LocalSettings = LocalSettings()
    aws: AwsSettings = AwsSettings()
    gcp: GcpSettings = GcpSettings()
    azure: AzureSettings = AzureSettings()
    platform: PlatformSettings = PlatformSettings()

    @property
    def production(self) -> bool:
        return self.environment == "production"


# --- loading -----------------------------------------------------------------------------------------------------

CLOUDS: Mapping[str, Any] = {"aws": aws_settings, "gcp": gcp_settings, "azure": azure_settings}
"""The clouds whose adapters check what they cannot build (`CHECKS`) and need provider keys."""
REQUIRED_PROVIDER_KEYS = {cloud: module.REQUIRED_PROVIDER_KEYS for cloud, module in CLOUDS.items()}


def load(
    raw: Mapping[str, Any],
    provider_config: Mapping[str, Any] | None = None,
    instance_checks: Sequence[InstanceCheck] = (),
) -> StackSettings:
    """Validate the `openedx:` keys (namespace stripped, values decoded) into settings, or raise ConfigError with
    every problem at once: each part is checked even when another is wrong. `provider_config` holds the other
    namespaces' keys (`aws:region`, …), checked for the stack's cloud; `instance_checks` are what the layers above
    add to every instance (the Tutor keys the program sets, what Tutor can render)."""
    problems: list[str] = []
    stack_keys = {k: v for k, v in raw.items() if k != "instances"}
    stack: StackSettings | None = None
    try:
        stack = StackSettings.model_validate(stack_keys)
    except ValidationError as error:
        problems += describe(error, StackSettings, ())
    platform, invalid = _partial(PlatformSettings, stack_keys.get("platform", {}))
    # An instance stack's add-ons are its platform stack's, checked there (its own platform keys are email only).
    on_platform = stack_keys.get("layout") == "instances"
    if not on_platform:
        problems += _section_problems(platform_checks, platform, invalid)
    platform_email_wrong = "email" in _wrong_keys(invalid)
    # Whether Traefik redirects HTTP is known only when the keys it follows are right.
    redirecting = platform if not {"ingress", "tls"} & _wrong_keys(invalid) and not on_platform else None

    # The instances' sizes default by environment: checked against the stack's, when it is valid.
    environment = raw.get("environment", "dev")
    environment = environment if environment in get_args(Environment) else None
    raw_instances = raw.get("instances", [])
    if not isinstance(raw_instances, list):
        problems.append(f"{NAMESPACE}:instances: must be a list of instances, got {type(raw_instances).__name__}")
        raw_instances = []
    valid: IndexedInstances = []
    partial: IndexedInstances = []  # made of an invalid instance's valid keys
    for index, item in enumerate(raw_instances):
        instance, invalid = _partial(InstanceSettings, item, _PLACEHOLDERS)
        if invalid is not None:
            problems += describe(invalid, InstanceSettings, ("instances", index))
        if instance is None:
            continue
        (partial if invalid else valid).append((index, instance))
        wrong = _wrong_keys(invalid)
        found = [problem for check in (instance_problems, *instance_checks) for problem in check(instance)]
        if environment is not None:
            found += sizes.plan_problems(instance, environment)
        problems += [f"{NAMESPACE}:instances[{index}].{path}: {problem}" for path, problem in found
                     if path.split(".")[0].split("[")[0] not in wrong]
    checked = sorted(valid + partial, key=lambda indexed: indexed[0])
    problems += _across_instances(raw_instances, checked)
    problems += https_redirect_problems(redirecting, checked)
    problems += _layout_problems(stack_keys)
    if not on_platform:  # an instance stack's cloud is its platform stack's
        problems += _cloud_problems(stack_keys, checked, provider_config or {})
    problems += _email_problems(stack_keys, platform.email if platform else None, checked,
                                relay_known=not platform_email_wrong)
    problems.sort(key=_problem_order)

    if problems or stack is None:
        raise ConfigError(problems)
    return stack.model_copy(update={"instances": tuple(instance for _, instance in valid)})


# What stands for a required key that is missing or wrong, so that an instance's other keys are still checked.
_PLACEHOLDER_HOST = "placeholder.invalid"
_PLACEHOLDERS = {"name": "placeholder", "lmsHost": _PLACEHOLDER_HOST}


def _wrong_keys(error: ValidationError | None) -> set[str]:
    return {str(e["loc"][0]) for e in error.errors() if e["loc"]} if error else set()


def _partial(model: type[M], value: Any, placeholders: Mapping[str, Any] | None = None,
             ) -> tuple[M | None, ValidationError | None]:
    """One part of the stack, or its error and the part its valid keys make (wrong keys left out, or held by a
    placeholder where required), so that the checks of its other keys still run. None when nothing is left."""
    try:
        return model.model_validate(value), None
    except ValidationError as error:
        if not isinstance(value, dict):
            return None, error
        wrong = _wrong_keys(error)
        kept = {**(placeholders or {}), **{key: item for key, item in value.items() if key not in wrong}}
        try:
            return model.model_validate(kept), error
        except ValidationError:
            return None, error


def from_engine_config(config: Mapping[str, Any], instance_checks: Sequence[InstanceCheck] = ()) -> StackSettings:
    """Settings from the engine's config map (`openedx:key` → string, objects as JSON), as Pulumi hands it over,
    with the provider keys the stack's cloud needs (`aws:region`, …)."""
    prefix = NAMESPACE + ":"
    raw = {key[len(prefix) :]: _decode(value) for key, value in config.items() if key.startswith(prefix)}
    return load(raw, config, instance_checks)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _section_problems(checks: Sequence[SectionCheck], section: Any, invalid: ValidationError | None,
                      *args: Any) -> list[str]:
    """The checks of a part of the stack whose keys are all valid."""
    if section is None:
        return []
    wrong = _wrong_keys(invalid)
    return [problem for keys, check in checks if not keys & wrong for problem in check(section, *args)]


PLATFORM_KEYS = ("local", "aws", "gcp", "azure")
"""What only the stack that builds the cluster says (besides `platform`, of which an instance stack keeps `email`,
its instances' default relay)."""


def _layout_problems(stack_keys: Mapping[str, Any]) -> list[str]:
    """What an instance stack needs and leaves to its platform stack: it names that stack, and the cluster and the
    add-ons are that stack's."""
    layout, platform_stack = stack_keys.get("layout", "all-in-one"), stack_keys.get("platformStack")
    problems: list[str] = []
    if layout == "instances":
        if platform_stack is None:
            problems.append(f"{NAMESPACE}:platformStack: required when {NAMESPACE}:layout is instances: the "
                            "platform stack whose cluster and shared servers the instances use")
        problems += [f"{NAMESPACE}:{key}: set on the platform stack, not on an instance stack (layout: instances)"
                     for key in PLATFORM_KEYS if key in stack_keys]
        platform = stack_keys.get("platform")
        if isinstance(platform, dict):
            problems += [f"{NAMESPACE}:platform.{key}: set on the platform stack, not on an instance stack "
                         "(layout: instances); an instance stack's platform keys are email only"
                         for key in sorted(platform) if key != "email"]
    elif platform_stack is not None:
        problems.append(f"{NAMESPACE}:platformStack: only an instance stack ({NAMESPACE}:layout: instances) reads "
                        "a platform stack")
    return problems


def _cloud_problems(stack_keys: Mapping[str, Any], instances: IndexedInstances,
                    provider_config: Mapping[str, Any]) -> list[str]:
    """The provider keys the stack's cloud needs, and what its adapter cannot build from its settings."""
    cloud = stack_keys.get("cloud", "local")
    if cloud not in CLOUDS:
        return []
    module = CLOUDS[cloud]
    problems = [f"{key}: required when {NAMESPACE}:cloud is {cloud}"
                for key in module.REQUIRED_PROVIDER_KEYS if not provider_config.get(key)]
    settings, invalid = _partial(module.SETTINGS, stack_keys.get(cloud, {}))
    production = stack_keys.get("environment") == "production"
    return problems + _section_problems(module.CHECKS, settings, invalid, production, instances)


def _email_problems(stack_keys: Mapping[str, Any], platform_email: EmailSettings | None,
                    instances: IndexedInstances, relay_known: bool) -> list[str]:
    """Mail that would not leave: a stack beyond dev or local without a relay (unless its relay is wrong:
    `relay_known` false), SES credentials off AWS."""
    cloud, environment = stack_keys.get("cloud", "local"), stack_keys.get("environment", "dev")
    if cloud not in get_args(Cloud) or environment not in get_args(Environment):
        return []  # reported as such: what they would require is unknown
    problems: list[str] = []
    settings = [("platform.email", platform_email), *((f"instances[{i}].email", s.email) for i, s in instances)]
    for key, email in settings:
        if cloud != "aws" and email is not None and email.ses is not None:
            problems.append(f"{NAMESPACE}:{key}.ses: SES credentials are created on cloud aws only; on {cloud}, "
                            "give your relay's host, username and password")
    in_cluster_relay = environment == "dev" or (cloud == "local" and environment != "production")
    without = sorted({s.name for _, s in instances if s.email is None and s.name != _PLACEHOLDERS["name"]})
    if platform_email is None and relay_known and without and not in_cluster_relay:
        problems.append(
            f"{NAMESPACE}:platform.email: required on a {environment} stack ({', '.join(without)} "
            "would send no mail: the in-cluster relay is for dev and local stacks, and clouds block port 25). Set "
            "the relay, e.g. {host: smtp.sendgrid.net, username: apikey, from: no-reply@example.org} (ses: "
            "{domain: example.org} on aws), and its password with pulumi config set --path --secret "
            f"{NAMESPACE}:platform.email.password <password>")
    return problems


def _across_instances(raw_instances: list[Any], instances: IndexedInstances) -> list[str]:
    """Names and hosts used twice. Names are compared on the raw input, and hosts on every instance that has any
    valid key, so that a duplicate is reported even beside the instance's other mistakes."""
    problems: list[str] = []
    names: dict[str, int] = {}
    for index, item in enumerate(raw_instances):
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name in names:
            problems.append(
                f"{NAMESPACE}:instances[{index}].name: {name!r} is already used by instances[{names[name]}]"
            )
        elif isinstance(name, str):
            names[name] = index
    hosts: dict[str, str] = {}
    for index, instance in instances:
        for key, host in instance.public_hosts.items():
            where = f"{NAMESPACE}:instances[{index}].{key}"
            if host.endswith(_PLACEHOLDER_HOST):
                continue
            if host in hosts:
                problems.append(f"{where}: host {host!r} is already used by {hosts[host]}")
            else:
                hosts[host] = where
    return problems + _database_clashes(instances)


def _database_clashes(instances: IndexedInstances) -> list[str]:
    """On a shared server, an instance's database is named after it and its plugins' beside it
    (`<name>_<service>`): an instance named like another's plugin database (`uni-notes` beside `uni` with notes)
    would share that database. (Two instances of one name are reported as such.)"""
    problems: list[str] = []
    named = {instance.name.replace("-", "_"): (index, instance.name) for index, instance in instances}
    for index, instance in instances:
        for service in tutor_plugins.services(instance.supported_plugins):
            clash = named.get(tutor_plugins.plugin_database(instance.name.replace("-", "_"), service))
            if clash is not None:
                problems.append(f"{NAMESPACE}:instances[{clash[0]}].name: {clash[1]!r} would share a database with "
                                f"the {service.name} plugin of instances[{index}] on a shared server; choose another "
                                "name")
    return problems


def _problem_order(problem: str) -> tuple[int, str]:
    """Report problems in the order of the instances they concern."""
    index = re.match(r"[^:]+:instances\[(\d+)\]", problem)
    return (int(index.group(1)) if index else -1, problem)
