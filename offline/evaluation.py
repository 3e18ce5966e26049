"""Evaluate the real program for a stack under the offline mocks, the way the Pulumi CLI would run it."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from offline.mocks import OfflineMocks
from offline.recording import Recording, RecordingMonitor

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "openedx"
SECURE_PLACEHOLDER = "offline-secure-value"  # `secure:` values need the stack's key to decrypt; offline they can't be


def stack_name(stack_file: Path) -> str:
    """`stacks/Pulumi.aws-dev.yaml` → `aws-dev`."""
    name = stack_file.name
    if not (name.startswith("Pulumi.") and name.endswith((".yaml", ".yml"))):
        raise ValueError(f"{stack_file}: a stack file is named Pulumi.<stack>.yaml")
    return name.removeprefix("Pulumi.").rsplit(".", 1)[0]


def _engine_value(value: Any) -> str:
    """The engine passes config as strings: objects and lists as JSON, booleans as true/false."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def qualified(key: str) -> str:
    """A stack file's key as the engine names it: `layout` → `openedx:layout`."""
    return key if ":" in key else f"{PROJECT}:{key}"


def cli_config(stack_config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Project-wide values and defaults from Pulumi.yaml overlaid by the stack's `config:`, as the CLI merges them."""
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    config: dict[str, str] = {}
    for key, spec in (project.get("config") or {}).items():
        if isinstance(spec, dict) and "value" in spec:
            config[qualified(key)] = _engine_value(spec["value"])
        elif isinstance(spec, dict) and "default" in spec:
            config[qualified(key)] = _engine_value(spec["default"])
        elif not isinstance(spec, dict):
            config[qualified(key)] = _engine_value(spec)
    secret_keys = []
    for key, value in stack_config.items():
        plain = without_secure(value)
        if plain != value:
            secret_keys.append(qualified(key))
        config[qualified(key)] = _engine_value(plain)
    return config, secret_keys


def without_secure(value: Any) -> Any:
    """`value` with each `secure:` value (a whole key's, or one set with `pulumi config set --path --secret`) as the
    placeholder."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECURE_PLACEHOLDER
    if isinstance(value, dict):
        return {key: without_secure(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_secure(item) for item in value]
    return value


def load_stack_file(stack_file: Path) -> tuple[str, dict[str, str], list[str]]:
    document = yaml.safe_load(stack_file.read_text()) or {}
    config, secret_keys = cli_config(document.get("config") or {})
    return stack_name(stack_file), config, secret_keys


@contextlib.contextmanager
def _in_project_dir() -> Iterator[None]:
    """The CLI runs the program from the project directory; relative chart paths depend on it."""
    previous = Path.cwd()
    os.chdir(PROJECT_DIR)
    try:
        yield
    finally:
        os.chdir(previous)


def evaluate(
    config: Mapping[str, str],
    stack: str,
    secret_keys: list[str] | None = None,
    preview: bool = False,
    program: Callable[[], None] | None = None,
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
) -> Recording:
    """Run `program` (default: the real one) inside a fresh root stack under the offline mocks; a StackReference
    reads the outputs `stack_references` gives for its stack."""
    if program is None:
        from components.program import main

        program = main
    mocks = OfflineMocks(PROJECT, stack, preview, stack_references)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.reset_options(project=PROJECT, stack=stack, preview=preview)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    runtime_settings.ROOT.set(None)  # run_in_stack creates the root Stack, as the language host does
    pulumi.runtime.set_all_config(dict(config), secret_keys or [])
    with _in_project_dir():
        _sync_await(run_in_stack(program))
    return monitor.recording


def evaluate_stack_file(stack_file: Path, preview: bool = False) -> Recording:
    stack, config, secret_keys = load_stack_file(stack_file)
    return evaluate(config, stack, secret_keys, preview=preview)
