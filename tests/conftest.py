"""Shared fixtures: evaluate the real program under the offline mocks and look at what it registered."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from offline.evaluation import PROJECT_DIR, cli_config, evaluate, load_stack_file
from offline.recording import Recording, Registration
from offline.render import reveal

STACKS = sorted((PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))

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
    ) -> Recording:
        if stack_file is not None:
            stack, engine, secret_keys = load_stack_file(stack_file)
        else:
            engine, secret_keys = cli_config(config or {})
        recording = evaluate(engine, stack, secret_keys, preview=preview)
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


def inputs(registration: Registration) -> dict[str, Any]:
    """A resource's inputs with secrets unwrapped, for assertions."""
    result: dict[str, Any] = reveal(registration.inputs, show_secrets=True)
    return result
