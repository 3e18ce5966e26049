"""The second, tenth and hundredth `pulumi up`: each step of an instance's life on the real engine.

The `e2e` stack's two instances, `demo` and `sandbox`, as a `production` stack (whose removed instances keep their
data), given to `./deploy.sh e2e` as config-file variants. The tests run in order on one deployment: a settings
change, a scaling change, adding, removing and re-adding an instance, a failing migration, rollout waves. Each
asserts what the cluster holds, and that the instance it does not touch keeps every object as it was (the same
uid, generation and content; only the status its controllers keep up to date may move).
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.charts import PROJECT_DIR
from tests.e2e.conftest import SERVICES_CREDENTIALS, SETTINGS_LABEL, STACK, Cluster, Completed, scheduled, timestamp

STACK_FILE = PROJECT_DIR / "stacks" / f"Pulumi.{STACK}.yaml"
NAMESPACE = {"demo": "openedx-demo", "sandbox": "openedx-sandbox", "extra": "openedx-extra"}
# Added in maintenance: demo's data is cloned into it.
EXTRA = {"name": "extra", "lmsHost": "extra.e2e.openedx.test", "plugins": ["mfe"], "maintenance": True}
# What an operator's `kubectl get` of an instance shows: every object but Events, which only ever accumulate.
KINDS = ("deployments,statefulsets,replicasets,pods,jobs,services,configmaps,secrets,persistentvolumeclaims,"
         "horizontalpodautoscalers,poddisruptionbudgets,networkpolicies,serviceaccounts,resourcequotas,limitranges,"
         "ingresses,cronjobs,roles,rolebindings")
APPLICATION = ("lms", "lms-worker", "cms", "cms-worker")
# The image tag the kit's KWOK fails every init Job pod of (tests/e2e/kwok-init-exits-1.yaml).
FAILING_TAG = "e2e-init-exits-1"
KEPT_DATA_MESSAGE = "namespace openedx-extra holds the data of an instance removed from the stack"

Config = dict[str, Any]


# A production stack sends mail through a relay of its own; its password is a Pulumi secret.
RELAY = {"host": "smtp.relay.e2e.openedx.test", "port": 2525, "tls": "starttls", "username": "e2e-relay",
         "from": "no-reply@e2e.openedx.test"}
RELAY_PASSWORD = "Relay-Pass/word+e2e="
ADMIN = {"username": "e2e-admin", "email": "admin@e2e.openedx.test"}


def production(cluster: Cluster) -> Config:
    """The e2e stack as a production one: a relay whose password `pulumi config set --path --secret` encrypted,
    and demo's first-install tasks (an admin, the demo course)."""
    config: Config = yaml.safe_load(STACK_FILE.read_text())
    config["config"]["openedx:environment"] = "production"
    config["config"]["openedx:platform"]["email"] = dict(RELAY)
    instance(config, "demo").update(admin=dict(ADMIN), demoCourse=True)
    path = cluster.directory / "production.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    for command in (("pulumi", "stack", "select", "--create", STACK),
                    ("pulumi", "config", "set", "--stack", STACK, "--config-file", str(path), "--path", "--secret",
                     "openedx:platform.email.password", RELAY_PASSWORD)):
        done = cluster.run(*command, "--non-interactive")
        assert done.returncode == 0, done
    encrypted: Config = yaml.safe_load(path.read_text())
    assert set(encrypted["config"]["openedx:platform"]["email"]["password"]) == {"secure"}
    return encrypted


def instance(config: Config, name: str) -> dict[str, Any]:
    return next(i for i in config["config"]["openedx:instances"] if i["name"] == name)


