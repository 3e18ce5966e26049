"""Shared fixtures: evaluate the real program under the offline mocks and look at what it registered."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate.utils
import pytest
import yaml

from offline.evaluation import PROJECT_DIR, cli_config, evaluate, load_stack_file
from offline.recording import Recording, Registration
from offline.render import resources_document, reveal, write

STACKS = sorted((PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))

# kubernetes-validate reads and parses its schema files (megabytes of JSON) on every document it validates: read
# each once per process. The files never change while the tests run.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)


@dataclass
class ExampleStack:
    """An example stack of stacks/, evaluated under the mocks and rendered once per test session (and xdist
    worker), for every test that reads it."""

    file: Path
    name: str
    config: dict[str, str]
    """Its config as the CLI hands it to the program (and to policy packs, in PULUMI_CONFIG)."""
    recording: Recording
    out: Path
    """What `python -m offline.render` writes: resources.json (secrets hidden) and manifests/."""

    @functools.cached_property
    def shown(self) -> dict[str, Any]:
        """resources.json as `--show-secrets` writes it."""
        return resources_document(self.recording, self.name, show_secrets=True)

    @functools.cached_property
    def manifests(self) -> dict[Path, list[dict[str, Any]]]:
        """Every manifest file the render wrote (under manifests/<namespace>/), with its objects, parsed once."""
        return {
            path: [doc for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if doc]
            for path in sorted((self.out / "manifests").rglob("*.yaml"))
        }

    @property
    def environment(self) -> str:
        return self.config.get("openedx:environment", "dev")


class ExampleStacks:
    """The example stacks, each evaluated and rendered the first time a test asks for it."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._cache: dict[Path, ExampleStack | Exception] = {}

    def __getitem__(self, stack_file: Path) -> ExampleStack:
        if stack_file not in self._cache:
            try:
                name, config, secret_keys = load_stack_file(stack_file)
                recording = evaluate(config, name, secret_keys)
                write(recording, name, self._root / name)
                self._cache[stack_file] = ExampleStack(stack_file, name, config, recording, self._root / name)
            except Exception as error:  # evaluated once: every test of the stack reports the same failure
                self._cache[stack_file] = error
        cached = self._cache[stack_file]
        if isinstance(cached, Exception):
            pytest.fail(f"stack {stack_file.name} does not render: {type(cached).__name__}: {cached}", pytrace=False)
        return cached


def _example_stack_of(item: pytest.Item) -> Path | None:
    """The example stack a test is parametrized with: a stack file, or a key of its module's STACKS."""
    module_stacks = getattr(getattr(item, "module", None), "STACKS", None)
    for value in getattr(getattr(item, "callspec", None), "params", {}).values():
        if isinstance(value, Path) and value in STACKS:
            return value
        if isinstance(module_stacks, dict) and isinstance(value, str) and value in module_stacks:
            return Path(module_stacks[value])
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the marks into the node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist's `--dist loadgroup` (test.sh), the tests of one example stack share a worker, which renders
    that stack once for all of them."""
    for item in items:
        stack = _example_stack_of(item)
        if stack is not None:
            item.add_marker(pytest.mark.xdist_group(stack.stem.removeprefix("Pulumi.")))


@pytest.fixture(scope="session")
def example_stacks(tmp_path_factory: pytest.TempPathFactory) -> ExampleStacks:
    return ExampleStacks(tmp_path_factory.mktemp("example-stacks"))

Evaluate = Callable[..., Recording]


@pytest.fixture
def evaluate_stack() -> Evaluate:
    """`evaluate_stack(stack_file)` or `evaluate_stack(config={...})` → the recording of every registration.

    One `set_mocks` per call; fails the test if two resources share a URN (the real engine would refuse)."""

    def run(
        stack_file: Path | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        stack: str = "test",
        preview: bool = False,
        stack_references: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Recording:
        if stack_file is not None:
            stack, engine, secret_keys = load_stack_file(stack_file)
        else:
            engine, secret_keys = cli_config(config or {})
        recording = evaluate(engine, stack, secret_keys, preview=preview, stack_references=stack_references)
        assert not recording.duplicate_urns, f"resources share a URN: {recording.duplicate_urns}"
        return recording

    return run


def of_type(recording: Recording, type_: str) -> list[Registration]:
    return [r for r in recording.resources.values() if r.type == type_]


def one(recording: Recording, type_: str) -> Registration:
    (found,) = of_type(recording, type_)
    return found


def named(recording: Recording, type_: str, name: str) -> Registration:
    (found,) = [r for r in of_type(recording, type_) if r.name == name]
    return found


def instances(recording: Recording) -> list[Registration]:
    found = of_type(recording, "openedx:index:Instance")
    assert found, "the stack deploys no instance: the assertions about instances would be vacuous"
    return found


def assert_admin_credential_confined(recording: Recording, service: str = "mysql") -> None:
    """A shared server's admin credential is in the system namespace's Secret and in no other Secret or Release."""
    admin = named(recording, "kubernetes:core/v1:Secret", f"shared-{service}-admin")
    assert inputs(admin)["metadata"]["namespace"] == "openedx-system"
    password = inputs(admin)["stringData"]["password"]
    for r in of_type(recording, "kubernetes:core/v1:Secret") + of_type(recording, "kubernetes:helm.sh/v3:Release"):
        if r.urn != admin.urn:
            assert password not in json.dumps(inputs(r)), r.urn


def provisioning(recording: Recording, instance: str) -> tuple[Registration, dict[str, Any]]:
    """The instance's openedx-provisioning Release (its database and user on the shared servers), and its values."""
    release = named(recording, "kubernetes:helm.sh/v3:Release", f"{instance}-provisioning")
    assert inputs(release)["namespace"] == "openedx-system" and inputs(release)["name"] == f"provision-{instance}"
    return release, inputs(release)["values"]


def inputs(registration: Registration) -> dict[str, Any]:
    """A resource's inputs with secrets unwrapped, for assertions."""
    result: dict[str, Any] = reveal(registration.inputs, show_secrets=True)
    return result
