"""The benchmark's small-N version, kept honest in CI without timing asserts that could flake.

Two offline renders (--no-manifests, each a fresh process, exactly as `benchmarks.run` measures them) of the
benchmark's own workload at N = 2 and N = 8 show that the program's cost grows linearly in N: resources exactly
(no shared resource grows with the fleet), and time within a generous bound on the CPU time of one more instance.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks import measure, workload
from offline.evaluation import PROJECT_DIR

SMALL, LARGE = 2, 8
INSTANCE_TYPE = "openedx:index:Instance"
# CPU seconds per additional instance. The program needs well under 0.1 s; CPU time (not wall time) does not grow
# when a loaded CI machine makes the process wait, so this bound catches a regression of 5x or more, not noise.
MARGINAL_CPU_BOUND_S = 0.5


@dataclass(frozen=True)
class Render:
    sample: measure.Sample
    resources: list[dict]


def render(directory: Path, count: int) -> Render:
    stack_file = workload.write_stack(directory, workload.instances(count))
    out = directory / "out"
    command = workload.render_command(stack_file, out, manifests=False)
    sample = measure.run(command, directory / "render.log", cwd=PROJECT_DIR)
    return Render(sample, json.loads((out / "resources.json").read_text())["resources"])


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Render]:
    return {n: render(tmp_path_factory.mktemp(f"bench-{n}"), n) for n in (SMALL, LARGE)}


def owning_instance(resources: list[dict]) -> dict[str, str | None]:
    """URN → URN of the Instance component it belongs to (itself for an Instance), None for shared resources."""
    parents = {r["urn"]: r["parent"] for r in resources}
    types = {r["urn"]: r["type"] for r in resources}
    owners: dict[str, str | None] = {}
    for urn in parents:
        current: str | None = urn
        while current is not None and current in types and types[current] != INSTANCE_TYPE:
            current = parents[current]
        owners[urn] = current if current in types else None
    return owners


def per_instance_counts(resources: list[dict]) -> Counter[str]:
    return Counter(owner for owner in owning_instance(resources).values() if owner is not None)


def shared_urns(resources: list[dict]) -> set[str]:
    return {urn for urn, owner in owning_instance(resources).items() if owner is None}


def test_the_workload_mixes_plugin_sets() -> None:
    plugin_sets = Counter(i.plugins for i in workload.instances(LARGE))
    assert plugin_sets == {workload.DEFAULT_PLUGINS: 5, workload.MFE_ONLY: 3}


def test_resources_grow_exactly_linearly_in_instances(renders: dict[int, Render]) -> None:
    small, large = renders[SMALL].resources, renders[LARGE].resources
    counts = per_instance_counts(large)
    assert len(counts) == LARGE
    assert len(set(counts.values())) == 1, f"instances differ in resource count: {counts}"
    per_instance = next(iter(counts.values()))
    assert per_instance > 1
    small_counts = per_instance_counts(small)
    assert len(small_counts) == SMALL and set(small_counts.values()) == {per_instance}
    assert shared_urns(small) == shared_urns(large), "a resource outside the instances changes with N"
    assert len(large) - len(small) == (LARGE - SMALL) * per_instance


def test_marginal_cost_per_instance_stays_bounded(renders: dict[int, Render]) -> None:
    extra_cpu = renders[LARGE].sample.cpu_s - renders[SMALL].sample.cpu_s
    per_instance = extra_cpu / (LARGE - SMALL)
    assert per_instance < MARGINAL_CPU_BOUND_S, (
        f"one more instance costs {per_instance:.3f} CPU s (N={SMALL}: {renders[SMALL].sample.cpu_s:.2f} s, "
        f"N={LARGE}: {renders[LARGE].sample.cpu_s:.2f} s); run `python -m benchmarks.run` and profile"
    )
