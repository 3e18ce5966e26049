"""`./deploy.sh e2e` for real: the Pulumi engine, its providers and a Kubernetes API server with admission on.

The `e2e` stack (stacks/Pulumi.e2e.yaml) deploys two instances: `demo` with the default plugins and `sandbox`
with `mfe`, `notes` and `credentials` (two plugins that add services of their own). The tests run in this order
and share the deployment: first `up`, what the cluster holds, a no-op `up` and `preview`, then `destroy`.
Expectations come from the cluster, never from the program.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json
import re
import shutil
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.charts import APP_CHART, LIBRARY_CHART, NAMESPACE_CHART, PROJECT_DIR, SERVICES_CHART, package
from tests.e2e.conftest import SERVICES_CREDENTIALS, SETTINGS_LABEL, STACK, Cluster, Completed, scheduled, timestamp
from tests.test_bad_configs import END_TO_END_CASE, expectations

NAMESPACES = {"demo": "openedx-demo", "sandbox": "openedx-sandbox"}
HOSTS = {"demo": "demo.e2e.openedx.test", "sandbox": "sandbox.e2e.openedx.test"}
RELEASES = ("openedx-namespace", "openedx-services", "openedx")
# The application's Deployments (the `mfe` plugin adds the micro-frontends, `notes` and `credentials` their
# services) and the data services' StatefulSets.
APPLICATION = {"lms", "lms-worker", "cms", "cms-worker", "caddy", "mfe"}
DEPLOYMENTS = {"demo": APPLICATION, "sandbox": APPLICATION | {"notes", "credentials"}}
PLUGIN_HOSTS = {"demo": set(), "sandbox": {"notes.sandbox.e2e.openedx.test", "credentials.sandbox.e2e.openedx.test"}}
STATEFULSETS = {"mysql", "mongodb", "redis", "meilisearch", "smtp"}
ROOT_PASSWORDS = ("mysql-root-password", "mongodb-root-password")


# --- the first `up` ------------------------------------------------------------------------------------------------


STALE_PART_OF = "stale-openedx-lib"


def plant_stale_library(work: Path) -> None:
    """Put an outdated copy of the library in each chart's charts/ folder, as an earlier run leaves one: its
    objects would be labelled part-of `STALE_PART_OF`."""
    stale = work / "openedx-lib"
    shutil.copytree(PROJECT_DIR / LIBRARY_CHART, stale)
    labels = stale / "templates" / "_labels.tpl"
    labels.write_text(labels.read_text().replace('"app.kubernetes.io/part-of" "openedx"',
                                                 f'"app.kubernetes.io/part-of" "{STALE_PART_OF}"'))
    version = yaml.safe_load((stale / "Chart.yaml").read_text())["version"]
    for chart in (NAMESPACE_CHART, SERVICES_CHART, APP_CHART):
        (PROJECT_DIR / chart / "charts").mkdir(exist_ok=True)
        (PROJECT_DIR / chart / "charts" / f"openedx-lib-{version}.tgz").write_bytes(package(stale))


@pytest.fixture(scope="module")
def first_up(cluster: Cluster) -> Completed:
    plant_stale_library(cluster.directory)
    done = cluster.run("./deploy.sh", STACK, "--yes")
    cluster.durations["first up"] = done.seconds
    return done


@pytest.fixture
def deployed(first_up: Completed) -> Completed:
    """The first `up`, which every check of the cluster's content needs to have succeeded."""
    if first_up.returncode != 0:
        pytest.fail("the first `up` failed (see test_first_up_succeeds)", pytrace=False)
    return first_up


def test_first_up_succeeds(cluster: Cluster, first_up: Completed) -> None:
    assert first_up.returncode == 0, first_up


def test_deploy_leaves_no_credential_behind(cluster: Cluster, deployed: Completed) -> None:
    """The Kubernetes provider writes a copy of the kubeconfig to $TMPDIR whenever it is configured and never
    removes it: `deploy.sh` gives each run a private TMPDIR and removes it."""
    assert not list((cluster.directory / "tmp").iterdir())


