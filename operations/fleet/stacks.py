"""The fleet resolved against the stack files: its instance stacks (listed, or found by their platform stack), each
checked with the program's own settings loader, and what no stack may share with another (instance names, hosts).

Everything here but `read_stack_files` is pure: the checks take the stack files' parsed `config:` maps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.program import INSTANCE_CHECKS
from components.settings.model import NAMESPACE, ConfigError
from components.settings.stack import StackSettings, from_engine_config
from offline.evaluation import PROJECT, cli_config, qualified, stack_name
from operations.fleet.file import FleetError, FleetFile, FleetStack
from operations.passphrase import passphrase_problem

LAYOUT, PLATFORM_STACK, INSTANCES = f"{NAMESPACE}:layout", f"{NAMESPACE}:platformStack", f"{NAMESPACE}:instances"


@dataclass(frozen=True)
class StackFile:
    name: str
    label: str
    """How messages name it: `stacks/Pulumi.<name>.yaml`."""
    config: Mapping[str, Any] | None
    """Its `config:`, keys qualified (`openedx:layout`); None when it could not be read."""
    error: str | None = None
    """Why it could not be read."""
    secrets_provider: str | None = None
    """Its `secretsprovider:`, when it names one."""


@dataclass(frozen=True)
class Fleet:
    """A fleet file resolved and checked: what the commands run."""

    platform: str
    stacks: tuple[FleetStack, ...]
    concurrency: int
    canary: int
    stop_on_failure: bool
    instances: Mapping[str, tuple[str, ...]]
    """Each stack's instance names, as its stack file lists them."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(entry.stack for entry in self.stacks)


def stack_label(stacks_dir: Path, name: str) -> str:
    return f"{stacks_dir.name}/Pulumi.{name}.yaml"


def read_stack_files(stacks_dir: Path) -> dict[str, StackFile]:
    """Every stack file of `stacks_dir`, by stack name; one that cannot be read or parsed says why."""
    files: dict[str, StackFile] = {}
    for path in sorted(stacks_dir.glob("Pulumi.*.yaml")):
        name = stack_name(path)
        label = stack_label(stacks_dir, name)
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            files[name] = StackFile(name, label, None, f"cannot be read: {' '.join(str(error).split())}")
            continue
        config = document.get("config") if isinstance(document, dict) else None
        if config is not None and not isinstance(config, dict):
            files[name] = StackFile(name, label, None, "its `config:` is not a mapping")
            continue
        provider = document.get("secretsprovider") if isinstance(document, dict) else None
        files[name] = StackFile(name, label, {qualified(str(k)): v for k, v in (config or {}).items()},
                                secrets_provider=str(provider) if provider is not None else None)
    return files


def names_platform(platform_stack: Any, platform: str) -> bool:
    """Whether an instance stack's `platformStack` (a stack name, possibly `organization/project/stack`) is the
    fleet's platform stack."""
    if not isinstance(platform_stack, str):
        return False
    parts = platform_stack.split("/")
    return parts[-1] == platform and (len(parts) < 3 or parts[1] == PROJECT)


def discover(files: Mapping[str, StackFile], platform: str) -> tuple[FleetStack, ...]:
    """The default instances: every instance stack whose platform stack is `platform`, in name order, wave 0."""
    return tuple(FleetStack(stack=name) for name, file in sorted(files.items())
                 if file.config is not None and file.config.get(LAYOUT) == "instances"
                 and names_platform(file.config.get(PLATFORM_STACK), platform))


def settings_problems(config: Mapping[str, Any]) -> tuple[StackSettings | None, list[str]]:
    """The stack's settings as the program would load them (project defaults merged, `secure:` values as a
    placeholder), or every problem the program would refuse it for."""
    engine_config, _ = cli_config(config)
    try:
        return from_engine_config(engine_config, INSTANCE_CHECKS), []
    except ConfigError as error:
        return None, error.problems


def platform_problems(file: StackFile | None, label: str) -> list[str]:
    if file is None:
        return [f"platform: no stack file {label}"]
    if file.config is None:
        return [f"platform: {file.label} {file.error}"]
    layout = file.config.get(LAYOUT, "all-in-one")
    if layout != "platform":
        return [f"platform: {file.label} has {LAYOUT} {layout!r}; a fleet's platform stack has {LAYOUT}: platform"]
    return []


def instance_stack_problems(file: StackFile, platform: str, environ: Mapping[str, str] | None = None,
                            ) -> tuple[StackSettings | None, list[str]]:
    """What would keep one instance stack of the fleet from running, each line prefixed with its stack file; with
    `environ`, a production stack without a passphrase too (as deploy.sh refuses it)."""
    assert file.config is not None
    problems: list[str] = []
    if environ is not None:
        document = {"config": file.config, **({"secretsprovider": file.secrets_provider} if file.secrets_provider
                                              else {})}
        problem = passphrase_problem(document, environ)
        problems += [problem] if problem else []
    layout = file.config.get(LAYOUT, "all-in-one")
    if layout != "instances":
        problems.append(f"{LAYOUT}: is {layout!r}; a fleet's instance stack has {LAYOUT}: instances")
    elif not names_platform(file.config.get(PLATFORM_STACK), platform):
        problems.append(f"{PLATFORM_STACK}: is {file.config.get(PLATFORM_STACK)!r}, not the fleet's platform "
                        f"stack {platform!r}")
    settings, found = settings_problems(file.config)
    return settings, [f"{file.label}: {problem}" for problem in problems + found]


