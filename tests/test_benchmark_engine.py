"""The real-engine benchmark's own parts, without the engine: its stacks, where it books CPU time, its verdicts.

The benchmark itself (`python -m benchmarks.engine`) needs the end-to-end kit and minutes per size; these keep
what it computes honest in the fast suite.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks import engine
from benchmarks.cpu import Sampler, group_of
from benchmarks.measure import Sample
from components.settings import stack as stack_settings


def test_each_size_is_a_valid_local_stack_whose_first_instance_carries_the_change() -> None:
    before, after = engine.stack_config(3, "Before"), engine.stack_config(3, "After")
    assert before["openedx:cloud"] == "local"
    assert [i["name"] for i in before["openedx:instances"]] == ["i000", "i001", "i002"]
    assert before["openedx:instances"][0]["platformName"] == "Before"
    # One instance differs between the two runs of a size, by its platform name alone.
    differing = [(b, a) for b, a in zip(before["openedx:instances"], after["openedx:instances"], strict=True)
                 if b != a]
    assert differing == [({**after["openedx:instances"][0], "platformName": "Before"}, after["openedx:instances"][0])]
    settings = stack_settings.load({key.removeprefix("openedx:"): value for key, value in before.items()})
    assert [i.name for i in settings.instances] == ["i000", "i001", "i002"]
    # The scaling step changes the first instance's LMS bounds alone: no settings, so no init Job.
    scaled = engine.stack_config(3, "After", lms_max_replicas=3)
    assert scaled["openedx:instances"][1:] == after["openedx:instances"][1:]
    first = scaled["openedx:instances"][0]
    assert first["workloads"]["lms"] == {"maxReplicas": 3}
    assert {k: v for k, v in first.items() if k != "workloads"} == {
        k: v for k, v in after["openedx:instances"][0].items() if k != "workloads"}


def test_processes_are_booked_by_what_they_are() -> None:
    assert group_of("/root/.cache/openedx-pulumi/e2e/bin/pulumi") == "engine (pulumi CLI)"
    assert group_of("/work/venv/bin/python3.11") == "program (Python, Tutor render)"
    assert group_of("pulumi-resource-kubernetes") == "kubernetes provider (Helm)"
    assert group_of("/x/kwok/clusters/openedx-e2e/bin/kube-apiserver") == "simulated cluster"
    assert group_of("/usr/bin/bash") == "other"


def test_the_sampler_sees_a_child_that_burns_cpu() -> None:
    with Sampler() as sampler:
        subprocess.run([sys.executable, "-c", "import time\nend = time.process_time() + 0.6\n"
                        "while time.process_time() < end: pass"], check=True)
    # The child is gone by the end: its time was read while it ran (one sampling period may be missed).
    assert sampler.by_group().get("program (Python, Tutor render)", 0.0) >= 0.3


def _result(instances: int, no_op: float, change: float, scaling: float = 1.0) -> engine.SizeResult:
    def step(seconds: float) -> engine.Step:
        return engine.Step(Sample(wall_s=seconds, cpu_s=1.0, peak_rss_mb=100.0), {})
    steps = {name: step(1.0) for name in engine.STEPS} | {
        "no-op up": step(no_op), "one-instance change": step(change), "one-instance scaling": step(scaling)}
    return engine.SizeResult(instances, resources=8 * instances, state_bytes=1000, steps=steps)


def test_the_aims_are_judged_at_the_largest_size() -> None:
    verdicts = engine.verdicts([_result(50, no_op=59.0, change=31.0, scaling=29.0),
                                _result(1, no_op=99.0, change=99.0, scaling=99.0)])
    assert {(v["step"], v["instances"], v["met"]) for v in verdicts} == {
        ("no-op up", 50, True), ("one-instance change", 50, False), ("one-instance scaling", 50, True)}
