"""The values schemas and README parameter tables of the charts, generated from each chart's values.yaml.

A chart's values.yaml is the one description of its values: each value's default, and above it a
`## @param <path> <description>` line (`## @extra` for an object, `## @section` for a group): the metadata of
@bitnami/readme-generator-for-helm, which writes the Parameters tables of the chart's README.md from it and fails
on a value without a line or a line without a value. This script runs that tool and writes values.schema.json from
the same file: a value's description is its line's, its type is its default's (`[nullable]` adds null), and an
object with keys accepts no other key, so Helm rejects a misspelled one. What a default cannot say (allowed values,
patterns, bounds, the items of an empty list, maps whose keys are free, optional keys left out of values.yaml,
required values) is in CONSTRAINTS, by value path.

    python charts/tools/chartdocs.py           # rewrite the schemas and README tables
    python charts/tools/chartdocs.py --check   # exit 1, listing the files that are out of date
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Schema = dict[str, Any]

TOOLS = Path(__file__).resolve().parent
CHARTS = TOOLS.parent
CACHE = Path.home() / ".cache" / "openedx-pulumi" / "readme-generator"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
HOST = r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
MYSQL_IDENTIFIER = r"^[A-Za-z0-9_]{1,64}$"

# --- what a default cannot say -------------------------------------------------------------------------------------

QUANTITY: Schema = {"type": ["string", "number"]}
FREE: Schema = {"type": "object"}
PORT: Schema = {"type": "integer", "minimum": 1, "maximum": 65535}
STRINGS: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
QUANTITIES: Schema = {"type": "object", "additionalProperties": QUANTITY}
AT_LEAST_0: Schema = {"minimum": 0}
AT_LEAST_1: Schema = {"minimum": 1}
NON_EMPTY: Schema = {"minLength": 1}
SERVICE_VARIANT: Schema = {"type": "string", "enum": ["lms", "cms"]}
RESOURCES: Schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"requests": QUANTITIES, "limits": QUANTITIES},
}

#: By path pattern (fnmatch, matched against the end of a value's path): the schema keywords merged over the
#: inferred schema. Every matching pattern applies, in this order.
CONSTRAINTS: dict[str, Schema] = {
    # Images: pinned, from a known pull policy.
    "image": {"required": ["repository", "tag"]},
    "openedxImage": {"required": ["repository", "tag"]},
    "mysqlImage": {"required": ["repository", "tag"]},
    "*Image.repository": NON_EMPTY,
    "image.repository": NON_EMPTY,
    "*Image.tag": NON_EMPTY,
    "image.tag": NON_EMPTY,
    "*Image.pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    "image.pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    "imagePullSecrets": {"items": {"type": ["string", "object"]}},
    # Pods.
    "replicaCount": AT_LEAST_0,
    "revisionHistoryLimit": AT_LEAST_0,
    "credentials.revision.*": AT_LEAST_0,
    "terminationGracePeriodSeconds": {"type": "integer", "minimum": 0},
    "resources": {"additionalProperties": False},
    "resources.requests": QUANTITIES,
    "resources.limits": QUANTITIES,
    "resources.*.*": QUANTITY,
    "*Probe": {
        "properties": {
            "initialDelaySeconds": {"type": "integer", "minimum": 0, "description": "Seconds before the first check."},
            "successThreshold": {
                "type": "integer",
                "minimum": 1,
                "description": "Successful checks in a row that count as a success.",
            },
        }
    },
    "*Probe.initialDelaySeconds": AT_LEAST_0,
    "*Probe.periodSeconds": AT_LEAST_1,
    "*Probe.timeoutSeconds": AT_LEAST_1,
    "*Probe.failureThreshold": AT_LEAST_1,
    "autoscaling.minReplicas": AT_LEAST_1,
    "autoscaling.maxReplicas": AT_LEAST_1,
    "autoscaling.targetCPUUtilizationPercentage": AT_LEAST_1,
    "pdb.maxUnavailable": {"type": ["integer", "string"]},
    "updateStrategy": {"additionalProperties": True},
    "updateStrategy.rollingUpdate": {"additionalProperties": True},
    "updateStrategy.rollingUpdate.*": {"type": ["integer", "string"]},
    "extraEnv": {"items": FREE},
    "env": STRINGS,
    "podLabels": STRINGS,
    "podAnnotations": STRINGS,
    "nodeSelector": STRINGS,
    "tolerations": {"items": FREE},
    "topologySpreadConstraints": {"items": FREE},
    "extraArgs": {"items": {"type": "string"}},
    "concurrency": {"type": "integer", "minimum": 1},
    "uwsgiWorkers": AT_LEAST_1,
    "worker.args": {"items": {"type": "string"}, "minItems": 1},
    # The instance and its Secrets.
    "global.instance": {"pattern": "^$|" + DNS_LABEL, "minLength": 1, "maxLength": 63},
    "global.settingsSecret": {"pattern": r"^$|^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", "minLength": 1, "maxLength": 253},
    "global.serviceAccountName": NON_EMPTY,
    "global.hosts.*": {"pattern": HOST},
    # The openedx chart.
    "ingress.annotations": STRINGS,
    "ingress.extraHosts": {"items": {"type": "string", "pattern": HOST}},
    "init.tasks": {
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["service", "key"],
            "properties": {
                # lms, cms, mysql or an enabled plugin service: the template checks it (the enabled ones vary).
                "service": {"type": "string", "pattern": DNS_LABEL},
                "key": {"type": "string", "pattern": SECRET_KEY, "minLength": 1},
            },
        }
    },
    "init.once": {
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "service", "args"],
            "properties": {
                "name": {"type": "string", "pattern": DNS_LABEL, "maxLength": 58},
                "service": SERVICE_VARIANT,
                "args": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                "env": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
    "init.backoffLimit": AT_LEAST_0,
    "global.maintenance.retryAfterSeconds": AT_LEAST_1,
    "activeDeadlineSeconds": AT_LEAST_1,
    "cronJobs": {
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "schedule", "service", "command"],
            "properties": {
                "name": {"type": "string", "pattern": DNS_LABEL, "maxLength": 52},
                "schedule": {"type": "string", "minLength": 1},
                "service": SERVICE_VARIANT,
                "command": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "enabled": {"type": "boolean"},
                "resources": RESOURCES,
                "activeDeadlineSeconds": {"type": "integer", "minimum": 1},
            },
        }
    },
    "backups.retention.count": AT_LEAST_1,
    "backups.retention.maxAgeDays": AT_LEAST_1,
    "backups.secretName": NON_EMPTY,
    "backups.storage.rclone": {"additionalProperties": {"type": "string"},
                               "propertyNames": {"pattern": "^[A-Z0-9_]+$"}},
    "backups.images.*.pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    "backups.workSizeLimit": NON_EMPTY,
    "backups.ttlSecondsAfterFinished": AT_LEAST_0,
    "cronJobDefaults.startingDeadlineSeconds": AT_LEAST_1,
    "cronJobDefaults.backoffLimit": AT_LEAST_0,
    "cronJobDefaults.*HistoryLimit": AT_LEAST_0,
    "settingsPrune.backoffLimit": AT_LEAST_0,
    "extraObjects": {"items": {"type": ["object", "string"]}},
    # Subcharts.
    "probePath": NON_EMPTY,
    # The ida subchart (plugin services).
    "args": {"items": {"type": "string"}},
    "writablePaths": {"items": {"type": "string", "pattern": "^/"}},
    "djangoSettingsModule": NON_EMPTY,
    "settings.key": {"pattern": SECRET_KEY},
    "settings.mountPath": {"pattern": "^/"},
    "containerPort": {"minimum": 1, "maximum": 65535},
    # The openedx-services chart.
    "persistence.size": NON_EMPTY,
    "mysql.database": NON_EMPTY,
    "mysql.username": NON_EMPTY,
    "mysql.rootHost": NON_EMPTY,
    "mysql.extraDatabases": {"items": {"type": "string", "pattern": MYSQL_IDENTIFIER}, "uniqueItems": True},
    "mongodb.rootUsername": NON_EMPTY,
    "mongodb.username": NON_EMPTY,
    "mongodb.authSource": NON_EMPTY,
    "mongodb.databases": {"items": {"type": "string", "minLength": 1}, "minItems": 1},
    "mongodb.wiredTigerCacheSizeGB": {"type": "number", "minimum": 0.25},
    "redis.maxmemory": {"pattern": r"^[0-9]+([kKmMgG][bB]?)?$"},
    "redis.maxmemoryPolicy": {
        "enum": ["volatile-lru", "volatile-lfu", "volatile-ttl", "volatile-random", "noeviction"]
    },
    "media.accessMode": {"enum": ["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"]},
    "media.size": NON_EMPTY,
    "backups.accessMode": {"enum": ["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"]},
    "backups.size": NON_EMPTY,
    # The openedx-provisioning chart.
    "mysql.sslMode": {"enum": ["PREFERRED", "REQUIRED", "VERIFY_CA"]},
    "passwordRevision": AT_LEAST_0,
    "maxConnections": AT_LEAST_0,
    # The openedx-namespace chart.
    "serviceAccount.name": {"pattern": DNS_LABEL},
    "serviceAccount.annotations": STRINGS,
    "serviceAccount.labels": STRINGS,
    "namespaceSelector": {"additionalProperties": True},
    "matchLabels": STRINGS,
    "podSelector": {"additionalProperties": True},
    "networkPolicy.*.port": PORT,
    "networkPolicy.*.caddyPort": PORT,
    "networkPolicy.*Ports": {"items": PORT},
    "networkPolicy.*.ports": {"items": PORT},
    "networkPolicy.external.cidr": NON_EMPTY,
    "networkPolicy.kubernetesApi.cidr": NON_EMPTY,
    "networkPolicy.kubernetesApi.ports": {"minItems": 1},
    "networkPolicy.*.except": {"items": {"type": "string"}},
    "networkPolicy.extraEgress": {
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["cidr"],
            "properties": {
                "cidr": {"type": "string", "minLength": 1},
                "except": {"type": "array", "items": {"type": "string"}},
                "ports": {"type": "array", "items": PORT},
                "protocol": {"type": "string", "enum": ["TCP", "UDP", "SCTP"]},
            },
        }
    },
    "resourceQuota.hard": QUANTITIES,
    "resourceQuota.hard.*": QUANTITY,
    "limitRange.default": QUANTITIES,
    "limitRange.defaultRequest": QUANTITIES,
    "limitRange.max": QUANTITIES,
    "limitRange.*.*": QUANTITY,
}

# --- the metadata of values.yaml -----------------------------------------------------------------------------------

_LINE = re.compile(r"^\s*## @(param|extra|section|descriptionStart|descriptionEnd) ?(\S*)(?: \[([^\]]*)\])? ?(.*)$")


@dataclass
class Metadata:
    """What a values.yaml says about its values besides their defaults."""

    descriptions: dict[str, str] = field(default_factory=dict)
    nullable: set[str] = field(default_factory=set)
    #: the first key of each section, with the section's title and description
    sections: dict[str, str] = field(default_factory=dict)


def metadata(values_file: Path) -> Metadata:
    meta = Metadata()
    section: list[str] = []
    in_description = False
    for line in values_file.read_text().splitlines():
        match = _LINE.match(line)
        if match:
            tag, path, modifiers, text = match.groups()
            if tag in ("section", "descriptionStart"):
                section.append(f"{path} {text}".strip())
                in_description = tag == "descriptionStart"
            elif tag == "descriptionEnd":
                in_description = False
            else:
                meta.descriptions[path] = text
                if "nullable" in (m.strip() for m in (modifiers or "").split(",")):
                    meta.nullable.add(path)
        elif in_description:
            section.append(line.strip().removeprefix("##").strip())
        elif section and re.match(r"^[^\s#]", line):
            title, *text = [part for part in section if part]
            meta.sections[line.split(":", 1)[0]] = f"{title}: {' '.join(text)}" if text else title
            section = []
    return meta


# --- the schema ----------------------------------------------------------------------------------------------------


def constraints(path: str) -> Schema:
    merged: Schema = {}
    for pattern, fragment in CONSTRAINTS.items():
        if fnmatch.fnmatchcase("." + path, "*." + pattern):
            properties = {**merged.get("properties", {}), **fragment.get("properties", {})}
            merged.update(fragment)
            if properties:
                merged["properties"] = properties
    return merged


_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def value_schema(value: Any, path: str, meta: Metadata) -> Schema:
    """The schema of one value: inferred from its default, described by its metadata, refined by CONSTRAINTS."""
    rules = constraints(path)
    schema: Schema = {}
    if isinstance(value, dict):
        schema["type"] = "object"
        if value:
            schema["additionalProperties"] = False
            schema["properties"] = {key: value_schema(child, f"{path}.{key}", meta) for key, child in value.items()}
        else:
            schema["additionalProperties"] = True
    elif isinstance(value, list):
        schema["type"] = "array"
        kinds = {_TYPES[type(item)] for item in value if type(item) in _TYPES}
        if len(kinds) == 1 and len(kinds) == len({type(item) for item in value}):
            schema["items"] = {"type": kinds.pop()}
    elif value is not None:
        schema["type"] = _TYPES[type(value)]
    for key, rule in rules.items():
        if key == "properties":
            schema["properties"] = {**rule, **schema.get("properties", {})}
        else:
            schema[key] = rule
    if "type" not in schema:
        raise ValueError(f"{path}: its default is null; give its type in CONSTRAINTS")
    if schema["type"] == "array" and "items" not in schema:
        raise ValueError(f"{path}: nothing says what its items are; give them in CONSTRAINTS")
    if path in meta.nullable:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*types, "null"]
    if path in meta.descriptions:
        schema = {"description": meta.descriptions[path], **schema}
    return schema


def _opened(schema: Schema) -> Schema:
    """The schema with every object open to keys it does not list."""
    if schema.get("type") != "object":
        return schema
    properties = {key: _opened(child) for key, child in schema.get("properties", {}).items()}
    return {**schema, "additionalProperties": True, **({"properties": properties} if properties else {})}


def chart_schema(chart: Path) -> Schema:
    """The values.schema.json of the chart at `chart`."""
    values = yaml.safe_load((chart / "values.yaml").read_text())
    meta = metadata(chart / "values.yaml")
    manifest = yaml.safe_load((chart / "Chart.yaml").read_text())
    properties = {key: value_schema(value, key, meta) for key, value in values.items()}
    for key, value in properties.items():
        if "description" not in value and key in meta.sections:
            properties[key] = {"description": meta.sections[key], **value}
    for dependency in manifest.get("dependencies", []):
        key = dependency.get("alias", dependency["name"])
        if dependency["name"] == "openedx-lib":
            properties[key] = {
                "description": "Internal: the values Helm gives the openedx-lib library chart (it has none).",
                "type": "object",
            }
        elif key in properties:  # a subchart's values: checked by its own schema, so open here
            properties[key] = _opened(properties[key])
    required = []
    if "global" in values:
        required.append("global")
        globals_ = properties["global"]
        globals_["required"] = [key for key in ("instance", "settingsSecret") if key in values["global"]]
    elif (chart.parent.parent / "Chart.yaml").exists():  # a subchart: the parent's global values, checked there
        properties = {
            "global": {
                "description": "Values shared by the parent chart, checked by its schema (see its README).",
                "type": "object",
            },
            **properties,
        }
    schema: Schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "description": f"Values of the {manifest['name']} chart.",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    if required:
        schema["required"] = required
    return schema


# --- the README tables: readme-generator-for-helm ------------------------------------------------------------------


def readme_generator() -> Path:
    """The pinned readme-generator (charts/tools/package-lock.json), installed once per lock into the cache."""
    lock = (TOOLS / "package-lock.json").read_bytes()
    target = CACHE / hashlib.sha256(lock).hexdigest()[:16]
    script = target / "node_modules" / "@bitnami" / "readme-generator-for-helm" / "bin" / "index.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is needed to install readme-generator-for-helm (charts/tools/package.json)")
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(TOOLS / name, target / name)
        subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=target, check=True)
    return script


def readme(chart: Path, script: Path) -> str:
    """The chart's README.md with its Parameters tables regenerated from its values.yaml."""
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / "README.md"
        shutil.copy(chart / "README.md", copy)
        node = shutil.which("node") or "node"
        result = subprocess.run(
            [node, str(script), "--values", str(chart / "values.yaml"), "--readme", str(copy)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            errors = [line for line in result.stdout.splitlines() + result.stderr.splitlines() if "ERROR" in line]
            raise SystemExit(f"{chart.relative_to(CHARTS.parent)}/values.yaml:\n" + "\n".join(errors))
        return copy.read_text()


# --- main ----------------------------------------------------------------------------------------------------------


def charts() -> Iterator[Path]:
    """Every chart with values (the library has none)."""
    for manifest in sorted(CHARTS.glob("**/Chart.yaml")):
        if (manifest.parent / "values.yaml").exists():
            yield manifest.parent


def outputs() -> dict[Path, str]:
    """Every generated file and its expected content."""
    script = readme_generator()
    result: dict[Path, str] = {}
    for chart in charts():
        result[chart / "values.schema.json"] = json.dumps(chart_schema(chart), indent=2) + "\n"
        result[chart / "README.md"] = readme(chart, script)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, content in outputs().items():
        if path.exists() and path.read_text() == content:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(content)
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(CHARTS.parent)}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
