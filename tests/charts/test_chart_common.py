"""What holds for every chart: valid Kubernetes objects, labels, restricted pods, no credential in a
ConfigMap, strict values schemas, `helm lint --strict`, generated docs, library conventions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from chart_render import (
    APPLICATION_CHARTS,
    CHARTS,
    VARIANTS,
    Doc,
    containers,
    lint,
    notes,
    pod_template_labels,
    render,
    template,
    template_error,
    workloads,
)

KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33", "1.34")
RENDERS = [(chart, variant) for chart in APPLICATION_CHARTS for variant in VARIANTS]
STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
    "app.openedx.org/instance",
)
#: Pod users: Tutor's, per image.
POD_USERS = {
    "lms": 1000,
    "cms": 1000,
    "caddy": 1000,
    "mfe": 1000,
    "redis": 1000,
    "meilisearch": 1000,
    "mysql": 999,
    "mongodb": 999,
    "smtp": 100,
    "provision": 999,  # the mysql and mongo images' user
    "deprovision": 999,
}
CREDENTIAL_LINE = re.compile(
    r"(?i)\b(\w*(?:password|passwd|pwd|secret|token|api[_-]?key|master[_-]?key|private[_-]?key)\w*)"
    r"\s*[:=]\s*(?P<value>\S.*)$"
)
CREDENTIAL_ENV = re.compile(r"(?i)(password|secret|token|_key$|^key$)")


def instance_of(chart: str, variant: str) -> str:
    return "demo" if variant == "default" else "campus"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(("chart", "variant"), RENDERS)
def test_every_document_is_valid_kubernetes(chart: str, variant: str, version: str) -> None:
    docs = render(chart, variant).docs
    assert docs
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} on Kubernetes {version}: {error.message}")


@pytest.mark.parametrize(("chart", "variant"), RENDERS)
def test_every_object_and_pod_carries_the_instance_and_standard_labels(chart: str, variant: str) -> None:
    render_ = render(chart, variant)
    instance = instance_of(chart, variant)
    for doc in render_.docs:
        labels = doc["metadata"].get("labels", {})
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        for key in STANDARD_LABELS:
            assert labels.get(key), f"{where}: no {key}"
        assert labels["app.openedx.org/instance"] == instance
        assert labels["app.kubernetes.io/part-of"] == "openedx"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/instance"] == "demo"
    for doc, _ in workloads(render_):
        labels = pod_template_labels(doc)
        for key in STANDARD_LABELS:
            assert labels.get(key), f"pod of {doc['metadata']['name']}: no {key}"
        assert labels["app.openedx.org/instance"] == instance


def _check_restricted_container(where: str, container: Doc) -> None:
    security = container.get("securityContext", {})
    assert security.get("allowPrivilegeEscalation") is False, where
    assert security.get("readOnlyRootFilesystem") is True, where
    assert security.get("privileged") is not True, where
    capabilities = security.get("capabilities", {})
    assert capabilities.get("drop") == ["ALL"], where
    assert set(capabilities.get("add", [])) <= {"NET_BIND_SERVICE"}, where
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
    assert security.get("runAsNonRoot") is True, where  # the kubelet refuses a container that would run as root
    assert "runAsUser" not in security or security["runAsUser"] != 0, where


@pytest.mark.parametrize(("chart", "variant"), RENDERS)
def test_every_pod_meets_the_restricted_profile(chart: str, variant: str) -> None:
    for doc, spec in workloads(render(chart, variant)):
        name = doc["metadata"]["name"]
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        user = POD_USERS.get(spec["containers"][0]["name"], 1000)
        assert pod["runAsUser"] == user, name
        assert pod["runAsGroup"] == (101 if user == 100 else user), name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["enableServiceLinks"] is False, name
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(field), (name, field)
        for volume in spec.get("volumes", []):
            assert "hostPath" not in volume, name
        for container in containers(spec):
            _check_restricted_container(f"{name}/{container['name']}", container)
            add = container["securityContext"]["capabilities"].get("add", [])
            assert (add == ["NET_BIND_SERVICE"]) is (container["name"] in ("caddy", "mfe")), name
            assert {"requests", "limits"} <= set(container["resources"]), name


@pytest.mark.parametrize(("chart", "variant"), RENDERS)
def test_long_running_containers_are_probed(chart: str, variant: str) -> None:
    for doc, spec in workloads(render(chart, variant)):
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        container = spec["containers"][0]
        if doc["metadata"]["name"].endswith("-worker"):
            continue  # optional (costly) liveness probe: see the lms/cms values
        assert "readinessProbe" in container and "livenessProbe" in container, doc["metadata"]["name"]


@pytest.mark.parametrize(("chart", "variant"), RENDERS)
def test_no_config_map_holds_a_credential(chart: str, variant: str) -> None:
    render_ = render(chart, variant)
    for config_map in render_.of_kind("ConfigMap"):
        for key, text in config_map.get("data", {}).items():
            for line in str(text).splitlines():
                match = CREDENTIAL_LINE.search(line.strip())
                if match is None:
                    continue
                value = match.group("value").strip().rstrip(",;")
                reads_a_file = value.startswith('require("fs").readFileSync("/run/secrets/')
                assert value.startswith("process.env.") or reads_a_file or value in ('""', "''"), (
                    f"ConfigMap {config_map['metadata']['name']} key {key}: {line.strip()!r}"
                )
    assert not render_.of_kind("Secret")


@pytest.mark.parametrize(("chart", "variant"), RENDERS)
def test_no_credential_is_an_environment_variable(chart: str, variant: str) -> None:
    """Credentials are files of a mounted Secret: variables named like one only point at such a file."""
    for doc, spec in workloads(render(chart, variant)):
        for container in containers(spec):
            for env in container.get("env", []):
                if CREDENTIAL_ENV.search(env["name"]):
                    assert env["name"].endswith("_FILE"), (doc["metadata"]["name"], env["name"])
                    assert env["value"].startswith("/run/secrets/"), (doc["metadata"]["name"], env["name"])


@pytest.mark.parametrize("chart", APPLICATION_CHARTS)
def test_image_registry_and_pull_secrets_reach_every_pod(chart: str) -> None:
    render_ = render(chart, "production")
    pods = list(workloads(render_))
    if chart == "openedx-namespace":
        assert not pods
        return
    assert pods
    for doc, spec in pods:
        assert spec["imagePullSecrets"] == [{"name": "registry-credentials"}], doc["metadata"]["name"]
        for container in containers(spec):
            assert container["image"].startswith("registry.example.com/"), container["image"]
            assert container["imagePullPolicy"] == "IfNotPresent"


@pytest.mark.parametrize(
    ("chart", "extra", "named"),
    [
        ("openedx", {"ingres": {"enabled": True}}, "ingres"),
        ("openedx", {"global": {"instanse": "x"}}, "instanse"),
        ("openedx", {"lms": {"web": {"replicaCont": 2}}}, "replicaCont"),
        ("openedx", {"caddy": {"imag": {"tag": "2"}}}, "imag"),
        ("openedx", {"init": {"tasks": [{"service": "lms", "kee": "x.sh"}]}}, "kee"),
        ("openedx-services", {"mysql": {"databse": "x"}}, "databse"),
        ("openedx-services", {"redis": {"maxmemoryPolicy": "allkeys-lru"}}, "maxmemoryPolicy"),
        ("openedx-namespace", {"networkPolicy": {"dnss": {}}}, "dnss"),
    ],
)
def test_the_schema_rejects_a_misspelled_or_bad_value(chart: str, extra: dict[str, Any], named: str) -> None:
    error = template_error(chart, extra=extra)
    assert "values don't meet the specifications of the schema" in error
    assert named in error


@pytest.mark.parametrize("chart", APPLICATION_CHARTS)
def test_the_instance_is_required(chart: str) -> None:
    error = template_error(chart, required=False)
    assert "global.instance" in error


LINTS = [*RENDERS, ("openedx-lib", "default")]  # the library chart has no values to vary


@pytest.mark.parametrize(("chart", "variant"), LINTS)
def test_helm_lint_strict_passes(chart: str, variant: str) -> None:
    values = () if variant == "default" else (f"{chart}-production.yaml",)
    result = lint(chart, values)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout


def test_schemas_and_readme_tables_are_generated_from_values_yaml() -> None:
    result = subprocess.run(
        [sys.executable, str(CHARTS / "tools" / "chartdocs.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, "run `python charts/tools/chartdocs.py`:\n" + result.stdout + result.stderr


def _chart_dirs() -> list[Path]:
    return sorted(path.parent for path in CHARTS.glob("**/Chart.yaml") if "tmpcharts" not in path.parts)


@pytest.mark.parametrize("chart_dir", _chart_dirs(), ids=lambda path: str(path.relative_to(CHARTS)))
def test_every_chart_is_versioned_documented_and_schema_checked(chart_dir: Path) -> None:
    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2"
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["version"])
    assert meta["appVersion"]
    readme = (chart_dir / "README.md").read_text()
    if meta.get("type") == "library":
        assert "helper" in readme.lower()
        return
    assert (chart_dir / "values.schema.json").exists()
    schema = yaml.safe_load((chart_dir / "values.schema.json").read_text())
    assert schema["additionalProperties"] is False
    if chart_dir.parent.name != "charts":
        assert "## Usage without Pulumi" in readme
        assert "helm dependency build" in readme and "helm install" in readme


def test_library_defines_are_prefixed_and_documented() -> None:
    for path in sorted((CHARTS / "openedx-lib" / "templates").glob("_*.tpl")):
        text = path.read_text()
        defines = list(re.finditer(r'\{\{-? define "([^"]+)" -?\}\}', text))
        assert defines, path.name
        for define in defines:
            name = define.group(1)
            assert name.startswith("openedx-lib."), name
            comment = text[: define.start()].rsplit("{{/*", 1)[-1]
            assert f"{name}:" in comment and "Usage:" in comment, f"{name}: no usage comment above it"


@pytest.mark.parametrize("chart", APPLICATION_CHARTS)
def test_chart_defines_are_prefixed_with_their_chart(chart: str) -> None:
    for path in (CHARTS / chart / "templates").rglob("*.tpl"):
        for name in re.findall(r'\{\{-? define "([^"]+)"', path.read_text()):
            assert name.startswith(f"{chart}."), f"{path}: {name}"


def test_packaged_library_and_lock_files_are_ignored() -> None:
    ignored = (CHARTS / ".gitignore").read_text().split()
    assert "*/charts/*.tgz" in ignored and "*/Chart.lock" in ignored


@pytest.mark.parametrize(
    ("chart", "expected"),
    [
        (
            "openedx",
            [
                "LMS:          https://learn.example.com",
                "Studio (CMS): https://studio.learn.example.com",
                "MFEs:         https://apps.learn.example.com/learning/",
                "Meilisearch:  https://meilisearch.learn.example.com",
                "openedx-settings-7f3a9c2e41",
            ],
        ),
        ("openedx-services", ["mysql:3306", "mongodb:27017", "redis:6379", "PVC media", "campus-data-credentials"]),
        ("openedx-namespace", ["ServiceAccount openedx", "default deny", "caddy:8080"]),
    ],
)
def test_notes_print_what_was_installed(chart: str, expected: list[str]) -> None:
    text = notes(chart, (f"{chart}-production.yaml",))
    for line in expected:
        assert line in text


def test_notes_warn_about_missing_tls_source_and_media_volume() -> None:
    text = notes("openedx")
    assert "LMS:          https://lms.example.com" in text
    assert "expects the Secret demo-tls" in text
    assert "no global.media.existingClaim" in text


@pytest.mark.parametrize(("chart", "variant"), RENDERS)
def test_pods_roll_by_secret_name_not_checksums(chart: str, variant: str) -> None:
    for doc, _ in workloads(render(chart, variant)):
        template_ = (
            doc["spec"]["jobTemplate"]["spec"]["template"] if doc["kind"] == "CronJob" else doc["spec"]["template"]
        )
        annotations = template_["metadata"].get("annotations", {})
        assert not [key for key in annotations if key.startswith("checksum/")], doc["metadata"]["name"]


def test_every_container_must_have_requests_and_limits() -> None:
    error = template_error("openedx", extra={"lms": {"web": {"resources": {"limits": None}}}})
    assert "lms.web.resources.limits must set cpu and memory" in error
    error = template_error("openedx-services", extra={"smtp": {"resources": {"requests": {"cpu": None}}}})
    assert "smtp.resources.requests must set cpu and memory" in error


def test_extra_objects_are_rendered_with_the_release() -> None:
    extra = {
        "extraObjects": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extra-{{ .Values.global.instance }}"}},
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: extra-account\n",
        ]
    }
    render_ = template("openedx", extra=extra)
    assert render_.names("ConfigMap") == {"extra-demo", "openedx-init", "openedx-settings-prune"}
    assert render_.names("ServiceAccount") == {"extra-account", "openedx-settings-prune"}