class Lifecycle:
    """One deployment the tests change step by step, with what they read back from the cluster."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.config = production(cluster)
        self.steps = 0

    def up(self, change: Callable[[Config], None] | None = None, *options: str) -> Completed:
        """`./deploy.sh e2e --yes` with the current config, after `change`; the change stays when `up` succeeds."""
        config = copy.deepcopy(self.config)
        if change:
            change(config)
        self.steps += 1
        path = self.cluster.directory / f"lifecycle-{self.steps}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        done = self.cluster.run("./deploy.sh", STACK, "--yes", "--config-file", str(path), *options)
        if done.returncode == 0:
            self.config = config
        return done

    def objects(self, name: str) -> dict[str, str]:
        """`kind/name` → what was applied to each object of an instance's namespace: everything but its status,
        which controllers keep up to date on their own (the HPAs every 15 s, quota usage), and the bookkeeping of
        writes (resourceVersion, managedFields), nor what a CronJob starts. A new uid, generation, label or spec
        field shows."""
        objects = {}
        items = self.cluster.items(KINDS, NAMESPACE[name])
        cron_jobs = {i["metadata"]["name"] for i in items if i["kind"] == "Job" and scheduled(i, set())}
        for item in items:
            if scheduled(item, cron_jobs):
                continue
            applied = {key: value for key, value in item.items() if key != "status"}
            applied["metadata"] = {key: value for key, value in item["metadata"].items()
                                   if key not in ("resourceVersion", "managedFields")}
            objects[f"{item['kind']}/{item['metadata']['name']}"] = json.dumps(applied, sort_keys=True)
        return objects

    def scaled(self, name: str) -> bool:
        """Every Deployment under an autoscaler runs its minimum: a new Deployment starts at one replica, and the
        autoscaler's first sync, up to 15 s later, raises it."""
        deployments = self.deployments(name)
        for autoscaler in self.cluster.items("horizontalpodautoscalers", NAMESPACE[name]):
            target = deployments[autoscaler["spec"]["scaleTargetRef"]["name"]]
            if target["spec"]["replicas"] < autoscaler["spec"]["minReplicas"] or not rolled_out(target):
                return False
        return True

    def settled(self, *names: str) -> dict[str, dict[str, str]]:
        """The objects of those instances once nothing changes any more (controllers finish after `up` returns)."""
        deadline = time.monotonic() + 120
        last = {name: self.objects(name) for name in names}
        while time.monotonic() < deadline:
            time.sleep(5)
            now = {name: self.objects(name) for name in names}
            if now == last and all(self.scaled(name) for name in names):
                return now
            last = now
        pytest.fail(f"the objects of {names} still change 2 minutes after `up`", pytrace=False)

    def settings_secrets(self, name: str) -> dict[str, dict[str, str]]:
        """Each settings Secret of an instance by name, its values decoded."""
        return {s["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in s["data"].items()}
                for s in self.cluster.items("secrets", NAMESPACE[name], selector=SETTINGS_LABEL)}

    def deployments(self, name: str) -> dict[str, dict[str, Any]]:
        return {d["metadata"]["name"]: d for d in self.cluster.items("deployments", NAMESPACE[name])}

    def revisions(self, name: str) -> dict[str, list[dict[str, Any]]]:
        """Each Helm Release of an instance: its revisions in order, as Helm stored them (base64, base64, gzip)."""
        releases: dict[str, list[dict[str, Any]]] = {}
        for item in self.cluster.items("secrets", NAMESPACE[name], selector="owner=helm"):
            record = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(item["data"]["release"]))))
            releases.setdefault(record["name"], []).append(record)
        return {release: sorted(records, key=lambda r: r["version"]) for release, records in releases.items()}

    def init_jobs(self, name: str) -> dict[str, str]:
        """Each init Job of an instance by name → its uid (Helm deletes and recreates a hook Job to rerun it); the
        first-time tasks' Jobs are `once-*`."""
        return {j["metadata"]["name"]: j["metadata"]["uid"]
                for j in self.cluster.items("jobs", NAMESPACE[name], selector="app.kubernetes.io/component=init")}

    def jobs(self, name: str) -> dict[str, str]:
        """Every Job of an instance's namespace by name → its uid."""
        return {j["metadata"]["name"]: j["metadata"]["uid"] for j in self.cluster.items("jobs", NAMESPACE[name])}


def mounted_settings(deployment: dict[str, Any]) -> set[str]:
    return {v["secret"]["secretName"] for v in deployment["spec"]["template"]["spec"].get("volumes", [])
            if "secret" in v and v["secret"]["secretName"].startswith("openedx-settings-")}


def rolled_out(deployment: dict[str, Any]) -> bool:
    status = deployment["status"]
    return (status.get("observedGeneration") == deployment["metadata"]["generation"]
            and status.get("updatedReplicas") == status.get("replicas") == status.get("availableReplicas"))


def summary(done: Completed) -> dict[str, int]:
    """The counts of the `Resources:` summary `pulumi up` ends with (created, updated, deleted, unchanged, …)."""
    block = done.output[done.output.rindex("Resources:"):]
    return {word: int(count) for count, word in re.findall(r"^\s*[+~\-]*\s*(\d+) (\w+)", block, re.MULTILINE)}


@pytest.fixture(scope="module")
def lifecycle(cluster: Cluster) -> Lifecycle:
    steps = Lifecycle(cluster)
    done = steps.up()
    cluster.durations["production up"] = done.seconds
    assert done.returncode == 0, done
    return steps


def completed(job: dict[str, Any]) -> bool:
    return any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"].get("conditions", []))


def test_the_first_install_ran_the_first_time_tasks_after_the_migrations(lifecycle: Lifecycle) -> None:
    jobs = {j["metadata"]["name"]: j for j in lifecycle.cluster.items("jobs", NAMESPACE["demo"])}
    once = {name: job for name, job in jobs.items() if name.startswith("once-")}
    assert set(once) == {"once-admin", "once-demo-course"}
    assert all(completed(job) for job in once.values())
    last_init = max(timestamp(job["status"]["completionTime"]) for name, job in jobs.items()
                    if name.startswith("init-"))
    assert min(timestamp(job["metadata"]["creationTimestamp"]) for job in once.values()) >= last_init
    assert not [name for name in lifecycle.init_jobs("sandbox") if name.startswith("once-")]
    # The admin's password: generated, in the Secret its Job reads and in the stack's secret output, nowhere else.
    outputs = lifecycle.cluster.pulumi("stack", "output", "admins", "--json", "--show-secrets")
    assert outputs.returncode == 0, outputs
    admins = json.loads(outputs.output)
    assert set(admins) == {"demo"} and admins["demo"]["username"] == ADMIN["username"]
    secret = lifecycle.cluster.kubectl("get", "secret", "openedx-admin", "-n", NAMESPACE["demo"])
    assert base64.b64decode(secret["data"]["password"]).decode() == admins["demo"]["password"]
    plain = lifecycle.cluster.pulumi("stack", "output", "--json")
    assert admins["demo"]["password"] not in plain.output and "[secret]" in plain.output