def _instance_names(config: Mapping[str, Any]) -> list[tuple[int, str]]:
    """The names the stack's instances are given, read from the raw list: a duplicate is reported even beside
    the stack's other mistakes."""
    raw = config.get(INSTANCES)
    if not isinstance(raw, list):
        return []
    return [(index, item["name"]) for index, item in enumerate(raw)
            if isinstance(item, dict) and isinstance(item.get("name"), str)]


def across_stacks(files: Sequence[StackFile], settings: Mapping[str, StackSettings]) -> list[str]:
    """Instance names and hosts used by two stacks of the fleet: the second one is reported, naming the first.
    (Twice within one stack is the settings loader's to report.)"""
    problems: list[str] = []
    names: dict[str, tuple[str, str]] = {}  # name → (stack, where)
    hosts: dict[str, tuple[str, str]] = {}
    for file in files:
        for index, name in _instance_names(file.config or {}):
            owner = names.setdefault(name, (file.name, f"{file.label} ({INSTANCES}[{index}])"))
            if owner[0] != file.name:
                problems.append(f"{file.label}: {INSTANCES}[{index}].name: {name!r} is already used by {owner[1]}")
        stack = settings.get(file.name)
        for index, instance in enumerate(stack.instances if stack else ()):
            for key, host in instance.public_hosts.items():
                owner = hosts.setdefault(host, (file.name, f"{file.label} ({INSTANCES}[{index}].{key})"))
                if owner[0] != file.name:
                    problems.append(f"{file.label}: {INSTANCES}[{index}].{key}: host {host!r} is already used by "
                                    f"{owner[1]}")
    return problems


def resolve(fleet_file: FleetFile, files: Mapping[str, StackFile], stacks_dir: Path, check_configs: bool = True,
            environ: Mapping[str, str] | None = None) -> Fleet:
    """The fleet a fleet file describes, or FleetError with every problem of the file and of its stacks (of their
    configs too with `check_configs`: what `preview` and `up` need, not `status` and `remove`; and of the
    passphrase `environ` gives)."""
    problems = platform_problems(files.get(fleet_file.platform), stack_label(stacks_dir, fleet_file.platform))
    entries = fleet_file.instances if fleet_file.instances is not None else discover(files, fleet_file.platform)
    if not entries:
        problems.append(f"instances: none listed, and no stack file of {stacks_dir.name}/ has {LAYOUT}: instances "
                        f"and {PLATFORM_STACK}: {fleet_file.platform}")
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if entry.stack == fleet_file.platform:
            problems.append(f"instances[{index}]: {entry.stack!r} is the platform stack")
        elif entry.stack in seen:
            problems.append(f"instances[{index}]: {entry.stack!r} is listed twice")
        seen.add(entry.stack)
    first_wave = [entry for entry in entries if entry.wave == min(e.wave for e in entries)] if entries else []
    if fleet_file.canary > len(first_wave):
        problems.append(f"canary: {fleet_file.canary} is more than the {len(first_wave)} stack(s) of the first wave")

    checked: list[StackFile] = []
    settings: dict[str, StackSettings] = {}
    for name in dict.fromkeys(entry.stack for entry in entries if entry.stack != fleet_file.platform):
        file = files.get(name)
        if file is None or file.config is None:
            label = file.label if file else stack_label(stacks_dir, name)
            problems.append(f"{label}: {file.error if file else 'no such stack file'}")
            continue
        checked.append(file)
        if not check_configs:
            continue
        stack, found = instance_stack_problems(file, fleet_file.platform, environ)
        problems += found
        if stack is not None:
            settings[name] = stack
    platform_file = files.get(fleet_file.platform)
    if check_configs and platform_file is not None and platform_file.config is not None:
        # Instances the platform stack holds itself run on the same cluster: theirs are taken first.
        platform_settings, _ = settings_problems(platform_file.config)  # its own problems are deploy.sh's to report
        if platform_settings is not None:
            settings[fleet_file.platform] = platform_settings
        checked.insert(0, platform_file)
    if check_configs:
        problems += across_stacks(checked, settings)
    if problems:
        raise FleetError(problems)
    return Fleet(
        platform=fleet_file.platform, stacks=tuple(entries), concurrency=fleet_file.concurrency,
        canary=fleet_file.canary, stop_on_failure=fleet_file.stop_on_failure,
        instances={file.name: tuple(name for _, name in _instance_names(file.config or {})) for file in checked
                   if file.name != fleet_file.platform},
    )
