"""The measurements of one stack size, the per-instance marginal cost, and the targets of issue 8."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.measure import Sample

PROGRAM_SECONDS_AT_100 = 15.0
PROGRAM_MB_AT_100 = 600.0
MIN_TUTOR_RATIO = 5.0  # the program costs at most one fifth of Tutor's CLI
RATIO_SIZES = (50, 100)


@dataclass(frozen=True)
class SizeResult:
    """Every measurement for a stack of `instances` instances, taken in the same run."""

    instances: int
    resources: int
    """Resources the program registered (resources.json)."""
    manifests: int
    """Manifest files `helm template` wrote (one per local-chart Release)."""
    program: Sample
    """Offline render with --no-manifests: the program's own cost."""
    with_manifests: Sample | None
    """Offline render with `helm template` of every local-chart Release; None if it failed (see manifests_error)."""
    tutor: Sample
    """`tutor config save` in N fresh TUTOR_ROOTs, one after the other."""
    tutor_resave: Sample
    """The same loop again on the saved roots (secrets already generated): Tutor's steady-state re-render."""
    manifests_error: str | None = None
    """Why the render with manifests failed, with the end of its output."""

    @property
    def tutor_ratio(self) -> float:
        return self.tutor.wall_s / self.program.wall_s

    @property
    def resave_ratio(self) -> float:
        return self.tutor_resave.wall_s / self.program.wall_s


@dataclass(frozen=True)
class Target:
    description: str
    measured: float
    limit: float
    upper: bool
    """True: measured must stay below the limit; False: it must reach it."""

    @property
    def met(self) -> bool:
        return self.measured < self.limit if self.upper else self.measured >= self.limit


def by_size(results: Sequence[SizeResult]) -> dict[int, SizeResult]:
    return {r.instances: r for r in results}


def marginal_span(sizes: Sequence[int]) -> tuple[int, int] | None:
    """The sizes the marginal cost is taken between: the smallest above 1 (startup dominates N = 1) and the largest."""
    above_one = [s for s in sizes if s > 1]
    if len(above_one) < 2:
        return None
    return min(above_one), max(above_one)


def marginal(results: Sequence[SizeResult], metric: Callable[[SizeResult], float | None]) -> float | None:
    """(metric(hi) - metric(lo)) / (hi - lo): the cost of one more instance, startup excluded."""
    span = marginal_span([r.instances for r in results])
    if span is None:
        return None
    lo, hi = (by_size(results)[n] for n in span)
    lo_value, hi_value = metric(lo), metric(hi)
    if lo_value is None or hi_value is None:
        return None
    return (hi_value - lo_value) / (hi.instances - lo.instances)


def evaluate(results: Sequence[SizeResult]) -> list[Target]:
    """The targets that the measured sizes can decide."""
    sizes = by_size(results)
    targets = []
    if 100 in sizes:
        program = sizes[100].program
        targets += [
            Target("100 instances, --no-manifests: wall time (s)", program.wall_s, PROGRAM_SECONDS_AT_100, True),
            Target("100 instances, --no-manifests: peak RSS (MB)", program.peak_rss_mb, PROGRAM_MB_AT_100, True),
        ]
    targets += [
        Target(f"{n} instances: Tutor CLI time / program time", sizes[n].tutor_ratio, MIN_TUTOR_RATIO, False)
        for n in RATIO_SIZES
        if n in sizes
    ]
    return targets