def test_the_releases_render_the_current_library(cluster: Cluster, deployed: Completed) -> None:
    """The stale library copy planted before the first `up` never reaches the cluster (the provider would have
    kept it: it packages a dependency only when none is there)."""
    kinds = "deployments,statefulsets,jobs,services,networkpolicies,resourcequotas"
    part_of = {item["metadata"]["labels"].get("app.kubernetes.io/part-of")
               for namespace in NAMESPACES.values() for item in cluster.items(kinds, namespace)}
    assert part_of == {"openedx"}


def test_every_release_is_deployed(cluster: Cluster, deployed: Completed) -> None:
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for secret in cluster.items("secrets", selector="owner=helm"):
        labels = secret["metadata"]["labels"]
        key = (secret["metadata"]["namespace"], labels["name"])
        latest[key] = max(latest.get(key, (0, "")), (int(labels["version"]), labels["status"]))
    assert {key: status for key, (_, status) in latest.items()} == {
        (namespace, release): "deployed" for namespace in NAMESPACES.values() for release in RELEASES
    }


def test_every_workload_is_available(cluster: Cluster, deployed: Completed) -> None:
    for instance, namespace in NAMESPACES.items():
        deployments = {d["metadata"]["name"]: d for d in cluster.items("deployments", namespace)}
        assert set(deployments) == DEPLOYMENTS[instance], instance
        for name, deployment in deployments.items():
            status = deployment["status"]
            conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
            assert conditions.get("Available") == "True", f"{namespace}/{name}: {status}"
            assert status.get("availableReplicas") == deployment["spec"]["replicas"], f"{namespace}/{name}: {status}"
        statefulsets = {s["metadata"]["name"]: s for s in cluster.items("statefulsets", namespace)}
        assert set(statefulsets) == STATEFULSETS, instance
        for name, statefulset in statefulsets.items():
            status = statefulset["status"]
            assert status.get("readyReplicas") == statefulset["spec"]["replicas"], f"{namespace}/{name}: {status}"
        claims = cluster.items("persistentvolumeclaims", namespace)
        assert claims and all(c["status"]["phase"] == "Bound" for c in claims), [
            (c["metadata"]["name"], c["status"]["phase"]) for c in claims]


def test_plugin_services_run_behind_their_own_hosts(cluster: Cluster, deployed: Completed) -> None:
    """A plugin's service: its Deployment mounts its settings file from the instance's settings Secret, its Service
    is the name Tutor's settings call on port 8000, and the Ingress (and its certificate) carry its host."""
    for instance, namespace in NAMESPACES.items():
        (ingress,) = cluster.items("ingresses", namespace)
        hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
        assert PLUGIN_HOSTS[instance] <= hosts, hosts
        assert PLUGIN_HOSTS[instance] <= set(ingress["spec"]["tls"][0]["hosts"])
        services = {service["metadata"]["name"]: service for service in cluster.items("services", namespace)}
        for name in DEPLOYMENTS[instance] - APPLICATION:
            assert [port["port"] for port in services[name]["spec"]["ports"]] == [8000], name
            deployment = next(d for d in cluster.items("deployments", namespace) if d["metadata"]["name"] == name)
            pod = deployment["spec"]["template"]["spec"]
            (container,) = pod["containers"]
            assert f"overhangio/openedx-{name}:" in container["image"]
            secrets = [v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v]
            assert any(secret.startswith("openedx-settings-") for secret in secrets), pod["volumes"]


