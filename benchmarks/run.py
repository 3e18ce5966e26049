"""Benchmark the program's offline render against Tutor's CLI for N instances, on this machine, in one run.

    venv/bin/python -m benchmarks.run [--sizes 1,10,50,100] [--out benchmarks/results] [--check]

For each N: the offline render with --no-manifests (the program's own cost), the offline render with manifests
(`helm template` of every local-chart Release), and Tutor's CLI producing the same N instance environments the way
per-instance Tutor deployments work today (N TUTOR_ROOTs, `tutor config save` in each, one after the other).
Prints a markdown table and the targets of issue 8, writes OUT/results.json and OUT/results.png.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks import machine, measure, report, targets, workload
from benchmarks.measure import Sample
from benchmarks.targets import SizeResult
from benchmarks.workload import PROJECT_DIR

DEFAULT_SIZES = (1, 10, 50, 100)
DEFAULT_OUT = PROJECT_DIR / "benchmarks" / "results"


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated instance counts, e.g. 1,10,50") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: instance counts must be at least 1")
    return sizes


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Bench:
    """One benchmark run: a scratch directory, the output of the last command run, and a clean environment."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.log = work / "commands.log"
        plugins_root = work / "tutor-plugins"
        plugins_root.mkdir()
        self.env = workload.clean_environment(plugins_root)

    def render(self, stack_file: Path, out: Path, manifests: bool) -> Sample:
        command = workload.render_command(stack_file, out, manifests)
        return measure.run(command, self.log, cwd=PROJECT_DIR, env=self.env)

    def render_with_manifests(self, stack_file: Path, out: Path) -> tuple[Sample | None, str | None]:
        """The render with `helm template`; a chart that fails to render is reported, not fatal to the other columns."""
        try:
            return self.render(stack_file, out, manifests=True), None
        except measure.BenchmarkError as error:
            last_lines = str(error).strip().splitlines()[-3:]
            progress("the render with manifests failed:\n  " + "\n  ".join(last_lines))
            return None, str(error)

    def tutor_loop(self, roots: Sequence[Path]) -> Sample:
        commands = [workload.tutor_save_command(root) for root in roots]
        return measure.run_sequentially(commands, self.log, cwd=self.work, env=self.env)

    def warm_up(self) -> None:
        """One untimed run of each command, so the first measured size does not pay cold caches."""
        fleet = workload.instances(1)
        stack_file = workload.write_stack(self.work / "warm-up", fleet)
        self.render_with_manifests(stack_file, self.work / "warm-up" / "out")
        self.tutor_loop(workload.write_tutor_roots(self.work / "warm-up" / "tutor", fleet))

    def measure_size(self, count: int) -> SizeResult:
        fleet = workload.instances(count)
        base = self.work / f"n{count}"
        stack_file = workload.write_stack(base, fleet)
        program = self.render(stack_file, base / "program", manifests=False)
        with_manifests, manifests_error = self.render_with_manifests(stack_file, base / "with-manifests")
        roots = workload.write_tutor_roots(base / "tutor", fleet)
        tutor = self.tutor_loop(roots)
        check_tutor_environments(roots, fleet)
        tutor_resave = self.tutor_loop(roots)
        return SizeResult(
            instances=count,
            resources=count_resources(base / "program"),
            manifests=count_manifests(base / "with-manifests") if with_manifests else 0,
            program=program,
            with_manifests=with_manifests,
            tutor=tutor,
            tutor_resave=tutor_resave,
            manifests_error=manifests_error,
        )


def count_resources(out: Path) -> int:
    return len(json.loads((out / "resources.json").read_text())["resources"])


def count_manifests(out: Path) -> int:
    return sum(1 for path in (out / "manifests").rglob("*.yaml") if path.is_file())


def check_tutor_environments(roots: Sequence[Path], fleet: Sequence[workload.Instance]) -> None:
    """Each root really got its instance's environment (a loop that did nothing would be fast too)."""
    for root, instance in zip(roots, fleet, strict=True):
        lms_env = root / "env" / "apps" / "openedx" / "config" / "lms.env.yml"
        if instance.lms_host not in lms_env.read_text():
            raise measure.BenchmarkError(f"{lms_env}: Tutor did not render {instance.lms_host}")


def describe(result: SizeResult) -> str:
    return (
        f"N={result.instances}: program {report.seconds(result.program)} s, "
        f"with manifests {report.seconds(result.with_manifests)} s, Tutor CLI {report.seconds(result.tutor)} s "
        f"(re-save {report.seconds(result.tutor_resave)} s), {result.resources} resources, {result.manifests} manifests"
    )


def benchmark(sizes: Sequence[int]) -> list[SizeResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="openedx-bench-") as scratch:
        bench = Bench(Path(scratch))
        progress("warming up (untimed)…")
        bench.warm_up()
        for count in sizes:
            progress(f"measuring N={count}…")
            results.append(bench.measure_size(count))
            progress(describe(results[-1]))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES), help="default: 1,10,50,100")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results directory (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    from components.helm import helm_binary

    host = machine.describe(PROJECT_DIR, helm_binary())
    try:
        results = benchmark(args.sizes)
    except measure.BenchmarkError as error:
        print(error, file=sys.stderr)
        return 1
    host["loadAverageAtEnd"] = machine.load_average()
    verdicts = targets.evaluate(results)
    args.out.mkdir(parents=True, exist_ok=True)
    report.write_json(args.out / "results.json", report.document(results, verdicts, host))
    report.plot(args.out / "results.png", results, host)
    print(report.table(results, host))
    print()
    print(report.METHOD)
    print()
    print(report.summary(results, verdicts))
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'results.png'}")
    if any(r.with_manifests is None for r in results):
        print("incomplete: the render with manifests failed (see results.json)", file=sys.stderr)
        return 1
    return 1 if args.check and not all(t.met for t in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
