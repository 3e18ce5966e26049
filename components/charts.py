"""The project's own Helm charts: where they are, and a digest of their content.

A local chart's edits reach the cluster only when the Release's inputs change, so each Release carries the
digest of its chart's files in its values: any template edit is an upgrade, even without a version bump.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
NAMESPACE_CHART = "charts/openedx-namespace"
SERVICES_CHART = "charts/openedx-services"
APP_CHART = "charts/openedx"
LIBRARY_CHART = "charts/openedx-lib"


def _is_build_artifact(path: Path) -> bool:
    """What `helm dependency build` writes: packaged dependencies and the lock file."""
    return path.suffix == ".tgz" or path.name == "Chart.lock"


def _source_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not _is_build_artifact(p))


@functools.cache
def chart_digest(chart: str) -> str:
    """SHA-256 over a chart's files and those of the library it includes (relative paths and contents)."""
    digest = hashlib.sha256()
    for root in (PROJECT_DIR / chart, PROJECT_DIR / LIBRARY_CHART):
        for path in _source_files(root):
            digest.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def _values(values_file: str) -> Any:
    return yaml.safe_load((PROJECT_DIR / values_file).read_text())


def pinned_image(values_file: str, *path: str) -> str:
    """`registry/repository:tag` of an image pinned in a chart's values (the one place images are pinned)."""
    image = _values(values_file)
    for key in path:
        image = image[key]
    return f"{image['registry']}/{image['repository']}:{image['tag']}"


def _newest_change(directory: Path) -> float:
    return max((p.stat().st_mtime for p in _source_files(directory)), default=0.0)


def _dependencies_current(chart: Path) -> bool:
    """Every `file://` dependency is packaged in charts/, newer than its sources and the chart's Chart.yaml."""
    declared = (yaml.safe_load((chart / "Chart.yaml").read_text()) or {}).get("dependencies") or []
    for dependency in declared:
        repository = str(dependency.get("repository", ""))
        if not repository.startswith("file://"):
            continue
        packaged = list((chart / "charts").glob(f"{dependency['name']}-*.tgz"))
        source = (chart / repository.removeprefix("file://")).resolve()
        built = max((p.stat().st_mtime for p in packaged), default=0.0)
        if not packaged or built < max(_newest_change(source), (chart / "Chart.yaml").stat().st_mtime):
            return False
    return True


def ensure_dependencies(chart: Path, helm: str) -> None:
    """Package a chart's `file://` dependencies (what a Release's dependencyUpdate does) when they are missing or
    stale. Serialised across processes: a rebuild in progress removes files a concurrent `helm template` reads."""
    if _dependencies_current(chart):
        return
    lock = Path(tempfile.gettempdir()) / f"openedx-helm-dependencies-{hashlib.sha1(str(chart).encode()).hexdigest()}"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if not _dependencies_current(chart):
            subprocess.run([helm, "dependency", "update", "--skip-refresh", str(chart)],
                           check=True, capture_output=True, text=True)
