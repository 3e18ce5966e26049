"""Upgrading the program itself: the `e2e` stack deployed by the previous commit, then `up` with this checkout.

The previous commit is `HEAD~1` when the working tree is clean (CI's checkout of main), else `HEAD` (the commit a
developer's changes apply to); `OPENEDX_E2E_UPGRADE_FROM` names another. Its files are exported with
`git archive` and run with this checkout's virtualenv, on the same state backend. Nothing that holds data may be
replaced: the namespaces (and their volumes), the claims, the Secret with the generated credentials, the
generated passwords and keys in the stack's state.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from components.charts import PROJECT_DIR
from tests.e2e.conftest import SERVICES_CREDENTIALS, STACK, Cluster, Completed

NAMESPACES = ("openedx-demo", "openedx-sandbox")
# Operations that would lose what a resource holds: a replacement deletes the old object, a deletion the object.
DESTRUCTIVE = {"replace", "create-replacement", "delete-replaced", "delete", "discard", "discard-replaced"}
# What a generated credential or key is in the state, and the objects on the cluster that hold data.
GENERATED = ("random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString",
             "tls:index/privateKey:PrivateKey")
DATA = ("kubernetes:core/v1:Namespace", "kubernetes:core/v1:PersistentVolumeClaim")


def holds_data(urn: str) -> bool:
    """A generated credential or key, a namespace or claim, or the Secret holding the data services' passwords."""
    kind = urn.split("::")[2].rsplit("$", 1)[-1]
    return kind in (*GENERATED, *DATA) or urn.endswith("-services-credentials")


def previous_commit() -> str:
    if from_env := os.environ.get("OPENEDX_E2E_UPGRADE_FROM"):
        return from_env
    dirty = git("status", "--porcelain", "--untracked-files=no").strip()
    return "HEAD" if dirty else "HEAD~1"


def git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(PROJECT_DIR), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"git {' '.join(args)}: {done.stderr.strip()} (the upgrade test needs the repository's history: "
                    "a clone, not a shallow or exported copy)", pytrace=False)
    return done.stdout


def export(commit: str, into: Path) -> Path:
    """The commit's files in `into`, running with this checkout's virtualenv."""
    archive = subprocess.run(["git", "-C", str(PROJECT_DIR), "archive", "--format=tar", commit],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "venv").symlink_to(PROJECT_DIR / "venv")
    return into


def data_holders(cluster: Cluster) -> dict[str, str]:
    """`namespace/kind/name` → uid of every namespace, volume claim and credentials Secret of the instances."""
    holders = {}
    for namespace in NAMESPACES:
        holders[f"{namespace}"] = cluster.kubectl("get", "namespace", namespace)["metadata"]["uid"]
        for item in cluster.items("persistentvolumeclaims", namespace):
            holders[f"{namespace}/pvc/{item['metadata']['name']}"] = item["metadata"]["uid"]
        secret = cluster.kubectl("get", "secret", SERVICES_CREDENTIALS, "-n", namespace)
        holders[f"{namespace}/secret/{SERVICES_CREDENTIALS}"] = secret["metadata"]["uid"] + json.dumps(secret["data"])
    return holders


def generated(cluster: Cluster) -> dict[str, Any]:
    """Each generated credential or key in the stack's state: its URN → its id and outputs."""
    exported = json.loads(cluster.pulumi("stack", "export", "--show-secrets").output)
    return {r["urn"]: (r.get("id"), r.get("outputs")) for r in exported["deployment"]["resources"]
            if r["type"] in GENERATED}


def resolve(revision: str) -> str:
    """The commit's short hash; a shallow clone is deepened by one commit first when it lacks it."""
    found = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "--short", "--verify", "--quiet",
                            f"{revision}^{{commit}}"], capture_output=True, text=True, check=False)
    if found.returncode != 0 and git("rev-parse", "--is-shallow-repository").strip() == "true":
        git("fetch", "--quiet", "--deepen=1")
    return git("rev-parse", "--short", "--verify", f"{revision}^{{commit}}").strip()


@pytest.fixture(scope="module")
def previous(cluster: Cluster) -> tuple[str, Completed]:
    commit = resolve(previous_commit())
    checkout = export(commit, cluster.directory / f"previous-{commit}")
    done = cluster.run("./deploy.sh", STACK, "--yes", cwd=checkout)
    cluster.durations[f"up of {commit}"] = done.seconds
    if done.returncode != 0:
        pytest.fail(f"the previous commit {commit} did not deploy:\n{done}", pytrace=False)
    return commit, done


def test_an_upgrade_replaces_nothing_that_holds_data(cluster: Cluster, previous: tuple[str, Completed]) -> None:
    commit, _ = previous
    holders, credentials = data_holders(cluster), generated(cluster)
    assert credentials, "the state holds no generated credential"

    preview = cluster.pulumi("preview", "--json")
    assert preview.returncode == 0, preview
    steps = json.loads(preview.output)["steps"]
    changes = sorted((step["op"], step["urn"].rsplit("::", 1)[-1]) for step in steps if step["op"] != "same")
    print(f"the upgrade from {commit}: {changes}")  # the diff, for the report
    destructive = [(step["op"], step["urn"]) for step in steps if step["op"] in DESTRUCTIVE and holds_data(step["urn"])]
    assert not destructive, destructive

    done = cluster.run("./deploy.sh", STACK, "--yes")
    cluster.durations["upgrade up"] = done.seconds
    assert done.returncode == 0, done
    assert data_holders(cluster) == holders, "a namespace, claim or credentials Secret was replaced"
    assert generated(cluster) == credentials, "a generated credential changed"
    again = cluster.run("./deploy.sh", STACK, "--yes", "--expect-no-changes")
    assert again.returncode == 0, again


def test_destroy_after_the_upgrade(cluster: Cluster, previous: tuple[str, Completed]) -> None:
    done = cluster.pulumi("destroy", "--yes", "--skip-preview")
    assert done.returncode == 0, done