def test_a_production_stack_is_not_updated_without_a_passphrase(lifecycle: Lifecycle) -> None:
    """deploy.sh would fall back to an empty one: refused, before Pulumi runs. (The kit sets an empty one on
    purpose, and the other tests deploy with it.)"""
    updates = len(json.loads(lifecycle.cluster.pulumi("stack", "history", "--json").output))
    path = lifecycle.cluster.directory / f"lifecycle-{lifecycle.steps}.yaml"
    done = lifecycle.cluster.run("env", "-u", "PULUMI_CONFIG_PASSPHRASE", "./deploy.sh", STACK, "--yes",
                                 "--config-file", str(path))
    assert done.returncode == 1, done
    assert f"{path}: this is a production stack" in done.output
    assert "Updating" not in done.output
    assert len(json.loads(lifecycle.cluster.pulumi("stack", "history", "--json").output)) == updates


def test_a_production_instance_mails_through_the_stack_relay_and_its_password_stays_in_the_settings(
        lifecycle: Lifecycle) -> None:
    for name in ("demo", "sandbox"):
        (settings,) = lifecycle.settings_secrets(name).values()
        env = yaml.safe_load(settings["lms.env.yml"])
        assert (env["EMAIL_HOST"], env["EMAIL_PORT"], env["EMAIL_USE_TLS"], env["EMAIL_HOST_USER"],
                env["EMAIL_HOST_PASSWORD"]) == (RELAY["host"], 2525, True, RELAY["username"], RELAY_PASSWORD)
        assert not lifecycle.cluster.items("statefulsets", NAMESPACE[name], selector="app.kubernetes.io/name=smtp")
        holders = [f"{item['kind']}/{item['metadata']['name']}"
                   for item in lifecycle.cluster.items("configmaps,secrets", NAMESPACE[name])
                   if RELAY_PASSWORD in json.dumps({k: _decoded(v) for k, v in (item.get("data") or {}).items()})]
        assert holders == [f"Secret/{next(iter(lifecycle.settings_secrets(name)))}"], holders
        # Helm's release records (compressed, so not seen above) hold the values it was given: no password.
        for release, records in lifecycle.revisions(name).items():
            assert RELAY_PASSWORD not in json.dumps([r.get("config") for r in records]), release
        egress = lifecycle.cluster.kubectl("get", "networkpolicy", "-n", NAMESPACE[name], "-l",
                                           "app.kubernetes.io/name=egress")["items"]
        ports = {p["port"] for rule in egress[0]["spec"]["egress"] for p in rule.get("ports", [])}
        assert 2525 in ports and not {25, 465, 587} & ports


def _decoded(value: str) -> str:
    """A ConfigMap value as it is, a Secret value decoded."""
    try:
        return base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return value


def test_a_settings_change_touches_only_that_instance(lifecycle: Lifecycle) -> None:
    before = lifecycle.settled("demo", "sandbox")
    (previous,) = lifecycle.settings_secrets("demo")
    jobs = lifecycle.init_jobs("demo")

    def rename(config: Config) -> None:
        instance(config, "demo")["platformName"] = "Demo University, renamed"

    done = lifecycle.up(rename)
    assert done.returncode == 0, done
    after = lifecycle.settled("demo", "sandbox")

    assert after["sandbox"] == before["sandbox"], "the sandbox instance's objects changed"
    secrets = lifecycle.settings_secrets("demo")
    (current,) = set(secrets) - {previous}
    assert previous in secrets, "the previous settings Secret is gone: a Helm rollback would not find it"
    assert any("Demo University, renamed" in value for value in secrets[current].values())
    for name in APPLICATION:
        deployment = lifecycle.deployments("demo")[name]
        assert mounted_settings(deployment) == {current}, name
        assert rolled_out(deployment), f"{name}: {deployment['status']}"
    revisions = {release: [r["version"] for r in records] for release, records in lifecycle.revisions("demo").items()}
    assert revisions == {"openedx-namespace": [1], "openedx-services": [1], "openedx": [1, 2]}
    # New settings: the init tasks ran again, the first-time tasks did not.
    rerun = lifecycle.init_jobs("demo")
    assert {k: v for k, v in rerun.items() if k.startswith("once-")} == {
        k: v for k, v in jobs.items() if k.startswith("once-")}
    assert not {v for k, v in rerun.items() if k.startswith("init-")} & set(jobs.values())


def test_a_scaling_change_scales_without_starting_a_job(lifecycle: Lifecycle) -> None:
    """Only the replica bounds change: nothing the init tasks depend on, so no migration (no Job at all) runs."""
    before = lifecycle.settled("demo", "sandbox")
    secrets, jobs = set(lifecycle.settings_secrets("demo")), lifecycle.jobs("demo")

    def scale(config: Config) -> None:
        instance(config, "demo")["workloads"] = {"lms": {"minReplicas": 3, "maxReplicas": 5}}

    done = lifecycle.up(scale)
    assert done.returncode == 0, done
    after = lifecycle.settled("demo", "sandbox")

    assert after["sandbox"] == before["sandbox"], "the sandbox instance's objects changed"
    autoscaler = lifecycle.cluster.kubectl("get", "horizontalpodautoscaler", "lms", "-n", NAMESPACE["demo"])
    assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (3, 5)
    lms = lifecycle.deployments("demo")["lms"]
    assert lms["status"].get("availableReplicas") == 3, lms["status"]
    assert set(lifecycle.settings_secrets("demo")) == secrets, "the settings did not change: no new Secret"
    assert lifecycle.jobs("demo") == jobs, "a Job ran for a scaling change"
    revisions = lifecycle.revisions("demo")["openedx"]
    assert revisions[-1]["info"]["status"] == "deployed" and len(revisions) == 3


