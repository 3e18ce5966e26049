"""The project's own Helm charts: where they are, a digest of their content, and their packaged library.

A local chart's edits reach the cluster only when the Release's inputs change, so each Release carries the
digest of its chart's files in its values: any template edit is an upgrade, even without a version bump.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
NAMESPACE_CHART = "charts/openedx-namespace"
SERVICES_CHART = "charts/openedx-services"
PROVISIONING_CHART = "charts/openedx-provisioning"
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
def chart_values(values_file: str) -> Any:
    """A chart's values.yaml (its defaults), read once."""
    return yaml.safe_load((PROJECT_DIR / values_file).read_text())


def pinned_image_values(values_file: str, *path: str) -> dict[str, str]:
    """{registry, repository, tag} of an image pinned in a chart's values (the one place images are pinned)."""
    image = chart_values(values_file)
    for key in path:
        image = image[key]
    return {key: str(image[key]) for key in ("registry", "repository", "tag")}


def pinned_image(values_file: str, *path: str) -> str:
    """`registry/repository:tag` of an image pinned in a chart's values."""
    image = pinned_image_values(values_file, *path)
    return f"{image['registry']}/{image['repository']}:{image['tag']}"


def package(source: Path) -> bytes:
    """The chart at `source` as a Helm chart archive: its files under `<name>/` in a gzipped tar whose bytes
    depend on those files alone (sorted, no times, owners or modes of their own)."""
    name = yaml.safe_load((source / "Chart.yaml").read_text())["name"]
    archive = io.BytesIO()
    with gzip.GzipFile(fileobj=archive, mode="wb", mtime=0) as zipped, tarfile.open(fileobj=zipped, mode="w") as tar:
        for path in _source_files(source):
            data = path.read_bytes()
            member = tarfile.TarInfo(f"{name}/{path.relative_to(source).as_posix()}")
            member.size, member.mode = len(data), 0o644
            tar.addfile(member, io.BytesIO(data))
    return archive.getvalue()


@functools.cache
def package_dependencies(chart: Path) -> None:
    """Package each `file://` dependency of the chart at `chart` (the library) into its charts/ folder, unless the
    archive there already holds its current files.

    The Kubernetes provider's `dependencyUpdate` packages a dependency only when none is there, and then keeps
    that copy for good: without this, an edit of the library would never reach the cluster. The archive is
    replaced in one rename, so a concurrent reader (another process's `helm template`) sees one or the other."""
    declared = (yaml.safe_load((chart / "Chart.yaml").read_text()) or {}).get("dependencies") or []
    for dependency in declared:
        repository = str(dependency.get("repository", ""))
        if not repository.startswith("file://"):
            continue
        source = (chart / repository.removeprefix("file://")).resolve()
        version = yaml.safe_load((source / "Chart.yaml").read_text())["version"]
        target = chart / "charts" / f"{dependency['name']}-{version}.tgz"
        content = package(source)
        if target.is_file() and target.read_bytes() == content:
            continue
        target.parent.mkdir(exist_ok=True)
        for other in target.parent.glob(f"{dependency['name']}-*.tgz"):
            if other != target:
                other.unlink(missing_ok=True)  # another version's: Helm would load both
        # Helm skips names starting with ".": a reader never takes the partial file for a chart.
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".", delete=False) as partial:
            partial.write(content)
        os.replace(partial.name, target)
