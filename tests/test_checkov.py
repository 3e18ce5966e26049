"""Checkov's Kubernetes checks on the manifests every example stack renders: no failure outside the allowlist.

The allowlist (tests/checkov-allowlist.yaml) says why each accepted failure is not a defect of the charts; a
failure that is a defect is fixed in the chart instead. Checkov runs offline (--skip-download) from the dev
requirements, as the `checkov` executable next to this interpreter.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import STACKS, ExampleStacks

ALLOWLIST_FILE = Path(__file__).with_name("checkov-allowlist.yaml")
CHECKOV = Path(sys.executable).with_name("checkov")  # not resolved: the venv's bin/, not the base interpreter's
CHECK_ID = re.compile(r"^CKV2?_K8S_\d+$")
CHECKOV_TIMEOUT_S = 300


@dataclass(frozen=True)
class Failure:
    check_id: str
    check_name: str
    resource: str  # Kind.namespace.name
    stack: str
    file: str  # <namespace>/<release>.yaml


@dataclass(frozen=True)
class Allowed:
    check_id: str
    resource: str  # glob
    reason: str

    def covers(self, failure: Failure) -> bool:
        return failure.check_id == self.check_id and fnmatchcase(failure.resource, self.resource)


@dataclass(frozen=True)
class Scan:
    failures: list[Failure]
    summary: dict[str, Any]
    documents: int  # Kubernetes objects in the scanned manifests


def load_allowlist() -> list[Allowed]:
    entries = yaml.safe_load(ALLOWLIST_FILE.read_text())
    assert isinstance(entries, list), f"{ALLOWLIST_FILE.name}: a list of {{check_id, resource, reason}}"
    allowed = []
    for index, entry in enumerate(entries):
        where = f"{ALLOWLIST_FILE.name}[{index}]"
        assert isinstance(entry, dict) and set(entry) == {"check_id", "resource", "reason"}, (
            f"{where}: exactly check_id, resource (glob) and reason"
        )
        assert all(isinstance(v, str) and v.strip() for v in entry.values()), f"{where}: non-empty strings"
        assert CHECK_ID.match(entry["check_id"]), f"{where}: {entry['check_id']!r} is not a Kubernetes check id"
        assert len(entry["reason"].split()) >= 8, f"{where}: say why the chart is right (a sentence at least)"
        allowed.append(Allowed(entry["check_id"], entry["resource"], entry["reason"]))
    return allowed


def run_checkov(directory: Path) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(
            f"checkov is not installed ({CHECKOV} does not exist): install the dev requirements "
            "(requirements-dev.txt; ./test.sh does it) to run the manifest security checks"
        )
    command = [
        str(CHECKOV),
        "-d",
        str(directory),
        "--framework",
        "kubernetes",
        "--output",
        "json",
        "--quiet",
        "--compact",
        "--skip-download",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=CHECKOV_TIMEOUT_S)
    # checkov exits 1 when a check fails; anything else (or no JSON) is checkov itself failing.
    assert result.returncode in (0, 1), f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}"
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON report:\n{result.stdout[:2000]}\n{result.stderr[-2000:]}")
    assert isinstance(report, dict) and report.get("check_type") == "kubernetes", (
        f"checkov found no Kubernetes manifests in {directory}: {report}"
    )
    return report


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory, example_stacks: ExampleStacks) -> Scan:
    """Every stack in stacks/ as rendered, gathered as <stack>/<namespace>/<release>.yaml, scanned with one checkov
    run."""
    manifests = tmp_path_factory.mktemp("checkov") / "manifests"
    manifests.mkdir()
    documents = 0
    for stack_file in STACKS:
        stack = example_stacks[stack_file]
        shutil.copytree(stack.out / "manifests", manifests / stack.name)
        documents += sum(len(docs) for docs in stack.manifests.values())
    report = run_checkov(manifests)
    failures = []
    for result in report["results"]["failed_checks"]:
        stack, file = result["file_path"].strip("/").split("/", 1)
        failures.append(Failure(result["check_id"], result["check_name"], result["resource"], stack, file))
    return Scan(failures, report["summary"], documents)


def test_checkov_read_every_manifest(scan: Scan) -> None:
    assert scan.documents, "the stacks rendered no manifests"
    assert scan.summary["parsing_errors"] == 0, scan.summary
    assert scan.summary["resource_count"] >= scan.documents, scan.summary


def test_no_failed_check_outside_the_allowlist(scan: Scan) -> None:
    allowlist = load_allowlist()
    where: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for f in scan.failures:
        if not any(entry.covers(f) for entry in allowlist):
            namespace, release = f.file.split("/", 1)
            where[(f.check_id, f.resource, release, f.check_name)].add(f"{f.stack}:{namespace}")
    if where:
        pytest.fail(
            f"checkov {scan.summary['checkov_version']}: failed checks not in {ALLOWLIST_FILE.name}; fix the chart "
            "(or, if the chart is right, allowlist them with the reason):\n"
            + "\n".join(
                f"  {check_id} {resource} in {release} ({name}); in {', '.join(sorted(places))}"
                for (check_id, resource, release, name), places in sorted(where.items())
            ),
            pytrace=False,
        )


def test_every_allowlist_entry_is_still_needed(scan: Scan) -> None:
    unused = [entry for entry in load_allowlist() if not any(entry.covers(f) for f in scan.failures)]
    assert not unused, "allowlist entries that match no failure any more (delete them): " + ", ".join(
        f"{entry.check_id} {entry.resource}" for entry in unused
    )
