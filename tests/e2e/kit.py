"""The kit's clusters from Python: `kit.sh up DIR` and `down`, and the environment its `up` prints.

Used by the end-to-end test and by the real-engine benchmark (`python -m benchmarks.engine`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

KIT = Path(__file__).resolve().parent / "kit.sh"
BIN = Path(os.environ.get("OPENEDX_E2E_CACHE") or Path.home() / ".cache/openedx-pulumi/e2e") / "bin"
"""Where `kit.sh build` puts the binaries (its $OPENEDX_E2E_CACHE/bin)."""


class KitError(RuntimeError):
    """`kit.sh` failed; the message ends with its error output."""


def up(directory: Path) -> dict[str, str]:
    """A fresh cluster in `directory`; returns the environment that reaches it (PATH, KUBECONFIG, PULUMI_*)."""
    done = subprocess.run([str(KIT), "up", str(directory)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        down(directory)
        raise KitError(f"kit.sh up failed (run tests/e2e/kit.sh build first?):\n{done.stderr}")
    (directory / "env").write_text(done.stdout)
    return environment(done.stdout)


def down(directory: Path) -> None:
    subprocess.run([str(KIT), "down", str(directory)], capture_output=True, check=False)


def environment(exports: str) -> dict[str, str]:
    """The environment after `eval "$(kit.sh up DIR)"`, evaluated by the shell itself, on top of this one
    without its Pulumi and Kubernetes settings."""
    base = {key: value for key, value in os.environ.items() if not key.startswith(("PULUMI_", "KUBECONFIG"))}
    out = subprocess.run(["bash", "-c", f"{exports}\nenv -0"], env=base, capture_output=True, check=True).stdout
    return dict(entry.split("=", 1) for entry in out.decode().split("\0") if "=" in entry)
