"""The benchmark's outputs: a markdown table, results.json and results.png."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import machine as machine_info
from benchmarks.measure import Sample
from benchmarks.targets import SizeResult, Target, marginal, marginal_span

COLUMNS = (
    "N",
    "program s",
    "program MB",
    "with manifests s",
    "with manifests MB",
    "Tutor CLI s",
    "Tutor CLI MB",
    "Tutor / program",
    "Tutor re-save s",
    "re-save / program",
)
MARGINAL_LABELS = {
    "program": "program",
    "withManifests": "with manifests",
    "tutor": "Tutor CLI",
    "tutorResave": "re-save",
}
METHOD = (
    "Each measurement is a separate child process on the same machine in the same run, after one untimed warm-up. "
    "program: `python -m offline.render STACK --out DIR --no-manifests`. with manifests: the same plus "
    "`helm template` of every local-chart Release (the render runs helm on all cores). Tutor CLI: N fresh "
    "TUTOR_ROOTs, each a config.yml with LMS_HOST, CMS_HOST and PLUGINS, then `tutor --root ROOT config save` per "
    "root, sequentially, as an operator's loop runs (first save: Tutor generates each root's secrets and RSA key). "
    "Tutor re-save: the same loop again on the saved roots. Peak RSS: largest single process (os.wait4 ru_maxrss), "
    "MB = 10^6 bytes."
)


def seconds(sample: Sample | None) -> str:
    return "failed" if sample is None else f"{sample.wall_s:.2f}"


def megabytes(sample: Sample | None) -> str:
    return "failed" if sample is None else f"{sample.peak_rss_mb:.0f}"


def row(result: SizeResult) -> list[str]:
    return [
        str(result.instances),
        seconds(result.program),
        megabytes(result.program),
        seconds(result.with_manifests),
        megabytes(result.with_manifests),
        seconds(result.tutor),
        megabytes(result.tutor),
        f"{result.tutor_ratio:.1f}x",
        seconds(result.tutor_resave),
        f"{result.resave_ratio:.1f}x",
    ]


def table(results: Sequence[SizeResult], machine: dict[str, object]) -> str:
    """A markdown table, headed by the machine it was measured on."""
    lines = [
        f"Machine: {machine_info.headline(machine)}",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---:" for _ in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(row(r)) + " |" for r in results]
    return "\n".join(lines)


def marginals(results: Sequence[SizeResult]) -> dict[str, Any]:
    """Seconds per additional instance for each measured command, startup excluded."""
    span = marginal_span([r.instances for r in results])
    return {
        "between": list(span) if span else None,
        "program": marginal(results, lambda r: r.program.wall_s),
        "withManifests": marginal(results, lambda r: r.with_manifests.wall_s if r.with_manifests else None),
        "tutor": marginal(results, lambda r: r.tutor.wall_s),
        "tutorResave": marginal(results, lambda r: r.tutor_resave.wall_s),
    }


def summary(results: Sequence[SizeResult], targets: Sequence[Target]) -> str:
    """The marginal cost and each target, met or missed and by how much."""
    lines = []
    costs = marginals(results)
    if costs["between"]:
        lo, hi = costs["between"]
        parts = [f"{label} {_per_instance(costs[key])}" for key, label in MARGINAL_LABELS.items()]
        lines.append(f"Marginal cost per instance ((t{hi} - t{lo}) / {hi - lo}): " + ", ".join(parts))
    for target in targets:
        relation = "<" if target.upper else "≥"
        verdict = "met" if target.met else f"MISSED by {abs(target.measured - target.limit):.2f}"
        lines.append(f"{target.description}: {target.measured:.2f} (target {relation} {target.limit:g}) {verdict}")
    return "\n".join(lines)


def _per_instance(cost: float | None) -> str:
    return "n/a" if cost is None else f"{cost:.3f} s"


def _sample(sample: Sample | None, error: str | None = None) -> dict[str, Any]:
    if sample is None:
        return {"error": error}
    return {k: round(v, 3) for k, v in dataclasses.asdict(sample).items()}


def document(results: Sequence[SizeResult], targets: Sequence[Target], machine: dict[str, object]) -> dict[str, Any]:
    return {
        "machine": machine,
        "method": METHOD,
        "results": [
            {
                "instances": r.instances,
                "resources": r.resources,
                "manifests": r.manifests,
                "program": _sample(r.program),
                "withManifests": _sample(r.with_manifests, r.manifests_error),
                "tutor": _sample(r.tutor),
                "tutorResave": _sample(r.tutor_resave),
                "tutorOverProgram": round(r.tutor_ratio, 2),
                "tutorResaveOverProgram": round(r.resave_ratio, 2),
            }
            for r in results
        ],
        "marginalSecondsPerInstance": {
            k: (round(v, 4) if isinstance(v, float) else v) for k, v in marginals(results).items()
        },
        "targets": [{**dataclasses.asdict(t), "met": t.met} for t in targets],
    }


def write_json(path: Path, content: dict[str, Any]) -> None:
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n")


def plot(path: Path, results: Sequence[SizeResult], machine: dict[str, object]) -> None:
    """Wall time and peak RSS against N, one line per measured command."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    sizes = [r.instances for r in results]
    series: dict[str, list[Sample | None]] = {
        "program (--no-manifests)": [r.program for r in results],
        "program + helm template": [r.with_manifests for r in results],
        "Tutor CLI: config save per root": [r.tutor for r in results],
        "Tutor CLI: re-save": [r.tutor_resave for r in results],
    }
    styles = ("o-", "s-", "^-", "v--")
    figure, (times, memory) = pyplot.subplots(1, 2, figsize=(12, 5))
    for (label, samples), style in zip(series.items(), styles, strict=True):
        measured = [(n, s) for n, s in zip(sizes, samples, strict=True) if s is not None]
        times.plot([n for n, _ in measured], [s.wall_s for _, s in measured], style, label=label)
        memory.plot([n for n, _ in measured], [s.peak_rss_mb for _, s in measured], style, label=label)
    times.set(xlabel="instances (N)", ylabel="wall time (s)", title="Time to produce N instance environments")
    memory.set(xlabel="instances (N)", ylabel="peak RSS of the largest process (MB)", title="Peak memory")
    for axes in (times, memory):
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        axes.legend()
    figure.suptitle(machine_info.headline(machine), fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
