"""Render the project's Helm charts with the real helm binary and query the documents.

The openedx-lib library is packaged into each chart as the program does it (`package_dependencies`, once per
chart and session), so a stale copy is never rendered; renders are cached per set of arguments.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from components.charts import package_dependencies
from components.helm import helm_binary

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
VALUES = Path(__file__).resolve().parent / "values"
APPLICATION_CHARTS = ("openedx", "openedx-services", "openedx-namespace", "openedx-provisioning")

#: The least each chart needs to render (the instance name, the settings Secret, the LMS host).
REQUIRED: dict[str, dict[str, Any]] = {
    "openedx": {
        "global": {
            "instance": "demo",
            "settingsSecret": "openedx-settings-0a1b2c3d",
            "hosts": {"lms": "lms.example.com"},
        }
    },
    "openedx-services": {"global": {"instance": "demo"}, "existingSecret": "demo-credentials"},
    "openedx-namespace": {"global": {"instance": "demo"}},
    # One shared MySQL server, the images the program passes.
    "openedx-provisioning": {
        "global": {"instance": "demo"},
        "images": {"mysql": {"registry": "docker.io", "repository": "mysql", "tag": "8.4.11"},
                   "mongodb": {"registry": "docker.io", "repository": "mongo", "tag": "7.0.39"}},
        "mysql": {"enabled": True, "host": "mysql.example.internal", "instanceDatabase": "openedx_demo",
                  "instanceUser": "openedx_demo", "passwordSecret": "demo-mysql-user", "maxConnections": 48},
    },
}

Doc = dict[str, Any]


class HelmFailed(RuntimeError):
    """helm exited non-zero; the message is its stderr."""


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_binary(), *args], capture_output=True, text=True, check=False)


@dataclass(frozen=True)
class Render:
    """The parsed documents of one `helm template` run."""

    docs: tuple[Doc, ...]

    def of_kind(self, *kinds: str) -> list[Doc]:
        return [doc for doc in self.docs if doc["kind"] in kinds]

    def get(self, kind: str, name: str) -> Doc:
        matches = [doc for doc in self.docs if doc["kind"] == kind and doc["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
        return matches[0]

    def names(self, kind: str) -> set[str]:
        return {doc["metadata"]["name"] for doc in self.of_kind(kind)}


def _values_args(chart: str, values: tuple[str, ...], extra_json: str, required: bool, work: Path) -> list[str]:
    """-f arguments: the chart's required values (lowest), the named values files, then `extra`."""
    args: list[str] = []
    if required and chart in REQUIRED:
        args += ["-f", _write(work, REQUIRED[chart])]
    for name in values:
        args += ["-f", str(VALUES / name)]
    extra = json.loads(extra_json)
    if extra:
        args += ["-f", _write(work, extra)]
    return args


def _write(work: Path, values: dict[str, Any]) -> str:
    work.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(values, sort_keys=True)
    path = work / f"values-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
    path.write_text(text)
    return str(path)


_WORK = Path(tempfile.mkdtemp(prefix="openedx-chart-tests-"))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)


@functools.cache
def _template(chart: str, values: tuple[str, ...], extra_json: str, required: bool, release: str) -> Render:
    package_dependencies(CHARTS / chart)
    args = ["template", release, str(CHARTS / chart), "--namespace", "openedx-demo"]
    result = helm(*args, *_values_args(chart, values, extra_json, required, _WORK))
    if result.returncode != 0:
        raise HelmFailed(result.stderr)
    return Render(tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc))


def template(
    chart: str,
    values: tuple[str, ...] = (),
    *,
    extra: dict[str, Any] | None = None,
    required: bool = True,
    release: str = "demo",
) -> Render:
    """Render `chart` with its required values, the values files (under tests/charts/values) and `extra`."""
    return _template(chart, values, json.dumps(extra or {}, sort_keys=True), required, release)


def template_error(
    chart: str, values: tuple[str, ...] = (), *, extra: dict[str, Any] | None = None, required: bool = True
) -> str:
    """Render a chart that must fail; returns helm's stderr."""
    try:
        template(chart, values, extra=extra, required=required)
    except HelmFailed as failure:
        return str(failure)
    raise AssertionError(f"helm template {chart} succeeded; expected a failure (extra={extra})")