def _init_jobs(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    jobs = cluster.items("jobs", namespace, selector="app.kubernetes.io/component=init")
    return sorted(jobs, key=lambda j: int(j["metadata"]["annotations"]["helm.sh/hook-weight"]))


def _script(cluster: Cluster, job: dict[str, Any]) -> str:
    """The init script a Job runs: the item of its `init-task` volume, read from the Secret it names."""
    (volume,) = [v["secret"] for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "init-task"]
    (item,) = volume["items"]
    secret = cluster.kubectl("get", "secret", volume["secretName"], "-n", job["metadata"]["namespace"])
    return base64.b64decode(secret["data"][item["key"]]).decode()


# Tutor's order, each step recognised by the command that makes it: the LMS's migrations, then Studio's, then
# the plugins' tasks in their load order (credentials: its OAuth clients, its migrations, the copy of the LMS's
# users; forum; MFE; notes: its OAuth client, its migrations), then the Site the program's own plugin sets last.
TUTOR_ORDER = ("./manage.py lms migrate", "./manage.py cms migrate", "--client-id credentials-key ",
               "credentials service - ./manage.py migrate", "core_user", "initialize_forum_indices",
               "learner_home_mfe.enabled", "--client-id notes", "from notesapi.v1.views.meilisearch import reindex",
               "django.contrib.sites")
PLUGIN_STEPS = {"--client-id credentials-key ", "credentials service - ./manage.py migrate", "core_user",
                "--client-id notes", "from notesapi.v1.views.meilisearch import reindex"}
EXPECTED_STEPS = {"demo": tuple(s for s in TUTOR_ORDER if s not in PLUGIN_STEPS),
                  "sandbox": tuple(s for s in TUTOR_ORDER if s != "initialize_forum_indices")}
# The image each plugin step runs in: its service's own, and the MySQL client for the copy of the users.
STEP_IMAGES = {"credentials service - ./manage.py migrate": "overhangio/openedx-credentials:",
               "core_user": "mysql:", "from notesapi.v1.views.meilisearch import reindex": "overhangio/openedx-notes:"}


def test_init_jobs_ran_in_order_before_the_application(cluster: Cluster, deployed: Completed) -> None:
    for instance, namespace in NAMESPACES.items():
        jobs = _init_jobs(cluster, namespace)
        scripts = [_script(cluster, job) for job in jobs]
        steps = [step for step in TUTOR_ORDER if any(step in script for script in scripts)]
        assert tuple(steps) == EXPECTED_STEPS[instance], f"{namespace}: the init tasks hold {steps}"
        order = [next(i for i, script in enumerate(scripts) if step in script) for step in steps]
        assert order == sorted(order), f"{namespace}: steps {steps} ran in the order {order}"
        for job in jobs:
            conditions = {c["type"]: c["status"] for c in job["status"].get("conditions", [])}
            assert conditions.get("Complete") == "True", f"{namespace}/{job['metadata']['name']}: {job['status']}"
        for step, image in STEP_IMAGES.items():
            for job, script in zip(jobs, scripts, strict=True):
                if step in script:
                    (container,) = job["spec"]["template"]["spec"]["containers"]
                    assert image in container["image"], f"{namespace}: {step!r} runs in {container['image']}"
        for before, after in itertools.pairwise(jobs):
            assert timestamp(before["status"]["completionTime"]) <= timestamp(after["status"]["startTime"]), (
                f"{after['metadata']['name']} started before {before['metadata']['name']} completed")
        last = max(timestamp(job["status"]["completionTime"]) for job in jobs)
        for deployment in cluster.items("deployments", namespace):
            created = timestamp(deployment["metadata"]["creationTimestamp"])
            assert created >= last, f"{namespace}/{deployment['metadata']['name']} created before the init Jobs ended"


def test_no_pod_was_refused_by_admission(cluster: Cluster, deployed: Completed) -> None:
    refused = [
        f"{e['involvedObject']['namespace']}/{e['involvedObject']['name']}: {e['message']}"
        for e in cluster.items("events")
        if e["reason"] == "FailedCreate" or "forbidden" in e.get("message", "")
    ]
    assert not refused, "\n".join(refused)
    # Pod Security `warn` answers with warnings, which the provider prints: none may appear.
    assert "violate PodSecurity" not in deployed.output


_SUFFIXES = {"m": Decimal("0.001"), "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9),
             "T": Decimal(10**12), "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30),
             "Ti": Decimal(2**40)}


def quantity(value: str) -> Decimal:
    number, suffix = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", value).groups()  # type: ignore[union-attr]
    return Decimal(number) * _SUFFIXES.get(suffix, Decimal(1))


def _container_total(pods: list[dict[str, Any]], kind: str, name: str) -> Decimal:
    return sum((quantity(c.get("resources", {}).get(kind, {}).get(name, "0"))
                for p in pods for c in p["spec"]["containers"]), Decimal(0))


def test_each_instance_pods_fit_its_quota(cluster: Cluster, deployed: Completed) -> None:
    """What the instance runs, added up from its pods and claims, stays within every limit of its quota."""
    for namespace in NAMESPACES.values():
        quotas = cluster.items("resourcequotas", namespace)
        assert quotas, f"{namespace} has no ResourceQuota"
        pods = [p for p in cluster.items("pods", namespace) if p["status"].get("phase") not in ("Succeeded", "Failed")]
        claims = cluster.items("persistentvolumeclaims", namespace)
        used = {
            "pods": Decimal(len(pods)),
            "persistentvolumeclaims": Decimal(len(claims)),
            "requests.storage": sum((quantity(c["spec"]["resources"]["requests"]["storage"]) for c in claims),
                                    Decimal(0)),
            **{f"{kind}.{name}": _container_total(pods, kind, name)
               for kind in ("requests", "limits") for name in ("cpu", "memory")},
        }
        for quota in quotas:
            hard = quota["spec"]["hard"]
            assert set(hard) <= set(used), f"{namespace}: no check for {set(hard) - set(used)}"
            for resource, limit in hard.items():
                assert used[resource] <= quantity(limit), f"{namespace}: {resource} {used[resource]} > {limit}"


PRIORITIES = {"openedx-data": 100000, "openedx-web": 50000, "openedx-worker": 20000, "openedx-job": 10000}


def test_pods_run_at_the_priority_of_their_kind(cluster: Cluster, deployed: Completed) -> None:
    """The API server resolved each pod's class to its value: data services above web pods above workers above
    Jobs, and Jobs never preempt."""
    classes = {c["metadata"]["name"]: c for c in cluster.items("priorityclasses")
               if c["metadata"]["name"] in PRIORITIES}
    assert {name: c["value"] for name, c in classes.items()} == PRIORITIES
    assert classes["openedx-job"]["preemptionPolicy"] == "Never"
    for namespace in NAMESPACES.values():
        for pod in cluster.items("pods", namespace):
            owner = pod["metadata"].get("ownerReferences", [{}])[0].get("kind")
            name = pod["metadata"]["labels"].get("app.kubernetes.io/name", "")
            expected = ("openedx-data" if owner == "StatefulSet" else "openedx-job" if owner == "Job"
                        else "openedx-worker" if "-worker" in name else "openedx-web")
            assert (pod["spec"].get("priorityClassName"), pod["spec"].get("priority")) == (
                expected, PRIORITIES[expected]), f"{namespace}/{pod['metadata']['name']}"


def test_web_pods_keep_serving_while_they_leave_and_data_pods_stay_put(cluster: Cluster, deployed: Completed) -> None:
    """The API server kept the kubelet's preStop sleep (Kubernetes 1.30+) of every web pod, within its grace
    period; node autoscalers may not move a data service's pod."""
    for namespace in NAMESPACES.values():
        for deployment in cluster.items("deployments", namespace):
            spec = deployment["spec"]["template"]["spec"]
            (container,) = spec["containers"]
            name = deployment["metadata"]["name"]
            if "-worker" in name:
                assert "lifecycle" not in container and spec["terminationGracePeriodSeconds"] >= 300, name
                continue
            assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 10}}}, f"{namespace}/{name}"
            assert spec["terminationGracePeriodSeconds"] > 10
            assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        for statefulset in cluster.items("statefulsets", namespace):
            annotations = statefulset["spec"]["template"]["metadata"]["annotations"]
            assert annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
            assert annotations["karpenter.sh/do-not-disrupt"] == "true"


