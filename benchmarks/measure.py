"""Wall time, CPU time and peak RSS of child processes, each read from the kernel's own accounting of that child.

`resource.getrusage(RUSAGE_CHILDREN)` keeps the largest RSS of every child ever waited for, so its deltas cannot give
one child's peak. `os.wait4` returns the rusage of exactly the child it reaps: its own peak RSS, or that of the
largest of its own descendants (e.g. a `helm` it ran), whichever is larger. Peak RSS is therefore the peak of the
largest single process, not the sum of processes that ran at the same time.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LOG_TAIL_CHARS = 2000


class BenchmarkError(RuntimeError):
    """A measured command failed; the message ends with the tail of its output."""


@dataclass(frozen=True)
class Sample:
    """What one measured run cost."""

    wall_s: float
    """Elapsed time from start to exit."""
    cpu_s: float
    """User + system CPU time of the process and the descendants it waited for."""
    peak_rss_mb: float
    """Peak resident set size of the largest single process, in MB (10^6 bytes)."""


def max_rss_mb(usage: resource.struct_rusage) -> float:
    """`ru_maxrss` is in KiB on Linux and in bytes on macOS."""
    scale = 1 if sys.platform == "darwin" else 1024
    return usage.ru_maxrss * scale / 1e6


def run(command: Sequence[str], log: Path, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Sample:
    """Run `command` to completion, its output written to `log`; raise BenchmarkError if it fails."""
    with log.open("wb") as sink:
        start = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        raise BenchmarkError(f"{' '.join(command)} exited {process.returncode}; end of {log}:\n{tail}")
    return Sample(wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime, peak_rss_mb=max_rss_mb(usage))


def run_sequentially(
    commands: Sequence[Sequence[str]], log: Path, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Sample:
    """Run `commands` one after the other, as an operator's shell loop does: total wall and CPU time, largest peak."""
    start = time.perf_counter()
    samples = [run(command, log, cwd, env) for command in commands]
    return Sample(
        wall_s=time.perf_counter() - start,
        cpu_s=sum(s.cpu_s for s in samples),
        peak_rss_mb=max((s.peak_rss_mb for s in samples), default=0.0),
    )