def _volumes(**sizes: str) -> Callable[[Config], None]:
    def resize(config: Config) -> None:
        instance(config, "demo")["volumes"] = sizes
    return resize


def _claim_size(lifecycle: Lifecycle, claim: str) -> str:
    found = lifecycle.cluster.kubectl("get", "persistentvolumeclaim", claim, "-n", NAMESPACE["demo"])
    return str(found["spec"]["resources"]["requests"]["storage"])


def test_a_data_volume_grows_in_place_only_where_its_class_allows_and_never_shrinks(lifecycle: Lifecycle) -> None:
    """`volumes.redis` above the volume's size: refused while the StorageClass cannot expand volumes; once it can,
    the claim grows and Redis keeps running (its StatefulSet is not touched); a smaller size is refused at the
    preview."""
    cluster = lifecycle.cluster
    (redis,) = cluster.items("pods", NAMESPACE["demo"], selector="app.kubernetes.io/name=redis")
    size = _claim_size(lifecycle, "data-redis-0")
    assert size == "2Gi"  # the medium size's

    refused = lifecycle.up(_volumes(redis="3Gi"))
    assert refused.returncode != 0
    assert ('redis.persistence.size (3Gi) is above the size of its volume data-redis-0 (2Gi), and its StorageClass '
            '"standard" does not allow volume expansion') in refused.output, refused.output
    assert _claim_size(lifecycle, "data-redis-0") == "2Gi"

    expandable = cluster.run("kubectl", "patch", "storageclass", "standard", "-p", '{"allowVolumeExpansion": true}')
    assert expandable.returncode == 0, expandable
    try:
        grown = lifecycle.up(_volumes(redis="3Gi"))
        assert grown.returncode == 0, grown.output
        assert _claim_size(lifecycle, "data-redis-0") == "3Gi"
        statefulset = cluster.kubectl("get", "statefulset", "redis", "-n", NAMESPACE["demo"])
        assert statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "2Gi"
        (after,) = cluster.items("pods", NAMESPACE["demo"], selector="app.kubernetes.io/name=redis")
        assert after["metadata"]["uid"] == redis["metadata"]["uid"], "Redis restarted for a volume growth"

        # The API server refuses the claim's smaller size at the preview (its dry run of the patch), before the
        # services chart's own check would: nothing changes.
        shrunk = lifecycle.up(_volumes(redis="2Gi"))
        assert shrunk.returncode != 0
        assert ('PersistentVolumeClaim "data-redis-0" is invalid: spec.resources.requests.storage: Forbidden: field '
                'can not be less than') in shrunk.output, shrunk.output
        assert "Preview failed" in shrunk.output
        assert _claim_size(lifecycle, "data-redis-0") == "3Gi"
    finally:
        restored = cluster.run("kubectl", "patch", "storageclass", "standard", "-p", '{"allowVolumeExpansion": false}')
        assert restored.returncode == 0, restored


def _maintenance(on: bool) -> Callable[[Config], None]:
    def switch(config: Config) -> None:
        instance(config, "demo")["maintenance"] = on
    return switch


def test_rotating_the_mysql_password_reaches_the_server_the_settings_and_nothing_else(lifecycle: Lifecycle) -> None:
    """`rotations.mysql` raised: the credentials Secret's mysql-password alone changes, MySQL's pod restarts (its
    credentials-sync container sets the new password as it starts), and new settings use it."""
    before = lifecycle.settled("demo", "sandbox")
    credentials = secret_data(lifecycle, "demo", SERVICES_CREDENTIALS)
    (mysql_pod,) = lifecycle.cluster.items("pods", NAMESPACE["demo"], selector="app.kubernetes.io/name=mysql")
    settings = set(lifecycle.settings_secrets("demo"))

    def rotate(config: Config) -> None:
        instance(config, "demo")["rotations"] = {"mysql": 1}

    done = lifecycle.up(rotate)
    assert done.returncode == 0, done
    after = lifecycle.settled("demo", "sandbox")

    assert after["sandbox"] == before["sandbox"], "the sandbox instance's objects changed"
    rotated = secret_data(lifecycle, "demo", SERVICES_CREDENTIALS)
    assert {key for key in credentials if credentials[key] != rotated[key]} == {"mysql-password"}
    mysql = lifecycle.cluster.kubectl("get", "statefulset", "mysql", "-n", NAMESPACE["demo"])
    template = mysql["spec"]["template"]
    assert template["metadata"]["annotations"]["app.openedx.org/credentials-revision"] == "1"
    assert "credentials-sync" in {c["name"] for c in template["spec"]["containers"]}
    (restarted,) = lifecycle.cluster.items("pods", NAMESPACE["demo"], selector="app.kubernetes.io/name=mysql")
    assert restarted["metadata"]["uid"] != mysql_pod["metadata"]["uid"], "MySQL did not restart"
    for other in ("mongodb", "meilisearch"):
        annotations = lifecycle.cluster.kubectl("get", "statefulset", other, "-n", NAMESPACE["demo"])[
            "spec"]["template"]["metadata"]["annotations"]
        assert annotations["app.openedx.org/credentials-revision"] == "0", other
    (current,) = set(lifecycle.settings_secrets("demo")) - settings
    database = yaml.safe_load(lifecycle.settings_secrets("demo")[current]["lms.env.yml"])["DATABASES"]["default"]
    assert database["PASSWORD"] == rotated["mysql-password"] != credentials["mysql-password"]
    for name in APPLICATION:
        assert mounted_settings(lifecycle.deployments("demo")[name]) == {current}, name