def test_admission_is_enforced(cluster: Cluster, deployed: Completed) -> None:
    """The checks above mean something only if the API server applies the namespace's rules: it refuses what
    breaks them (Pod Security, ResourceQuota) and completes what leaves things out (LimitRange, ServiceAccount)."""
    namespace = NAMESPACES["demo"]

    def dry_run(kind: str, name: str, spec: dict[str, Any]) -> Completed:
        manifest = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}
        return cluster.run("kubectl", "create", "--dry-run=server", "-o", "json", "-f", "-", stdin=json.dumps(manifest))

    privileged = dry_run("Pod", "privileged", {"containers": [
        {"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]})
    assert privileged.returncode != 0 and "violates PodSecurity" in privileged.output, privileged
    greedy = dry_run("PersistentVolumeClaim", "greedy", {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Ti"}}})
    assert greedy.returncode != 0 and "exceeded quota" in greedy.output, greedy

    restricted = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    container = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    plain = dry_run("Pod", "plain", {"securityContext": restricted, "containers": [
        {"name": "c", "image": "busybox", "securityContext": container}]})
    assert plain.returncode == 0, plain
    pod = json.loads(plain.output)
    (limits,) = [item["spec"]["limits"][0] for item in cluster.items("limitranges", namespace)]
    assert pod["spec"]["containers"][0]["resources"] == {"limits": limits["default"],
                                                         "requests": limits["defaultRequest"]}
    assert pod["spec"]["serviceAccountName"] == "default"


def test_settings_secret_is_immutable_and_named_by_its_content(cluster: Cluster, deployed: Completed) -> None:
    for namespace in NAMESPACES.values():
        (secret,) = cluster.items("secrets", namespace, selector=SETTINGS_LABEL)
        assert secret.get("immutable") is True
        data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        assert secret["metadata"]["name"] == f"openedx-settings-{hashlib.sha256(canonical.encode()).hexdigest()[:10]}"
        mounted = {volume["secret"]["secretName"]
                   for d in cluster.items("deployments", namespace) if d["metadata"]["name"] != "caddy"
                   for volume in d["spec"]["template"]["spec"].get("volumes", []) if "secret" in volume}
        assert secret["metadata"]["name"] in mounted, f"{namespace}: no Deployment mounts {secret['metadata']['name']}"


def _texts(cluster: Cluster, namespace: str) -> dict[str, str]:
    """Every Secret and ConfigMap value of a namespace, decoded, by `kind/name/key`."""
    found = {}
    for kind in ("secrets", "configmaps"):
        for item in cluster.items(kind, namespace):
            for key, value in (item.get("data") or {}).items():
                text = base64.b64decode(value).decode(errors="replace") if kind == "secrets" else value
                found[f"{kind}/{item['metadata']['name']}/{key}"] = text
    return found


def test_no_admin_credential_in_any_instance_namespace(cluster: Cluster, deployed: Completed) -> None:
    kubeconfig = yaml.safe_load((cluster.directory / "kubeconfig").read_text())
    admin = []
    for user in kubeconfig["users"]:
        for field in ("client-key", "client-certificate"):
            if f"{field}-data" in user["user"]:
                admin.append(base64.b64decode(user["user"][f"{field}-data"]).decode())
            elif field in user["user"]:
                admin.append(Path(user["user"][field]).read_text())
    assert admin, "the kit's kubeconfig has no client credentials to look for"
    for namespace in NAMESPACES.values():
        texts = _texts(cluster, namespace)
        for where, text in texts.items():
            assert not any(credential.strip() in text for credential in admin), f"cluster admin credential in {where}"
        # The root passwords of the instance's own servers live in their credentials Secret, nowhere else.
        credentials = f"secrets/{SERVICES_CREDENTIALS}/"
        roots = [texts[credentials + key] for key in ROOT_PASSWORDS]
        leaks = [where for where, text in texts.items() if not where.startswith(credentials)
                 and any(root in text for root in roots)]
        assert not leaks, f"{namespace}: a root password is also in {leaks}"


def _release_records(cluster: Cluster, namespace: str) -> dict[str, str]:
    """Every revision Helm stored (values and rendered manifest), decoded: base64, base64 again, gzip."""
    return {item["metadata"]["name"]: gzip.decompress(base64.b64decode(base64.b64decode(item["data"]["release"])))
            .decode() for item in cluster.items("secrets", namespace, selector="owner=helm")}


def test_no_secret_in_configmaps_release_values_state_or_logs(cluster: Cluster, deployed: Completed) -> None:
    exported = cluster.pulumi("stack", "export").output
    outputs = cluster.pulumi("stack", "output", "--json").output
    configmaps = json.dumps(cluster.items("configmaps"))
    for namespace in NAMESPACES.values():
        credentials = cluster.kubectl("get", "secret", SERVICES_CREDENTIALS, "-n", namespace)
        generated = {key: base64.b64decode(value).decode() for key, value in credentials["data"].items()}
        places = {"the ConfigMaps": configmaps, "the stack's state": exported, "the stack outputs": outputs,
                  "the output of `up`": deployed.output, **_release_records(cluster, namespace)}
        for where, text in places.items():
            leaked = sorted(key for key, value in generated.items() if value in text)
            assert not leaked, f"{namespace}: {leaked} in {where}"


def pinned(package: str) -> str:
    """A package's version as requirements.txt pins it."""
    (version,) = re.findall(rf"^{package}==(\S+)$", (PROJECT_DIR / "requirements.txt").read_text(), re.MULTILINE)
    return version


def test_outputs_list_each_instance_urls_and_what_it_runs(cluster: Cluster, deployed: Completed) -> None:
    done = cluster.pulumi("stack", "output", "--json")
    assert done.returncode == 0, done.output
    image = yaml.safe_load((PROJECT_DIR / APP_CHART / "values.yaml").read_text())["global"]["openedxImage"]
    plugins = {"demo": ("mfe", "forum"), "sandbox": ("mfe", "notes", "credentials")}
    assert json.loads(done.output)["instances"] == {
        name: {"namespace": NAMESPACES[name], "lmsUrl": f"https://{host}", "studioUrl": f"https://studio.{host}",
               "image": f"{image['registry']}/{image['repository']}:{image['tag']}", "tutor": pinned("tutor"),
               "plugins": {plugin: pinned(f"tutor-{plugin}") for plugin in plugins[name]}}
        for name, host in HOSTS.items()
    }


# --- the next runs change nothing ----------------------------------------------------------------------------------


def _contents(cluster: Cluster) -> dict[str, str]:
    """What a run could change in every object the instances own: its identity (a replaced object has a new
    uid), labels, annotations (a Deployment's rollout revision among them), spec or data, and generation. Not its
    resourceVersion: controllers write status on their own (an HPA without metrics, a quota's usage); nor a Job a
    CronJob started."""
    kinds = ("deployments,statefulsets,services,secrets,configmaps,jobs,cronjobs,ingresses,networkpolicies,"
             "resourcequotas,limitranges,serviceaccounts,persistentvolumeclaims,horizontalpodautoscalers,"
             "poddisruptionbudgets")
    return {f"{item['kind']}/{item['metadata']['namespace']}/{item['metadata']['name']}": json.dumps(
                {**{key: item["metadata"].get(key) for key in ("uid", "generation", "labels", "annotations")},
                 **{key: item.get(key) for key in ("spec", "data", "immutable")}}, sort_keys=True)
            for namespace in NAMESPACES.values() for item in cluster.items(kinds, namespace)
            if not scheduled(item, set())}


def test_bad_config_stops_the_update_and_touches_nothing(cluster: Cluster, deployed: Completed) -> None:
    """The corpus case with mistakes in every part of a stack, given to the real CLI as the stack's config: every
    problem is printed with its key path, without a traceback, and the deployed stack is left as it was."""
    before = _contents(cluster)
    config = cluster.directory / END_TO_END_CASE.name  # a copy: the CLI writes its encryption salt into the file
    config.write_text(END_TO_END_CASE.read_text())
    done = cluster.pulumi("up", "--yes", "--skip-preview", "--config-file", str(config))
    assert done.returncode != 0, done
    for expected in expectations(END_TO_END_CASE):
        assert re.search(rf"^\s*{re.escape(expected.path)}: .*{re.escape(expected.fragment or '')}", done.output,
                         re.MULTILINE), f"{expected.path} is not reported:\n{done}"
    assert "Traceback" not in done.output, done
    assert _contents(cluster) == before


def test_a_second_up_changes_nothing(cluster: Cluster, deployed: Completed) -> None:
    before = _contents(cluster)
    done = cluster.run("./deploy.sh", STACK, "--yes", "--expect-no-changes")
    cluster.durations["no-op up"] = done.seconds
    assert done.returncode == 0, done
    assert _contents(cluster) == before
    assert not list((cluster.directory / "tmp").iterdir()), "deploy.sh left files in TMPDIR"


def test_a_third_run_previews_no_change(cluster: Cluster, deployed: Completed) -> None:
    """Even after reading every resource back from the cluster (`--refresh`): no field the server fills in or
    normalises shows up as a difference."""
    done = cluster.pulumi("preview", "--refresh", "--expect-no-changes", "--diff")
    assert done.returncode == 0, done


def test_the_security_baseline_passes(cluster: Cluster, deployed: Completed) -> None:
    """The policy pack operators run on their stacks passes on what the engine really registered."""
    done = cluster.pulumi("preview", "--policy-pack", "policy", "--expect-no-changes")
    assert done.returncode == 0, done
    assert re.search(r"openedx-security-baseline@v[0-9.]+ \(local: policy\)", done.output), done.output


# --- removing an instance ------------------------------------------------------------------------------------------


def test_removing_an_instance_outside_production_deletes_it_with_its_data(cluster: Cluster, deployed: Completed
                                                                            ) -> None:
    """In `dev` (and `staging`) nothing of a removed instance is kept: its namespace goes, and with it its volumes,
    its credentials and its settings; the other instance is untouched."""
    def demo() -> dict[str, str]:
        return {key: value for key, value in _contents(cluster).items() if f"/{NAMESPACES['demo']}/" in key}

    before = demo()
    claims = {v["metadata"]["name"] for v in cluster.items("persistentvolumes")
              if v["spec"].get("claimRef", {}).get("namespace") == NAMESPACES["sandbox"]}
    assert claims, "sandbox has no volume to delete"
    config = yaml.safe_load((PROJECT_DIR / "stacks" / f"Pulumi.{STACK}.yaml").read_text())
    config["config"]["openedx:instances"] = [i for i in config["config"]["openedx:instances"] if i["name"] == "demo"]
    path = cluster.directory / "without-sandbox.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    done = cluster.run("./deploy.sh", STACK, "--yes", "--config-file", str(path))
    assert done.returncode == 0, done
    deadline = time.monotonic() + 120
    while remaining := ([n["metadata"]["name"] for n in cluster.items("namespaces")
                         if n["metadata"]["name"] == NAMESPACES["sandbox"]]
                        + [v["metadata"]["name"] for v in cluster.items("persistentvolumes")
                           if v["metadata"]["name"] in claims]):
        assert time.monotonic() < deadline, f"still there 2 minutes after the removal: {remaining}"
        time.sleep(2)
    assert demo() == before


# --- destroy -------------------------------------------------------------------------------------------------------


def test_destroy_removes_everything(cluster: Cluster, deployed: Completed) -> None:
    done = cluster.pulumi("destroy", "--yes", "--skip-preview")
    cluster.durations["destroy"] = done.seconds
    assert done.returncode == 0, done
    exported = json.loads(cluster.pulumi("stack", "export").output)
    assert not exported["deployment"].get("resources"), "the stack's state still holds resources"
    # Namespaces terminate, then the volume controller deletes the released volumes: both take a few seconds.
    deadline = time.monotonic() + 120
    while remaining := ([n["metadata"]["name"] for n in cluster.items("namespaces")
                         if n["metadata"]["name"] in NAMESPACES.values()]
                        + [v["metadata"]["name"] for v in cluster.items("persistentvolumes")]):
        assert time.monotonic() < deadline, f"still there 2 minutes after the destroy: {remaining}"
        time.sleep(2)
    assert not cluster.items("secrets", selector="owner=helm"), "Helm Releases remain"
