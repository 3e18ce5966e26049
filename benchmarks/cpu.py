"""Where a command's CPU time goes: every process on the machine sampled from /proc while it runs, grouped by
what it is (the Pulumi engine, the Python program, the Kubernetes provider, the simulated cluster).

A process is named by its executable (argv[0]), not its 15-character `comm`, which cuts every
`pulumi-resource-…` to the same name. A process's CPU time is read until it exits, so up to one sampling period of
a process that exits is missed; the program and the plugins live for the whole command.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

PERIOD_S = 0.2
TICKS = os.sysconf("SC_CLK_TCK")
GROUPS = {
    "pulumi": "engine (pulumi CLI)",
    "pulumi-language-python": "program (Python, Tutor render)",
    "python": "program (Python, Tutor render)",
    "pulumi-resource-kubernetes": "kubernetes provider (Helm)",
    "pulumi-resource-random": "random and tls providers",
    "pulumi-resource-tls": "random and tls providers",
    "kube-apiserver": "simulated cluster",
    "etcd": "simulated cluster",
    "kube-controller-manager": "simulated cluster",
    "kube-scheduler": "simulated cluster",
    "kwok": "simulated cluster",
}


def group_of(argv0: str) -> str:
    name = Path(argv0).name
    if name.startswith("python"):
        name = "python"
    return GROUPS.get(name, "other")


def _cpu_seconds(pid: str) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of stat)


def _argv0(pid: str) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
    except OSError:
        return None


class Sampler:
    """CPU seconds per process since sampling started (processes already running count from then)."""

    def __init__(self) -> None:
        self.start: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.names: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> dict[str, float]:
        now = {}
        for pid in (entry for entry in os.listdir("/proc") if entry.isdigit()):
            if pid not in self.names and (argv0 := _argv0(pid)) is not None:
                self.names[pid] = argv0
            if (seconds := _cpu_seconds(pid)) is not None:
                now[pid] = seconds
        return now

    def _run(self) -> None:
        while not self._stop.wait(PERIOD_S):
            self.last.update(self._sample())

    def __enter__(self) -> Sampler:
        self.start = self._sample()
        self.last = dict(self.start)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.last.update(self._sample())

    def by_group(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for pid, seconds in self.last.items():
            used = seconds - self.start.get(pid, 0.0)
            if used > 0:
                group = group_of(self.names.get(pid, ""))
                totals[group] = round(totals.get(group, 0.0) + used, 2)
        return dict(sorted(totals.items(), key=lambda item: -item[1]))
