"""Offline render: what a stack would deploy, without credentials, a cluster or the Pulumi CLI.

    python -m offline.render stacks/Pulumi.<stack>.yaml --out DIR [--show-secrets] [--no-manifests]

Writes DIR/resources.json (every resource as the engine receives it) and DIR/manifests/<namespace>/<release>.yaml
(`helm template` of every local-chart Release). Exit 2 on invalid config, one line per problem on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi.runtime import rpc

from components.helm import helm_binary
from offline.evaluation import PROJECT, PROJECT_DIR, evaluate_stack_file, stack_name
from offline.recording import Recording, Registration

REDACTED = "[secret]"
RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"


def reveal(value: Any, show_secrets: bool) -> Any:
    """Replace each wire-format secret by its value, or by "[secret]"."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:  # the engine's wire form of a secret
            return reveal(value.get("value"), show_secrets) if show_secrets else REDACTED
        return {k: reveal(v, show_secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v, show_secrets) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Struct carries every number as a double
    return value


def resource_record(registration: Registration, show_secrets: bool) -> dict[str, Any]:
    return {
        "type": registration.type,
        "name": registration.name,
        "urn": registration.urn,
        "parent": registration.parent,
        "provider": registration.provider,
        "inputs": reveal(registration.inputs, show_secrets),
        "dependsOn": registration.depends_on,
        "protect": registration.protect,
        "retainOnDelete": registration.retain_on_delete,
        "deleteBeforeReplace": registration.delete_before_replace,
        "ignoreChanges": registration.ignore_changes,
    }


def resources_document(recording: Recording, stack: str, show_secrets: bool) -> dict[str, Any]:
    return {
        "project": PROJECT,
        "stack": stack,
        "resources": [resource_record(r, show_secrets) for _, r in sorted(recording.resources.items())],
        "outputs": reveal(recording.stack_outputs, show_secrets),
    }


@dataclass(frozen=True)
class LocalRelease:
    name: str
    namespace: str
    chart: Path
    values: dict[str, Any]


def local_releases(recording: Recording) -> list[LocalRelease]:
    """The Releases whose chart is a directory of this project (remote charts are not rendered offline)."""
    releases = []
    for registration in sorted(recording.resources.values(), key=lambda r: r.urn):
        if registration.type != RELEASE_TYPE:
            continue
        inputs = reveal(registration.inputs, show_secrets=True)
        chart = PROJECT_DIR / str(inputs.get("chart", ""))
        if inputs.get("chart") and (chart / "Chart.yaml").is_file():
            releases.append(
                LocalRelease(inputs["name"], inputs.get("namespace", "default"), chart, inputs.get("values") or {})
            )
    return releases


def template(release: LocalRelease, helm: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as values_file:
        json.dump(release.values, values_file)
    try:
        result = subprocess.run(
            [
                helm,
                "template",
                release.name,
                str(release.chart),
                "--namespace",
                release.namespace,
                "--values",
                values_file.name,
            ],
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(values_file.name)
    if result.returncode != 0:
        raise RuntimeError(f"helm template {release.namespace}/{release.name} failed:\n{result.stderr.strip()}")
    return result.stdout


def render_manifests(releases: Sequence[LocalRelease], out: Path) -> None:
    helm = helm_binary()  # the program packaged each chart's library as it created the Release
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        rendered = list(pool.map(lambda r: template(r, helm), releases))
    for release, manifest in zip(releases, rendered, strict=True):
        target = out / "manifests" / release.namespace / f"{release.name}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(manifest)


def render(stack_file: Path, out: Path, show_secrets: bool = False, manifests: bool = True) -> Recording:
    recording = evaluate_stack_file(stack_file)
    write(recording, stack_name(stack_file), out, show_secrets, manifests)
    return recording


def write(recording: Recording, stack: str, out: Path, show_secrets: bool = False, manifests: bool = True) -> None:
    """What a stack's evaluation deploys, into `out` (replaced): resources.json, and the manifests of its Releases."""
    if recording.duplicate_urns:
        raise RuntimeError(f"two resources share a URN: {', '.join(sorted(set(recording.duplicate_urns)))}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    document = resources_document(recording, stack, show_secrets)
    (out / "resources.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    if manifests:
        render_manifests(local_releases(recording), out)


def main(argv: Sequence[str] | None = None) -> int:
    from components.program import InvalidStackConfig

    parser = argparse.ArgumentParser(prog="python -m offline.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack_file", type=Path, help="stacks/Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, required=True, help="output directory (replaced)")
    parser.add_argument("--show-secrets", action="store_true", help="write secret values instead of [secret]")
    parser.add_argument("--no-manifests", action="store_true", help="skip helm: only the program's own cost")
    args = parser.parse_args(argv)
    try:
        render(args.stack_file, args.out, show_secrets=args.show_secrets, manifests=not args.no_manifests)
    except InvalidStackConfig as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
