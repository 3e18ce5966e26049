"""PriorityClasses: data services above web pods, web above workers, workers above Jobs; every pod of every example
stack names the class of its kind, and the instances wait for the classes to exist."""

from __future__ import annotations

from typing import Any

from tests.conftest import STACKS, ExampleStacks, inputs, of_type

PRIORITY_CLASS = "kubernetes:scheduling.k8s.io/v1:PriorityClass"
RELEASE = "kubernetes:helm.sh/v3:Release"


def test_classes_rank_data_then_web_then_workers_then_jobs(evaluate_stack) -> None:
    recording = evaluate_stack(config={"openedx:platform": {"tls": {"issuer": "none"}}, "openedx:instances": [
        {"name": "demo", "lmsHost": "learn.example.org"}, {"name": "other", "lmsHost": "other.example.org"}]})
    classes = {inputs(r)["metadata"]["name"]: inputs(r) for r in of_type(recording, PRIORITY_CLASS)}
    assert list(sorted(classes, key=lambda name: -classes[name]["value"])) == [
        "openedx-data", "openedx-web", "openedx-worker", "openedx-job"]
    assert all(0 < c["value"] < 1_000_000_000 for c in classes.values())  # below the system classes
    assert not any(c.get("globalDefault") for c in classes.values())
    # A Job waits for room rather than evicting a learner's request.
    assert {name: c["preemptionPolicy"] for name, c in classes.items()} == {
        "openedx-data": "PreemptLowerPriority", "openedx-web": "PreemptLowerPriority",
        "openedx-worker": "PreemptLowerPriority", "openedx-job": "Never"}
    classes_urns = {r.urn for r in of_type(recording, PRIORITY_CLASS)}
    foundations = [r for r in of_type(recording, RELEASE) if r.name.endswith("-foundation")]
    assert len(foundations) == 2 and all(classes_urns <= set(r.depends_on) for r in foundations)


def expected_class(kind: str, name: str) -> str:
    if kind == "StatefulSet":
        return "openedx-data"
    if kind in ("Job", "CronJob"):
        return "openedx-job"
    return "openedx-worker" if "-worker" in name else "openedx-web"


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
        return doc["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return None


def test_every_instance_pod_names_the_class_of_its_kind(example_stacks: ExampleStacks) -> None:
    for stack_file in STACKS:
        seen = set()
        for path, docs in example_stacks[stack_file].manifests.items():
            if path.parent.name == "openedx-system":
                continue
            for doc in docs:
                spec = pod_spec(doc)
                if spec is None:
                    continue
                name = doc["metadata"]["name"]
                assert spec.get("priorityClassName") == expected_class(doc["kind"], name), (
                    f"{stack_file.stem}: {path.parent.name}/{doc['kind']}/{name}")
                seen.add(spec["priorityClassName"])
        assert "openedx-web" in seen and "openedx-job" in seen, stack_file.stem
