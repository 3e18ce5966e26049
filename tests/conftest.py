"""Shared fixtures: evaluate the real program under the offline mocks and look at what it registered."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from components.evaluation import PROJECT_DIR, engine_config, evaluate, load_stack_file
from components.mocks import Recording, Registration
from components.render import reveal

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
            engine, secret_keys = engine_config(config or {})
        recording = evaluate(engine, stack, secret_keys, preview=preview)
        assert not recording.duplicate_urns, f"resources share a URN: {recording.duplicate_urns}"
        return recording

    return run


def of_type(recording: Recording, type_: str) -> list[Registration]:
    return [r for r in recording.resources.values() if r.type == type_]


def inputs(registration: Registration) -> dict[str, Any]:
    """A resource's inputs with secrets unwrapped, for assertions."""
    result: dict[str, Any] = reveal(registration.inputs, show_secrets=True)
    return result
