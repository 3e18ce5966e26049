"""Each instance's ResourceQuota and LimitRange against what its rendered charts run (every example stack): the
quota holds every pod at its workloads' maximum, one surge pod per Deployment and Jobs beside them, yet stays
close to that, so it protects the neighbours; the LimitRange admits every container the charts create."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import STACKS, ExampleStacks

UNITS = {"m": Decimal("0.001"), "": Decimal(1), "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30),
         "Ti": Decimal(2**40), "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9)}
JOB_HEADROOM = {"requests.cpu": Decimal(2), "requests.memory": Decimal(5 * 2**30), "limits.cpu": Decimal(8),
                "limits.memory": Decimal(12 * 2**30)}
"""What the quota may hold beyond the workloads at their maximum: Jobs (an init task, a backup and its verification,
two commands, the settings pruner) and cert-manager's solver pods. Written here, not read from the program."""


def quantity(value: Any) -> Decimal:
    text = str(value)
    number = text.rstrip("mkKMGTi")
    return Decimal(number) * UNITS[text[len(number):]]


def pod_specs(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
        yield doc["spec"]["template"]["spec"]
    elif doc["kind"] == "CronJob":
        yield doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def namespaces(example_stacks: ExampleStacks) -> Iterator[tuple[str, dict[str, list[dict[str, Any]]]]]:
    for stack_file in STACKS:
        by_namespace: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for path, docs in example_stacks[stack_file].manifests.items():
            if path.parent.name.startswith("openedx-") and path.parent.name != "openedx-system":
                by_namespace.setdefault(f"{stack_file.stem}/{path.parent.name}", {})[path.stem] = docs
        yield from by_namespace.items()


@pytest.fixture(scope="module")
def rendered(example_stacks: ExampleStacks) -> dict[str, dict[str, list[dict[str, Any]]]]:
    return dict(namespaces(example_stacks))


def at_maximum(releases: dict[str, list[dict[str, Any]]]) -> dict[str, Decimal]:
    """Requests and limits of every Deployment at its HPA's maximum (or its replicas) plus one surge pod, and of
    every StatefulSet's pod; pods and claims counted too."""
    docs = [doc for release in ("openedx-services", "openedx") for doc in releases.get(release, [])]
    maximum = {hpa["spec"]["scaleTargetRef"]["name"]: hpa["spec"]["maxReplicas"]
               for hpa in docs if hpa["kind"] == "HorizontalPodAutoscaler"}
    totals = {key: Decimal(0) for key in ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods")}
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pods = (maximum.get(doc["metadata"]["name"], doc["spec"].get("replicas", 1)) + 1
                if doc["kind"] == "Deployment" else 1)
        totals["pods"] += pods
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for kind in ("requests", "limits"):
                for name in ("cpu", "memory"):
                    totals[f"{kind}.{name}"] += pods * quantity(container["resources"][kind][name])
    return totals


def test_every_instance_fits_its_quota_at_its_maximum_and_no_more(rendered) -> None:
    for namespace, releases in rendered.items():
        (quota,) = [d for d in releases["openedx-namespace"] if d["kind"] == "ResourceQuota"]
        hard = {key: quantity(value) for key, value in quota["spec"]["hard"].items()}
        needed = at_maximum(releases)
        for key, used in needed.items():
            assert used <= hard[key], f"{namespace}: {key} {used} needed at the maximum, quota {hard[key]}"
            if key in JOB_HEADROOM:
                assert hard[key] <= used + JOB_HEADROOM[key], f"{namespace}: {key} quota {hard[key]}, far above {used}"
        assert hard["pods"] <= needed["pods"] + 10, namespace


def test_every_claim_fits_the_storage_quota(rendered) -> None:
    for namespace, releases in rendered.items():
        (quota,) = [d for d in releases["openedx-namespace"] if d["kind"] == "ResourceQuota"]
        hard = quota["spec"]["hard"]
        claims = [template["spec"]["resources"]["requests"]["storage"]
                  for doc in releases.get("openedx-services", []) if doc["kind"] == "StatefulSet"
                  for template in doc["spec"].get("volumeClaimTemplates", [])]
        claims += [doc["spec"]["resources"]["requests"]["storage"]
                   for doc in releases.get("openedx-services", []) if doc["kind"] == "PersistentVolumeClaim"]
        assert len(claims) == int(hard["persistentvolumeclaims"]), namespace
        assert sum(map(quantity, claims)) == quantity(hard["requests.storage"]), namespace


def test_the_limit_range_admits_every_container_the_charts_create(rendered) -> None:
    for namespace, releases in rendered.items():
        (limits,) = [d for d in releases["openedx-namespace"] if d["kind"] == "LimitRange"]
        maximum = limits["spec"]["limits"][0]["max"]
        largest = {"cpu": Decimal(0), "memory": Decimal(0)}
        for docs in releases.values():
            for doc in docs:
                for spec in pod_specs(doc):
                    for container in [*spec.get("initContainers", []), *spec["containers"]]:
                        for name in largest:
                            limit = quantity(container["resources"]["limits"][name])
                            assert limit <= quantity(maximum[name]), (
                                f"{namespace}: {doc['kind']}/{doc['metadata']['name']} {container['name']} "
                                f"{name} limit {limit} above the LimitRange's {maximum[name]}")
                            largest[name] = max(largest[name], limit)
        # The max is the largest container's: no container may be bigger than what the instance was sized for.
        assert largest == {name: quantity(maximum[name]) for name in largest}, namespace
