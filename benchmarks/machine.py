"""What the benchmark ran on and with: CPU, cores, memory, and the versions that decide the numbers."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

PACKAGES = ("tutor", "tutor-mfe", "tutor-forum", "pulumi", "pulumi-kubernetes")


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The first `model name` of /proc/cpuinfo, else what the platform module knows."""
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    return platform.processor() or platform.machine()


def memory_gb(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    """MemTotal in GB (10^9 bytes), or None where /proc/meminfo does not exist."""
    if not meminfo.is_file():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) * 1024 / 1e9, 1)
    return None


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, which containers and taskset narrow)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _output(command: list[str], cwd: Path | None = None) -> str | None:
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: other work on the machine slows every measured command."""
    if not hasattr(os, "getloadavg"):
        return None
    return [round(load, 2) for load in os.getloadavg()]


def describe(project_dir: Path, helm: str | None) -> dict[str, object]:
    """The machine and software record written into results.json."""
    return {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "memoryGB": memory_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": package_versions(),
        "helm": _output([helm, "version", "--short"]) if helm else None,
        "commit": _output(["git", "describe", "--always", "--dirty"], cwd=project_dir),
        "loadAverageAtStart": load_average(),
    }


def headline(machine: dict[str, object]) -> str:
    """One line for the table header and the plot title."""
    packages = machine.get("packages")
    tutor = packages.get("tutor") if isinstance(packages, dict) else None
    return (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['memoryGB']} GB RAM, "
        f"Python {machine['python']}, Tutor {tutor}, helm {machine['helm']}"
    )
