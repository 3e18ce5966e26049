"""The fast suite's grouping: under `--dist loadgroup` (test.sh), the tests of one example stack run on one worker,
which evaluates and renders that stack once for all of them (tests/conftest.py marks them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import STACKS


@pytest.mark.parametrize("stack_file", STACKS[:1], ids=lambda path: path.name)
def test_the_tests_of_an_example_stack_share_a_worker(stack_file: Path, request: pytest.FixtureRequest) -> None:
    group = stack_file.stem.removeprefix("Pulumi.")
    assert [mark.args for mark in request.node.iter_markers("xdist_group")] == [(group,)]
    if getattr(request.config.option, "loadgroup", False):  # what xdist sets on its workers for loadgroup
        # What xdist's scheduler reads the group from: lost, each stack would be rendered on every worker.
        assert request.node.nodeid.endswith(f"@{group}"), request.node.nodeid
