"""What `pulumi up` costs on the real engine as a fleet grows: N instances on the kit's simulated cluster.

    venv/bin/python -m benchmarks.engine [--sizes 1,10,25,50] [--out benchmarks/results] [--check] [--env NAME=VALUE]

Needs the end-to-end kit (`tests/e2e/kit.sh build`). One fresh cluster for the run, a file state backend, and for
each N a new stack `bench` (the offline benchmark's instances, with `cloud: local`): `pulumi preview` of the new
stack, the first `pulumi up --yes`, a no-op `pulumi up --yes --expect-no-changes`, a one-instance change (the
platform name of the first instance: new settings, so its init Jobs run), a one-instance scaling change (its LMS's
maximum replicas: no Job runs) and `pulumi destroy --yes`, each a separate process, measured for wall time,
peak RSS and the CPU time of every process by what it is (engine, program, provider, cluster). Writes
OUT/engine.json and OUT/engine.png and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks import machine, measure, workload
from benchmarks.cpu import Sampler
from benchmarks.measure import Sample
from benchmarks.run import parse_sizes, progress
from benchmarks.workload import PROJECT_DIR
from tests.e2e import kit

DEFAULT_SIZES = (1, 10, 25, 50)
DEFAULT_OUT = PROJECT_DIR / "benchmarks" / "results"
STACK = "bench"
STEPS = ("preview", "first up", "no-op up", "one-instance change", "one-instance scaling", "destroy")
# What an operator can live with on this 2-core machine (issue 16), at the largest size measured.
TARGETS_S = {"no-op up": 60.0, "one-instance change": 30.0, "one-instance scaling": 30.0}
# The program as Pulumi runs it; the scratch project holds only its own stack files.
PROGRAM_FILES = ("__main__.py", "components", "charts", "venv")


@dataclass(frozen=True)
class Step:
    sample: Sample
    cpu_s: dict[str, float]
    """CPU seconds of every process on the machine during the step, by what it is."""


@dataclass(frozen=True)
class SizeResult:
    instances: int
    resources: int
    state_bytes: int
    steps: dict[str, Step]


def stack_config(count: int, platform_name: str, lms_max_replicas: int | None = None) -> dict[str, Any]:
    """The offline benchmark's instances on the kit's cluster (no ingress controller, issuer or metrics-server:
    their charts come from remote repositories); the first one's platform name, and its LMS's maximum replicas
    when given."""
    config = workload.stack_config(workload.instances(count))["config"]
    assert isinstance(config, dict)
    config["openedx:cloud"] = "local"
    config["openedx:platform"] = {"ingress": {"install": False}, "tls": {"issuer": "none"}, "metricsServer": False}
    first = config["openedx:instances"][0]
    first["platformName"] = platform_name
    if lms_max_replicas is not None:
        first["workloads"] = {**first.get("workloads", {}), "lms": {"maxReplicas": lms_max_replicas}}
    return config


class Engine:
    """One run: a scratch project that runs this checkout's program, and the kit's cluster."""

    def __init__(self, work: Path, engine_env: Mapping[str, str]) -> None:
        self.work = work
        self.project = work / "project"
        (self.project / "stacks").mkdir(parents=True)
        shutil.copy(PROJECT_DIR / "Pulumi.yaml", self.project)
        for name in PROGRAM_FILES:
            (self.project / name).symlink_to(PROJECT_DIR / name)
        self.env = {**kit.up(work / "cluster"), **engine_env}
        self.log = work / "commands.log"

    def close(self) -> None:
        kit.down(self.work / "cluster")

    def run(self, *args: str) -> Sample:
        """`pulumi ARGS` on the stack, its output in commands.log."""
        return measure.run(["pulumi", *args, "--stack", STACK, "--non-interactive"], self.log, cwd=self.project,
                           env=self.env)

    def pulumi(self, *args: str) -> Step:
        """A measured step: `pulumi ARGS`, with the CPU time of every process while it runs."""
        with Sampler() as sampler:
            try:
                sample = self.run(*args)
            except measure.BenchmarkError as error:
                # The tail of the output lists the stack's outputs: the errors are in its diagnostics.
                errors = [line for line in self.log.read_text().splitlines() if "error" in line]
                raise measure.BenchmarkError("\n".join([str(error).splitlines()[0], *errors[:20]])) from None
        return Step(sample, sampler.by_group())

    def write_stack(self, count: int, platform_name: str, lms_max_replicas: int | None = None) -> None:
        """The stack file, keeping the encryption salt `pulumi stack init` wrote into it."""
        path = self.project / "stacks" / f"Pulumi.{STACK}.yaml"
        document = yaml.safe_load(path.read_text()) if path.exists() else {}
        document["config"] = stack_config(count, platform_name, lms_max_replicas)
        path.write_text(yaml.safe_dump(document, sort_keys=False))

    def state(self) -> tuple[int, int]:
        """Resources in the stack's state, and the state file's size in bytes (the file backend's checkpoint)."""
        (state_file,) = Path(self.env["PULUMI_BACKEND_URL"].removeprefix("file://")).rglob(f"{STACK}.json")
        resources = json.loads(state_file.read_text())["checkpoint"]["latest"].get("resources") or []
        return len(resources), state_file.stat().st_size

    def wait_for_namespaces_gone(self) -> None:
        """The next size reuses the instance names: their namespaces must have finished terminating."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            names = subprocess.run(["kubectl", "get", "namespaces", "-o", "name"], env=self.env, capture_output=True,
                                   text=True, check=True).stdout
            if "namespace/openedx-" not in names:
                return
            time.sleep(2)
        raise measure.BenchmarkError("namespaces still terminating 5 minutes after the destroy")

    def new_stack(self, count: int) -> None:
        self.write_stack(count, "Before")
        measure.run(["pulumi", "stack", "init", STACK, "--non-interactive"], self.log, cwd=self.project, env=self.env)

    def measure_size(self, count: int) -> SizeResult:
        self.new_stack(count)
        steps = {"preview": self.pulumi("preview")}
        steps["first up"] = self.pulumi("up", "--yes")
        resources, state_bytes = self.state()
        steps["no-op up"] = self.pulumi("up", "--yes", "--expect-no-changes")
        self.write_stack(count, "After")
        steps["one-instance change"] = self.pulumi("up", "--yes")
        self.write_stack(count, "After", lms_max_replicas=3)
        steps["one-instance scaling"] = self.pulumi("up", "--yes")
        steps["destroy"] = self.pulumi("destroy", "--yes")
        self.run("stack", "rm", "--yes")
        self.wait_for_namespaces_gone()
        return SizeResult(count, resources, state_bytes, steps)

    def warm_up(self) -> None:
        """One untimed preview, so the first measured size does not pay cold caches (plugins, bytecode)."""
        self.new_stack(1)
        self.run("preview")
        self.run("stack", "rm", "--yes")


def benchmark(sizes: Sequence[int], engine_env: Mapping[str, str]) -> list[SizeResult]:
    """Measure each size; the scratch directory (its commands.log) is kept when a command fails."""
    scratch = Path(tempfile.mkdtemp(prefix="openedx-engine-bench-"))
    engine = Engine(scratch, engine_env)
    try:
        progress("warming up (untimed)…")
        engine.warm_up()
        results = []
        for count in sizes:
            progress(f"measuring N={count}…")
            results.append(engine.measure_size(count))
            progress(describe(results[-1]))
    except measure.BenchmarkError as error:
        raise measure.BenchmarkError(f"{error}\n(kept: {scratch})") from None
    finally:
        engine.close()
    shutil.rmtree(scratch)
    return results


def describe(result: SizeResult) -> str:
    times = ", ".join(f"{name} {step.sample.wall_s:.1f} s" for name, step in result.steps.items())
    return f"N={result.instances}: {times}; {result.resources} resources, state {result.state_bytes / 1e6:.2f} MB"


def verdicts(results: Sequence[SizeResult]) -> list[dict[str, Any]]:
    largest = max(results, key=lambda r: r.instances)
    return [
        {"step": step, "instances": largest.instances, "limitS": limit,
         "measuredS": round(largest.steps[step].sample.wall_s, 2), "met": largest.steps[step].sample.wall_s < limit}
        for step, limit in TARGETS_S.items()
    ]


def table(results: Sequence[SizeResult]) -> str:
    header = ["N", "resources", "state MB", *(f"{step} s" for step in STEPS), "peak MB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    for result in results:
        peak = max(step.sample.peak_rss_mb for step in result.steps.values())
        cells = [str(result.instances), str(result.resources), f"{result.state_bytes / 1e6:.2f}",
                 *(f"{result.steps[step].sample.wall_s:.1f}" for step in STEPS), f"{peak:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_table(result: SizeResult) -> str:
    """Where the CPU time of each step went, at one size."""
    groups = sorted({group for step in result.steps.values() for group in step.cpu_s})
    lines = [f"| N={result.instances}, CPU s | " + " | ".join(groups) + " |", "|---|" + "---:|" * len(groups)]
    for name in STEPS:
        cpu = result.steps[name].cpu_s
        lines.append(f"| {name} | " + " | ".join(f"{cpu.get(group, 0.0):.1f}" for group in groups) + " |")
    return "\n".join(lines)


def document(results: Sequence[SizeResult], host: dict[str, object], engine_env: Mapping[str, str]) -> dict[str, Any]:
    return {"machine": host, "method": __doc__, "environment": dict(engine_env), "targets": verdicts(results),
            "results": [asdict(result) for result in results]}


def plot(path: Path, results: Sequence[SizeResult], host: dict[str, object]) -> None:
    """Wall time of each step against N, and the largest step's CPU split at the largest N."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    sizes = [r.instances for r in results]
    figure, (times, split) = pyplot.subplots(1, 2, figsize=(12, 5))
    for name, style in zip(STEPS, ("o-", "s-", "^-", "v-", "P-", "d--"), strict=True):
        times.plot(sizes, [r.steps[name].sample.wall_s for r in results], style, label=name)
    for limit in sorted(set(TARGETS_S.values())):
        aimed = " and ".join(step for step, step_limit in TARGETS_S.items() if step_limit == limit)
        times.axhline(limit, linestyle=":", color="grey")
        times.annotate(f"aim: {aimed} < {limit:.0f} s", (sizes[0], limit), fontsize=8, va="bottom")
    times.set(xlabel="instances (N)", ylabel="wall time (s)", title="pulumi on the real engine (simulated cluster)")
    largest = results[-1]
    groups = sorted({group for step in largest.steps.values() for group in step.cpu_s})
    bottom = [0.0] * len(STEPS)
    for group in groups:
        values = [largest.steps[name].cpu_s.get(group, 0.0) for name in STEPS]
        split.bar(STEPS, values, bottom=bottom, label=group)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    split.set(ylabel="CPU time (s)", title=f"Where the CPU time goes at N={largest.instances}")
    split.tick_params(axis="x", labelrotation=20)
    for axes in (times, split):
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle(machine.headline(host), fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def variable(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE")
    return name, value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES), help="default: 1,10,25,50")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results directory (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="exit 1 when an aim is missed")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", type=variable,
                        help="set for every pulumi command, e.g. PULUMI_SKIP_CHECKPOINTS=true (repeatable)")
    args = parser.parse_args(argv)

    from components.helm import helm_binary

    host = machine.describe(PROJECT_DIR, helm_binary())
    try:
        results = benchmark(args.sizes, dict(args.env))
    except (measure.BenchmarkError, kit.KitError) as error:
        print(error, file=sys.stderr)
        return 1
    host["loadAverageAtEnd"] = machine.load_average()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "engine.json").write_text(json.dumps(document(results, host, dict(args.env)), indent=2) + "\n")
    plot(args.out / "engine.png", results, host)
    print(table(results))
    print()
    print(cpu_table(results[-1]))
    targets = verdicts(results)
    for target in targets:
        print(f"{target['step']} at N={target['instances']}: {target['measuredS']} s "
              f"({'met' if target['met'] else 'MISSED'}: < {target['limitS']:.0f} s)")
    print(f"\nwrote {args.out / 'engine.json'} and {args.out / 'engine.png'}")
    return 1 if args.check and not all(t["met"] for t in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