def secret_data(lifecycle: Lifecycle, name: str, secret: str) -> dict[str, str]:
    item = lifecycle.cluster.kubectl("get", "secret", secret, "-n", NAMESPACE[name])
    return {key: base64.b64decode(value).decode() for key, value in item["data"].items()}


def test_maintenance_scales_the_application_to_zero_and_shows_the_maintenance_page(lifecycle: Lifecycle) -> None:
    before = lifecycle.settled("sandbox")
    jobs, secrets = lifecycle.jobs("demo"), set(lifecycle.settings_secrets("demo"))
    done = lifecycle.up(_maintenance(True))
    assert done.returncode == 0, done
    deployments = lifecycle.deployments("demo")
    for name in APPLICATION:
        assert deployments[name]["spec"]["replicas"] == 0, name
    autoscalers = {a["metadata"]["name"] for a in lifecycle.cluster.items("horizontalpodautoscalers",
                                                                          NAMESPACE["demo"])}
    assert not autoscalers & set(APPLICATION), autoscalers
    router = deployments["caddy"]["spec"]["template"]["spec"]
    (caddyfile,) = [v for v in router["volumes"] if v["name"] == "caddyfile"]
    assert caddyfile["configMap"]["name"] == "caddy-maintenance"
    page = lifecycle.cluster.kubectl("get", "configmap", "caddy-maintenance", "-n", NAMESPACE["demo"])
    assert "HTML 503" in page["data"]["Caddyfile"] and "Retry-After" in page["data"]["Caddyfile"]
    assert lifecycle.jobs("demo") == jobs, "a Job ran for the maintenance switch"
    assert set(lifecycle.settings_secrets("demo")) == secrets
    assert lifecycle.settled("sandbox") == before


def test_a_restore_in_maintenance_runs_and_leaves_the_migrations_to_the_next_deploy(lifecycle: Lifecycle) -> None:
    """The README's restore, in the maintenance of the previous test: the restore Job completes, and the init
    record is cleared so that the next deploy runs the init tasks (the next test's)."""
    namespace = NAMESPACE["demo"]
    assert lifecycle.cluster.kubectl("get", "configmap", "openedx-init", "-n", namespace)["data"]["key"]
    done = lifecycle.cluster.run("./ops.sh", STACK, "demo", "restore", "20261203T031700Z")
    assert done.returncode == 0, done
    assert "maintenance: false" in done.output, done
    (job,) = lifecycle.cluster.items("jobs", namespace, selector="app.openedx.org/command=restore")
    assert {c["type"]: c["status"] for c in job["status"]["conditions"]}.get("Complete") == "True"
    steps = [*job["spec"]["template"]["spec"]["initContainers"], *job["spec"]["template"]["spec"]["containers"]]
    assert [s["name"] for s in steps] == ["fetch", "check", "mysql-restore", "mongodb-restore", "media-restore"]
    assert {"name": "BACKUP_NAME", "value": "20261203T031700Z"} in steps[0]["env"]
    assert lifecycle.cluster.kubectl("get", "configmap", "openedx-init", "-n", namespace)["data"]["key"] == ""


def test_an_upgrade_in_maintenance_migrates_and_switching_it_off_restores_the_bounds(lifecycle: Lifecycle) -> None:
    """The README's upgrade: maintenance on (previous test), a new image: its migrations run while nothing serves;
    maintenance off: the application comes back at its bounds, with no Job."""
    jobs = lifecycle.jobs("demo")
    repository = yaml.safe_load((PROJECT_DIR / "charts" / "openedx" / "values.yaml").read_text())[
        "global"]["openedxImage"]["repository"]

    def new_image(config: Config) -> None:
        instance(config, "demo")["images"] = {"openedx": {"repository": repository, "tag": "22.0.4"}}

    done = lifecycle.up(new_image)
    assert done.returncode == 0, done
    upgraded = lifecycle.jobs("demo")
    # Backed up before the migrations (backups.beforeUpgrade), as a hook of the same upgrade.
    assert "backup-before-upgrade" in upgraded
    migrations = [name for name in upgraded if name.startswith("init-")]
    assert migrations and not {upgraded[name] for name in migrations} & set(jobs.values()), "no migration ran"
    assert {name: upgraded[name] for name in upgraded if name.startswith("once-")} == {
        name: jobs[name] for name in jobs if name.startswith("once-")}
    assert all(lifecycle.deployments("demo")[name]["spec"]["replicas"] == 0 for name in APPLICATION)

    done = lifecycle.up(_maintenance(False))
    assert done.returncode == 0, done
    assert lifecycle.jobs("demo") == upgraded, "a Job ran when maintenance was switched off"
    lifecycle.settled("demo")  # every autoscaled Deployment back at its minimum, rolled out
    autoscaler = lifecycle.cluster.kubectl("get", "horizontalpodautoscaler", "lms", "-n", NAMESPACE["demo"])
    assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (3, 5)
    for name in APPLICATION:
        template = lifecycle.deployments("demo")[name]["spec"]["template"]["spec"]["containers"][0]
        assert template["image"].endswith(":22.0.4"), name