def lint(chart: str, values: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """`helm lint --strict` of a chart with its required values and the values files."""
    if chart != "openedx-lib":
        package_dependencies(CHARTS / chart)
    args = ["lint", "--strict", str(CHARTS / chart)]
    return helm(*args, *_values_args(chart, values, "{}", True, _WORK))


# --- queries over rendered documents ------------------------------------------------------------


def pod_spec(doc: Doc) -> Doc | None:
    """The pod spec of a workload document (Deployment, StatefulSet, Job, CronJob), else None."""
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        return cast(Doc, spec["jobTemplate"]["spec"]["template"]["spec"])
    if doc["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        return cast(Doc, spec["template"]["spec"])
    return None


def pod_template_labels(doc: Doc) -> dict[str, str]:
    spec = doc["spec"]
    template = spec["jobTemplate"]["spec"]["template"] if doc["kind"] == "CronJob" else spec["template"]
    return cast(dict[str, str], template["metadata"]["labels"])


def workloads(render: Render) -> Iterator[tuple[Doc, Doc]]:
    for doc in render.docs:
        spec = pod_spec(doc)
        if spec is not None:
            yield doc, spec


def containers(spec: Doc) -> list[Doc]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def main_container(spec: Doc) -> Doc:
    return cast(Doc, spec["containers"][0])


def env_map(container: Doc) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container.get("env", [])}


def mounts(container: Doc) -> dict[str, Doc]:
    return {mount["mountPath"]: mount for mount in container.get("volumeMounts", [])}


def volumes(spec: Doc) -> dict[str, Doc]:
    return {volume["name"]: volume for volume in spec.get("volumes", [])}


def mounted_volume(spec: Doc, container: Doc, path: str) -> tuple[Doc, Doc]:
    """The (mount, volume) at `path` in a container."""
    mount = mounts(container)[path]
    return mount, volumes(spec)[mount["name"]]


# --- the two values sets every chart is tested with ---------------------------------------------

VARIANTS = ("default", "production")


def render(chart: str, variant: str) -> Render:
    """`chart` with its required values only ("default") or with values/<chart>-production.yaml."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown values set {variant!r}")
    return template(chart, () if variant == "default" else (f"{chart}-production.yaml",))


NOTES_TEMPLATE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\n"
    'data:\n  notes: {{ tpl (.Files.Get "notes.tmpl") . | toJson }}\n'
)


@functools.cache
def notes(chart: str, values: tuple[str, ...] = ()) -> str:
    """The chart's NOTES.txt as `helm install` prints it (`helm template` does not render NOTES.txt:
    a copy of the chart renders it through a ConfigMap)."""
    package_dependencies(CHARTS / chart)
    copy = Path(tempfile.mkdtemp(prefix="notes-", dir=_WORK)) / chart
    shutil.copytree(CHARTS / chart, copy)
    shutil.copy(copy / "templates" / "NOTES.txt", copy / "notes.tmpl")
    (copy / "templates" / "zz-notes.yaml").write_text(NOTES_TEMPLATE)
    args = ["template", "demo", str(copy), "--namespace", "openedx-demo", "--show-only", "templates/zz-notes.yaml"]
    result = helm(*args, *_values_args(chart, values, "{}", True, _WORK))
    if result.returncode != 0:
        raise HelmFailed(result.stderr)
    return str(yaml.safe_load(result.stdout)["data"]["notes"])


# --- what Tutor itself renders, to compare the charts with -----------------------------------------

#: The Tutor configuration the charts are built for: Caddy as an internal router behind an Ingress,
#: listening on 8080 as plain HTTP (the plugin of the openedx README, "Usage without Pulumi").
TUTOR_CONFIG = {
    "LMS_HOST": "learn.example.com",
    "CMS_HOST": "studio.learn.example.com",
    "ENABLE_WEB_PROXY": False,
    "ENABLE_HTTPS": True,
    "PLUGINS": ["mfe", "k8s-caddy-port"],
}
CADDY_PORT_PLUGIN = {
    "name": "k8s-caddy-port",
    "version": "1.0.0",
    "patches": {"caddyfile-global": "http_port 8080\n"},
}


@dataclass(frozen=True)
class TutorReference:
    """Tutor's own Kubernetes output for TUTOR_CONFIG (`tutor config save`, read from env/)."""

    deployments: dict[str, dict[str, Any]]
    services: dict[str, dict[str, Any]]
    config_maps: dict[str, list[str]]
    caddyfile: str
    mfe_caddyfile: str

    def container(self, deployment: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.deployments[deployment]["spec"]["template"]["spec"]["containers"][0])

    def pod_security(self, deployment: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.deployments[deployment]["spec"]["template"]["spec"].get("securityContext", {}))


def tutor_render(root: Path) -> TutorReference:
    """Run the pinned Tutor in a subprocess (its plugin hooks are process-global) on the empty `root`."""
    (root / "config.yml").write_text(yaml.safe_dump(TUTOR_CONFIG))
    (root / "plugins").mkdir()
    (root / "plugins" / "k8s-caddy-port.yml").write_text(yaml.safe_dump(CADDY_PORT_PLUGIN))
    env = {**os.environ, "TUTOR_ROOT": str(root), "TUTOR_PLUGINS_ROOT": str(root / "plugins")}
    tutor = Path(sys.executable).with_name("tutor")
    subprocess.run([str(tutor), "config", "save"], env=env, check=True, capture_output=True)
    k8s = root / "env" / "k8s"

    def by_name(path: Path, kind: str) -> dict[str, dict[str, Any]]:
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc and doc["kind"] == kind]
        return {doc["metadata"]["name"]: doc for doc in docs}

    kustomization = yaml.safe_load((root / "env" / "kustomization.yml").read_text())
    config_maps = {
        generator["name"]: [Path(file).name for file in generator.get("files", [])]
        for generator in kustomization["configMapGenerator"]
    }
    return TutorReference(
        deployments=by_name(k8s / "deployments.yml", "Deployment"),
        services=by_name(k8s / "services.yml", "Service"),
        config_maps=config_maps,
        caddyfile=(root / "env" / "apps" / "caddy" / "Caddyfile").read_text(),
        mfe_caddyfile=(root / "env" / "plugins" / "mfe" / "apps" / "mfe" / "Caddyfile").read_text(),
    )
