"""The two layouts on the real engine, in the same run: N instances in one all-in-one stack against a platform stack
and N instance stacks rolled out by the fleet driver.

    venv/bin/python -m benchmarks.fleet [--instances 20] [--concurrency 4] [--out benchmarks/results]

Needs the end-to-end kit (`tests/e2e/kit.sh build`). One fresh cluster and a file state backend. First the
all-in-one stack `bench` (the offline benchmark's N instances, `cloud: local`): its first `pulumi up` and a
one-instance change (the first instance's platform name: new settings, so its init Jobs run), then it is
destroyed. Then the platform stack `bench-platform` (`layout: platform`, no instance), its N instance stacks
`bench-i000`… (one instance each), and a fleet file: the platform's `up`, the first `./fleet.sh up` (each stack
previewed and updated, `--concurrency` at once), the same one-instance change by `./fleet.sh up` (every stack
previewed, one updated) and by the changed stack's own `pulumi up`. Each step is timed (wall time, peak RSS);
writes OUT/fleet.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks import machine, measure, workload
from benchmarks.engine import Engine, stack_config
from benchmarks.measure import Sample
from benchmarks.run import progress
from benchmarks.workload import PROJECT_DIR
from tests.e2e import kit

DEFAULT_OUT = PROJECT_DIR / "benchmarks" / "results"
ALL_IN_ONE = "bench"
PLATFORM = "bench-platform"


@dataclass(frozen=True)
class Layouts:
    instances: int
    concurrency: int
    all_in_one: dict[str, Sample]
    fleet: dict[str, Sample]


class FleetBench(Engine):
    """The engine benchmark's scratch project and cluster, with the fleet driver's files besides."""

    def step(self, *command: str) -> Sample:
        return measure.run(list(command), self.log, cwd=self.project, env=self.env)

    def fleet_up(self, concurrency: int) -> Sample:
        """`./fleet.sh up` of the scratch project's fleet: the driver from this checkout, on the scratch stacks."""
        return measure.run([str(PROJECT_DIR / "venv" / "bin" / "python"), "-m", "operations.fleet", "up",
                            str(self.project / "fleet.yaml"), "--concurrency", str(concurrency)], self.log,
                           cwd=PROJECT_DIR, env={**self.env, "FLEET_PROJECT_DIR": str(self.project)})

    def stack(self, stack: str, *args: str) -> Sample:
        return self.step("pulumi", *args, "--stack", stack, "--non-interactive")

    def write(self, stack: str, config: dict[str, Any]) -> None:
        (self.project / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))

    def all_in_one(self, count: int) -> dict[str, Sample]:
        self.write(ALL_IN_ONE, stack_config(count, "Before"))
        self.step("pulumi", "stack", "init", ALL_IN_ONE, "--non-interactive")
        steps = {"first up": self.stack(ALL_IN_ONE, "up", "--yes")}
        self.write(ALL_IN_ONE, stack_config(count, "After"))
        steps["one-instance change"] = self.stack(ALL_IN_ONE, "up", "--yes")
        progress("all-in-one: " + describe(steps) + "; destroying (untimed)…")
        self.stack(ALL_IN_ONE, "destroy", "--yes")
        self.wait_for_namespaces_gone()
        return steps

    def instance_stack(self, entry: dict[str, Any]) -> dict[str, Any]:
        return {"openedx:layout": "instances", "openedx:platformStack": PLATFORM, "openedx:instances": [entry]}

    def fleet(self, count: int, concurrency: int) -> dict[str, Sample]:
        platform = stack_config(count, "Before")
        entries = platform.pop("openedx:instances")
        self.write(PLATFORM, {**platform, "openedx:layout": "platform"})
        stacks = [f"bench-{entry['name']}" for entry in entries]
        for stack, entry in zip(stacks, entries, strict=True):
            self.write(stack, self.instance_stack(entry))
        (self.project / "fleet.yaml").write_text(yaml.safe_dump({"platform": PLATFORM, "concurrency": concurrency}))
        self.step("pulumi", "stack", "init", PLATFORM, "--non-interactive")
        steps = {"platform up": self.stack(PLATFORM, "up", "--yes"), "first up": self.fleet_up(concurrency)}
        first = dict(entries[0])
        self.write(stacks[0], self.instance_stack({**first, "platformName": "After"}))
        steps["one-instance change"] = self.fleet_up(concurrency)
        self.write(stacks[0], self.instance_stack({**first, "platformName": "After again"}))
        steps["one-instance change, its stack alone"] = self.stack(stacks[0], "up", "--yes")
        progress("fleet: " + describe(steps))
        return steps


def describe(steps: dict[str, Sample]) -> str:
    return ", ".join(f"{name} {sample.wall_s:.1f} s" for name, sample in steps.items())


def benchmark(count: int, concurrency: int) -> Layouts:
    scratch = Path(tempfile.mkdtemp(prefix="openedx-fleet-bench-"))
    bench = FleetBench(scratch, {})
    try:
        progress(f"all-in-one stack with {count} instances…")
        all_in_one = bench.all_in_one(count)
        progress(f"platform stack and {count} instance stacks, {concurrency} at a time…")
        fleet = bench.fleet(count, concurrency)
    except measure.BenchmarkError as error:
        raise measure.BenchmarkError(f"{error}\n(kept: {scratch})") from None
    finally:
        bench.close()
    shutil.rmtree(scratch)
    return Layouts(count, concurrency, all_in_one, fleet)


def table(result: Layouts) -> str:
    rows = [("all-in-one stack", "—", result.all_in_one["first up"], result.all_in_one["one-instance change"], None),
            (f"fleet, {result.concurrency} at a time", f"{result.fleet['platform up'].wall_s:.1f}",
             result.fleet["first up"], result.fleet["one-instance change"],
             result.fleet["one-instance change, its stack alone"])]
    lines = [f"| N={result.instances} | platform up s | first deploy s | one-instance change s | "
             "the changed stack's own up s | peak MB |", "|---|---:|---:|---:|---:|---:|"]
    for name, platform, first, change, alone in rows:
        peak = max(s.peak_rss_mb for s in (first, change, *([alone] if alone else [])))
        lines.append(f"| {name} | {platform} | {first.wall_s:.1f} | {change.wall_s:.1f} | "
                     f"{f'{alone.wall_s:.1f}' if alone else '—'} | {peak:.0f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results directory (default: %(default)s)")
    args = parser.parse_args(argv)

    from components.helm import helm_binary

    host = machine.describe(PROJECT_DIR, helm_binary())
    try:
        result = benchmark(args.instances, args.concurrency)
    except (measure.BenchmarkError, kit.KitError) as error:
        print(error, file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    document = {"machine": host, "method": __doc__, "workload": workload.__name__, "results": asdict(result)}
    (args.out / "fleet.json").write_text(json.dumps(document, indent=2) + "\n")
    print(table(result))
    print(f"\nwrote {args.out / 'fleet.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