def test_adding_an_instance_creates_only_its_resources(lifecycle: Lifecycle) -> None:
    before = lifecycle.settled("demo", "sandbox")
    done = lifecycle.up(lambda config: config["config"]["openedx:instances"].append(dict(EXTRA)))
    assert done.returncode == 0, done
    counts = summary(done)
    assert counts.get("created", 0) > 0 and set(counts) <= {"created", "unchanged"}, counts
    assert lifecycle.settled("demo", "sandbox") == before, "an instance that was already there changed"
    assert {r: records[-1]["info"]["status"] for r, records in lifecycle.revisions("extra").items()} == {
        "openedx-namespace": "deployed", "openedx-services": "deployed", "openedx": "deployed"}


def test_a_clone_restores_a_backup_of_demo_into_the_new_instance_and_closes_what_it_opened(
        lifecycle: Lifecycle) -> None:
    before = {namespace: {kind: {o["metadata"]["name"] for o in lifecycle.cluster.items(kind, namespace)}
                          for kind in ("services", "networkpolicies")}
              for namespace in (NAMESPACE["demo"], NAMESPACE["extra"])}
    done = lifecycle.cluster.run("./ops.sh", STACK, "demo", "clone", "20261203T031700Z", "--to", "extra")
    assert done.returncode == 0, done
    assert "maintenance: false" in done.output, done
    (restore,) = lifecycle.cluster.items("jobs", NAMESPACE["extra"], selector="app.openedx.org/command=clone")
    assert {c["type"]: c["status"] for c in restore["status"]["conditions"]}.get("Complete") == "True"
    env = {e["name"]: e.get("value") for e in restore["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["RCLONE_CONFIG_BACKUPS_URL"].endswith(f".{NAMESPACE['demo']}.svc:8080/"), env
    # The server in demo's namespace, its Service and the two NetworkPolicies are gone; the Secrets go with
    # their Jobs (the garbage collector: the server's Job is deleted, the restore's outlives the run by its TTL).
    assert not lifecycle.cluster.items("jobs", NAMESPACE["demo"], selector="app.openedx.org/command=clone")
    for namespace, kinds in before.items():
        for kind in ("services", "networkpolicies"):
            assert {o["metadata"]["name"] for o in lifecycle.cluster.items(kind, namespace)} == kinds[kind], kind
    assert lifecycle.cluster.kubectl("get", "configmap", "openedx-init", "-n", NAMESPACE["extra"])["data"]["key"] == ""


def test_removing_an_instance_from_production_keeps_its_data(lifecycle: Lifecycle) -> None:
    before = lifecycle.settled("demo", "sandbox")
    claims = {c["metadata"]["name"]: c["metadata"]["uid"]
              for c in lifecycle.cluster.items("persistentvolumeclaims", NAMESPACE["extra"])}
    assert claims, "the extra instance has no volumes"

    def remove(config: Config) -> None:
        config["config"]["openedx:instances"] = [i for i in config["config"]["openedx:instances"]
                                                 if i["name"] != "extra"]

    done = lifecycle.up(remove)
    assert done.returncode == 0, done
    counts = summary(done)
    assert counts.get("deleted", 0) > 0 and set(counts) <= {"deleted", "unchanged"}, counts
    assert lifecycle.settled("demo", "sandbox") == before, "an instance that stays changed"
    namespace = NAMESPACE["extra"]
    assert lifecycle.cluster.kubectl("get", "namespace", namespace)["status"]["phase"] == "Active"
    assert {c["metadata"]["name"]: c["metadata"]["uid"]
            for c in lifecycle.cluster.items("persistentvolumeclaims", namespace)} == claims
    assert lifecycle.cluster.kubectl("get", "secret", SERVICES_CREDENTIALS, "-n", namespace)["data"], (
        "the passwords of the kept volumes are gone")
    assert not lifecycle.revisions("extra"), "the instance's Helm Releases are still installed"


def test_re_adding_a_removed_instance_is_refused_with_what_to_do(lifecycle: Lifecycle) -> None:
    namespace = NAMESPACE["extra"]
    credentials = lifecycle.cluster.kubectl("get", "secret", SERVICES_CREDENTIALS, "-n", namespace)
    done = lifecycle.up(lambda config: config["config"]["openedx:instances"].append(dict(EXTRA)))
    assert done.returncode != 0, done
    assert KEPT_DATA_MESSAGE in done.output, done
    assert f"kubectl delete namespace {namespace}" in done.output, done
    kept = lifecycle.cluster.kubectl("get", "secret", SERVICES_CREDENTIALS, "-n", namespace)
    assert (kept["metadata"]["uid"], kept["data"]) == (credentials["metadata"]["uid"], credentials["data"])


def test_once_the_kept_data_is_deleted_the_instance_can_come_back(lifecycle: Lifecycle) -> None:
    namespace = NAMESPACE["extra"]
    deleted = lifecycle.cluster.run("kubectl", "delete", "namespace", namespace, "--wait", timeout=180)
    assert deleted.returncode == 0, deleted
    done = lifecycle.up(lambda config: config["config"]["openedx:instances"].append(dict(EXTRA)), "--refresh")
    assert done.returncode == 0, done
    assert {r: records[-1]["info"]["status"] for r, records in lifecycle.revisions("extra").items()} == {
        "openedx-namespace": "deployed", "openedx-services": "deployed", "openedx": "deployed"}


def _failing_image(config: Config, name: str) -> None:
    repository = yaml.safe_load((PROJECT_DIR / "charts" / "openedx" / "values.yaml").read_text())[
        "global"]["openedxImage"]["repository"]
    instance(config, name)["images"] = {"openedx": {"repository": repository, "tag": FAILING_TAG}}


def application_pods(lifecycle: Lifecycle) -> set[str]:
    """demo's pods but those of Jobs (its init tasks, its pre-upgrade backup, its settings pruner): uids."""
    return {p["metadata"]["uid"] for p in lifecycle.cluster.items("pods", NAMESPACE["demo"])
            if p["metadata"]["labels"].get("app.kubernetes.io/component") not in ("init", "backup", "settings-prune")}


def test_a_failing_migration_rolls_the_instance_back(lifecycle: Lifecycle) -> None:
    before = lifecycle.settled("demo", "sandbox")
    deployments = lifecycle.deployments("demo")
    pods = application_pods(lifecycle)
    revisions = lifecycle.revisions("demo")["openedx"]

    done = lifecycle.up(lambda config: _failing_image(config, "demo"))
    assert done.returncode != 0, done
    assert re.search(r"demo-openedx.*\n?.*error", done.output), done
    failed_jobs = [j["metadata"]["name"] for j in lifecycle.cluster.items("jobs", NAMESPACE["demo"])
                   if any(c["type"] == "Failed" and c["status"] == "True" for c in j["status"].get("conditions", []))]
    assert failed_jobs, "no init Job failed"
    assert any(job in done.output for job in failed_jobs), f"the output names none of {failed_jobs}:\n{done}"

    after = lifecycle.settled("demo", "sandbox")
    assert after["sandbox"] == before["sandbox"], "the sandbox instance's objects changed"
    history = lifecycle.revisions("demo")["openedx"]
    assert [r["info"]["status"] for r in history[len(revisions):]] == ["failed", "deployed"], history
    assert history[-1]["info"]["description"].startswith("Rollback"), history[-1]["info"]
    restored, secrets = lifecycle.deployments("demo"), lifecycle.settings_secrets("demo")
    for name in APPLICATION:
        assert restored[name]["spec"]["template"] == deployments[name]["spec"]["template"], name
        assert mounted_settings(restored[name]) <= set(secrets), f"{name}: its settings Secret is gone"
    assert application_pods(lifecycle) == pods, "the application's pods were replaced"


def test_the_next_up_after_a_failure_deploys(lifecycle: Lifecycle) -> None:
    done = lifecycle.up()
    assert done.returncode == 0, done
    assert lifecycle.revisions("demo")["openedx"][-1]["info"]["status"] == "deployed"


def _first_hook(lifecycle: Lifecycle, name: str) -> datetime:
    return min(timestamp(j["metadata"]["creationTimestamp"])
               for j in lifecycle.cluster.items("jobs", NAMESPACE[name], selector="app.kubernetes.io/component=init"))


def test_a_later_wave_starts_after_the_canary_is_deployed(lifecycle: Lifecycle) -> None:
    def waves(config: Config) -> None:
        instance(config, "demo")["platformName"] = "Demo University, canary"
        instance(config, "sandbox").update(platformName="Sandbox, second wave", wave=1)

    done = lifecycle.up(waves)
    assert done.returncode == 0, done
    # Helm stamps a revision when its upgrade starts: the canary's end is its last hook's completion (its Release
    # is deployed after that, once its workloads are ready).
    canary_hooks_done = max(timestamp(j["status"]["completionTime"]) for j in lifecycle.cluster.items(
        "jobs", NAMESPACE["demo"], selector="app.kubernetes.io/component=init"))
    assert _first_hook(lifecycle, "sandbox") >= canary_hooks_done, (
        "the second wave's upgrade started before the canary was deployed")


def test_a_failing_canary_stops_the_later_waves(lifecycle: Lifecycle) -> None:
    before = lifecycle.settled("sandbox")
    revisions = [r["version"] for r in lifecycle.revisions("sandbox")["openedx"]]

    def canary_fails(config: Config) -> None:
        _failing_image(config, "demo")
        instance(config, "sandbox")["platformName"] = "Sandbox, never deployed"

    done = lifecycle.up(canary_fails)
    assert done.returncode != 0, done
    assert [r["version"] for r in lifecycle.revisions("sandbox")["openedx"]] == revisions
    after = lifecycle.settled("sandbox")
    # The later wave's new settings Secret may be created (it waits for nothing), but no workload moves to it.
    changed = {key for key in set(before["sandbox"]) | set(after["sandbox"])
               if before["sandbox"].get(key) != after["sandbox"].get(key)}
    assert all(key.startswith("Secret/openedx-settings-") for key in changed), changed
    for deployment in lifecycle.deployments("sandbox").values():
        assert not any("never deployed" in value for secret in mounted_settings(deployment)
                       for value in lifecycle.settings_secrets("sandbox")[secret].values())


PRUNER = "openedx-settings-prune"
PRUNE_SCRIPT = PROJECT_DIR / "charts" / "openedx" / "files" / "settings" / "prune.py"


def as_pruner(cluster: Cluster, namespace: str) -> dict[str, str]:
    """What the pruner's pod is given, as files: the API server's address and CA, and a token of its ServiceAccount
    from the TokenRequest API (as the pod projects one); and a kubeconfig with that token as its only credential."""
    (entry,) = yaml.safe_load((cluster.directory / "kubeconfig").read_text())["clusters"]
    ca = cluster.directory / "api-ca.crt"
    if "certificate-authority-data" in entry["cluster"]:
        ca.write_bytes(base64.b64decode(entry["cluster"]["certificate-authority-data"]))
    else:
        ca.write_bytes(Path(entry["cluster"]["certificate-authority"]).read_bytes())
    token = cluster.run("kubectl", "create", "token", PRUNER, "-n", namespace, "--duration", "10m", timeout=60)
    assert token.returncode == 0, token
    bearer = cluster.directory / "pruner-bearer"
    bearer.write_text(token.output.strip())
    kubeconfig = cluster.directory / "pruner-kubeconfig"
    server = entry["cluster"]["server"]
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "pruner",
        "clusters": [{"name": "e2e", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": "pruner", "user": {"tokenFile": str(bearer)}}],
        "contexts": [{"name": "pruner", "context": {"cluster": "e2e", "user": "pruner"}}],
    }))
    return {"server": server, "ca": str(ca), "bearer": str(bearer), "kubeconfig": str(kubeconfig)}


def test_the_settings_pruner_keeps_what_the_release_history_names_and_deletes_the_rest(lifecycle: Lifecycle) -> None:
    """KWOK runs no container: the chart's hook Job completed without running its script. The test runs that script
    (the chart's file) here, as the pod would, with a token of the pruner's ServiceAccount, after the settings
    changes, failed upgrades and rollbacks above: every settings Secret a stored revision of demo's Release names
    stays, whatever the revision's status; those none names (a planted one, and those of revisions the history
    dropped) are deleted; no other Secret moves. Its Role lets it list and delete the Secrets of demo's namespace,
    and nothing more."""
    namespace = NAMESPACE["demo"]
    hook = lifecycle.cluster.kubectl("get", "job", PRUNER, "-n", namespace)
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    assert completed(hook), hook["status"]
    history = lifecycle.revisions("demo")["openedx"]
    assert {"failed", "superseded", "deployed"} <= {r["info"]["status"] for r in history}, "no failed revision kept"
    named = {r["config"]["global"]["settingsSecret"] for r in history}
    key, value = SETTINGS_LABEL.split("=")
    planted = {"apiVersion": "v1", "kind": "Secret", "immutable": True,
               "metadata": {"name": "openedx-settings-0ld0000000", "namespace": namespace, "labels": {key: value}},
               "stringData": {"lms.env.yml": "PLATFORM_NAME: settings no revision names\n"}}
    created = lifecycle.cluster.run("kubectl", "create", "-f", "-", stdin=json.dumps(planted), timeout=60)
    assert created.returncode == 0, created
    settings = set(lifecycle.settings_secrets("demo"))
    assert named <= settings, "a revision names settings that are gone"
    unnamed = settings - named
    assert planted["metadata"]["name"] in unnamed
    others = {s["metadata"]["name"]: s["metadata"]["uid"] for s in lifecycle.cluster.items("secrets", namespace)
              if s["metadata"]["name"] not in settings}
    sandbox = {s["metadata"]["name"]: s["metadata"]["uid"] for s in lifecycle.cluster.items("secrets",
                                                                                            NAMESPACE["sandbox"])}
    pruner = as_pruner(lifecycle.cluster, namespace)

    def can(verb: str, resource: str, where: str = namespace) -> bool:
        done = lifecycle.cluster.run("kubectl", "--kubeconfig", pruner["kubeconfig"], "auth", "can-i", verb,
                                     resource, "-n", where, timeout=60)
        assert done.output.strip() in ("yes", "no"), done
        return done.output.strip() == "yes"

    verbs = ("list", "delete", "get", "watch", "create", "update", "patch", "deletecollection")
    assert {verb for verb in verbs if can(verb, "secrets")} == {"list", "delete"}
    assert not can("list", "secrets", NAMESPACE["sandbox"]) and not can("list", "configmaps")

    def prune(where: str) -> Completed:
        return lifecycle.cluster.run(sys.executable, str(PRUNE_SCRIPT), "--server", pruner["server"], "--token-file",
                                     pruner["bearer"], "--ca-file", pruner["ca"], "--namespace", where, timeout=60)

    done = prune(namespace)
    assert done.returncode == 0, done
    assert set(lifecycle.settings_secrets("demo")) == named
    assert all(f"deleted {name}:" in done.output for name in unnamed), done
    assert all(f"kept {name}:" in done.output for name in named), done
    assert {s["metadata"]["name"]: s["metadata"]["uid"] for s in lifecycle.cluster.items("secrets", namespace)
            if s["metadata"]["name"] not in named} == others
    # Its token opens nothing in another instance's namespace.
    refused = prune(NAMESPACE["sandbox"])
    assert refused.returncode == 1 and "403" in refused.output, refused
    assert {s["metadata"]["name"]: s["metadata"]["uid"]
            for s in lifecycle.cluster.items("secrets", NAMESPACE["sandbox"])} == sandbox


def test_destroy_leaves_the_production_data(lifecycle: Lifecycle, cluster: Cluster) -> None:
    done = cluster.pulumi("destroy", "--yes", "--skip-preview")
    assert done.returncode == 0, done
    for name in ("demo", "sandbox", "extra"):
        assert cluster.kubectl("get", "namespace", NAMESPACE[name])["status"]["phase"] == "Active"
        assert cluster.items("persistentvolumeclaims", NAMESPACE[name])
        assert not lifecycle.revisions(name)
    # The next tests start from an empty cluster: the operator's way to let the data go.
    gone = cluster.run("kubectl", "delete", "namespace", *NAMESPACE.values(), "--wait", timeout=300)
    assert gone.returncode == 0, gone

