"""The benchmark's workload: N instances as a stack file for the program, and as N TUTOR_ROOTs for Tutor's CLI.

Both sides get the same instances: host names `<name>.example.com`, Studio on `studio.<lmsHost>` (the program's
default), and plugin sets varied the way real fleets are: every third instance runs the MFEs without the forum.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
STACK_NAME = "bench"
DEFAULT_PLUGINS = ("forum", "mfe")
MFE_ONLY = ("mfe",)


@dataclass(frozen=True)
class Instance:
    name: str
    lms_host: str
    plugins: tuple[str, ...]

    @property
    def cms_host(self) -> str:
        return f"studio.{self.lms_host}"


def instances(count: int) -> list[Instance]:
    """`count` instances named i000, i001, …; one in three with the MFEs only, the others with forum and MFEs."""
    width = max(3, len(str(count - 1)))
    fleet = []
    for index in range(count):
        name = f"i{index:0{width}d}"
        plugins = MFE_ONLY if index % 3 == 1 else DEFAULT_PLUGINS
        fleet.append(Instance(name=name, lms_host=f"{name}.example.com", plugins=plugins))
    return fleet


def stack_config(fleet: list[Instance]) -> dict[str, object]:
    """A local stack file's document: default plugins are left implicit, as an operator would write them."""
    entries: list[dict[str, object]] = []
    for instance in fleet:
        entry: dict[str, object] = {"name": instance.name, "lmsHost": instance.lms_host}
        if instance.plugins != DEFAULT_PLUGINS:
            entry["plugins"] = list(instance.plugins)
        entries.append(entry)
    return {
        "config": {
            "openedx:platform": {"tls": {"issuer": "selfsigned"}},
            "openedx:instances": entries,
        }
    }


def write_stack(directory: Path, fleet: list[Instance]) -> Path:
    """Write `directory/Pulumi.bench.yaml`; the same stack name for every N, so URNs compare across sizes."""
    directory.mkdir(parents=True, exist_ok=True)
    stack_file = directory / f"Pulumi.{STACK_NAME}.yaml"
    stack_file.write_text(yaml.safe_dump(stack_config(fleet), sort_keys=False))
    return stack_file


def tutor_user_config(instance: Instance) -> dict[str, object]:
    return {"LMS_HOST": instance.lms_host, "CMS_HOST": instance.cms_host, "PLUGINS": sorted(instance.plugins)}


def write_tutor_roots(directory: Path, fleet: list[Instance]) -> list[Path]:
    """One fresh TUTOR_ROOT per instance, holding only the config.yml an operator would write."""
    roots = []
    for instance in fleet:
        root = directory / instance.name
        root.mkdir(parents=True)
        (root / "config.yml").write_text(yaml.safe_dump(tutor_user_config(instance)))
        roots.append(root)
    return roots


def render_command(stack_file: Path, out: Path, manifests: bool) -> list[str]:
    """The program's offline render of a stack, as a user runs it."""
    command = [sys.executable, "-m", "offline.render", str(stack_file), "--out", str(out)]
    return command if manifests else [*command, "--no-manifests"]


def tutor_executable() -> str:
    """The `tutor` console script of the interpreter running the benchmark (the project's virtualenv)."""
    candidate = Path(sys.executable).parent / "tutor"
    if not candidate.exists():
        raise FileNotFoundError(f"{candidate}: Tutor is not installed next to {sys.executable}")
    return str(candidate)


def tutor_save_command(root: Path) -> list[str]:
    return [tutor_executable(), "--root", str(root), "config", "save"]


def clean_environment(plugins_root: Path) -> dict[str, str]:
    """The caller's environment without `TUTOR_*` overrides, and with an empty Tutor plugins folder, so neither side
    picks up the operator's own YAML/Python plugins or settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TUTOR_")}
    env["TUTOR_PLUGINS_ROOT"] = str(plugins_root)
    return env
