"""The openedx-services chart: Tutor's data services as StatefulSets, least privilege, kept data."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chart_render import (
    ROOT,
    Doc,
    Render,
    TutorReference,
    env_map,
    main_container,
    mounted_volume,
    pod_spec,
    render,
    template,
    template_error,
)

SERVICES = {"mysql": 3306, "mongodb": 27017, "redis": 6379, "meilisearch": 7700, "smtp": 8025}
USERS = {
    "mysql": (999, 999),
    "mongodb": (999, 999),
    "redis": (1000, 1000),
    "meilisearch": (1000, 1000),
    "smtp": (100, 101),
}


def services(variant: str = "default") -> Render:
    return render("openedx-services", variant)


def container_of(render_: Render, name: str) -> tuple[Doc, Doc]:
    spec = pod_spec(render_.get("StatefulSet", name))
    assert spec is not None
    return spec, main_container(spec)


def memory_bytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"([0-9]+)([KMGT]i|[kMGT])?", quantity).groups()  # type: ignore[union-attr]
    factors = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    return int(number) * factors[unit]


def redis_bytes(size: str) -> int:
    number, unit = re.fullmatch(r"([0-9]+)([kmg]b?)?", size.lower()).groups()  # type: ignore[union-attr]
    factors = {None: 1, "k": 10**3, "kb": 2**10, "m": 10**6, "mb": 2**20, "g": 10**9, "gb": 2**30}
    return int(number) * factors[unit]


def redis_conf(render_: Render) -> dict[str, list[str]]:
    text = render_.get("ConfigMap", "redis-config")["data"]["redis.conf"]
    conf: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            conf.setdefault(key, []).append(value)
    return conf


@pytest.mark.parametrize(("name", "port"), SERVICES.items())
def test_services_have_the_names_and_ports_the_settings_use(name: str, port: int) -> None:
    render_ = services()
    service = render_.get("Service", name)
    port_name = service["spec"]["ports"][0]["name"]
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(port, port_name)]
    statefulset = render_.get("StatefulSet", name)
    assert statefulset["spec"]["replicas"] == 1
    assert statefulset["spec"]["serviceName"] == name
    assert service["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]
    _, container = container_of(render_, name)
    assert {p["name"]: p["containerPort"] for p in container["ports"]}[port_name] == port


@pytest.mark.parametrize("name", SERVICES)
def test_images_and_users_are_tutors(tutor_reference: TutorReference, name: str) -> None:
    spec, container = container_of(services(), name)
    assert container["image"] == tutor_reference.container(name)["image"]
    tutor = tutor_reference.pod_security(name)
    assert (tutor["runAsUser"], tutor["runAsGroup"]) == USERS[name]
    assert (spec["securityContext"]["runAsUser"], spec["securityContext"]["runAsGroup"]) == USERS[name]


@pytest.mark.parametrize("name", ["mysql", "mongodb", "redis"])
def test_server_args_are_tutors(tutor_reference: TutorReference, name: str) -> None:
    _, container = container_of(services(), name)
    tutor_args = tutor_reference.container(name)["args"]
    assert container["args"][: len(tutor_args)] == tutor_args


@pytest.mark.parametrize("variant", ["default", "production"])
def test_every_service_has_a_volume_that_outlives_the_release(variant: str) -> None:
    render_ = services(variant)
    for statefulset in render_.of_kind("StatefulSet"):
        spec = statefulset["spec"]
        assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
        (claim,) = spec["volumeClaimTemplates"]
        assert claim["metadata"]["name"] == "data"
        # volumeClaimTemplates are immutable: no label that changes with a chart or image version.
        assert claim["metadata"]["labels"] == spec["selector"]["matchLabels"]
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        pod = spec["template"]["spec"]
        container = main_container(pod)
        assert "data" in {mount["name"] for mount in container["volumeMounts"]}
        assert "data" not in {volume["name"] for volume in pod["volumes"]}


def test_storage_classes_and_sizes() -> None:
    render_ = services("production")
    classes = {
        s["metadata"]["name"]: (
            s["spec"]["volumeClaimTemplates"][0]["spec"].get("storageClassName"),
            s["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        )
        for s in render_.of_kind("StatefulSet")
    }
    assert classes["mysql"] == ("retained-ssd", "50Gi")
    assert classes["meilisearch"] == ("fast-ssd", "10Gi")
    assert classes["redis"] == ("retained-ssd", "1Gi")
    default = {
        s["metadata"]["name"]: s["spec"]["volumeClaimTemplates"][0]["spec"] for s in services().of_kind("StatefulSet")
    }
    assert all("storageClassName" not in spec for spec in default.values())
    assert default["mysql"]["resources"]["requests"]["storage"] == "5Gi"


def test_media_volume_is_optional_and_kept() -> None:
    assert not services().of_kind("PersistentVolumeClaim")
    (media,) = services("production").of_kind("PersistentVolumeClaim")
    assert media["metadata"]["name"] == "media"
    assert media["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert media["spec"]["accessModes"] == ["ReadWriteMany"]
    assert media["spec"]["storageClassName"] == "efs"
    rwo = template("openedx-services", extra={"media": {"enabled": True}}).get("PersistentVolumeClaim", "media")
    assert rwo["spec"]["accessModes"] == ["ReadWriteOnce"]


CREDENTIALS = "/run/secrets/openedx"


def assert_credentials_mounted(
    spec: dict[str, Any], container: dict[str, Any], keys: list[str], secret: str = "demo-credentials"
) -> None:
    """Credentials are read-only files of the credentials Secret, never environment variables."""
    mount, volume = mounted_volume(spec, container, CREDENTIALS)
    assert mount["readOnly"] is True
    assert volume["secret"]["secretName"] == secret
    assert [item["key"] for item in volume["secret"]["items"]] == keys
    assert not [e for e in container.get("env", []) if "valueFrom" in e]


def test_mysql_creates_a_least_privilege_user_and_keeps_root_local() -> None:
    spec, container = container_of(services(), "mysql")
    env = env_map(container)
    assert env["MYSQL_DATABASE"] == "openedx"
    assert env["MYSQL_USER"] == "openedx"
    assert env["MYSQL_ROOT_HOST"] == "localhost"
    assert env["MYSQL_PASSWORD_FILE"] == f"{CREDENTIALS}/mysql-password"
    assert env["MYSQL_ROOT_PASSWORD_FILE"] == f"{CREDENTIALS}/mysql-root-password"
    assert_credentials_mounted(spec, container, ["mysql-root-password", "mysql-password"])
    assert container["args"] == [
        "mysqld",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
        "--binlog-expire-logs-seconds=259200",
        "--mysql-native-password=ON",
    ]


@pytest.mark.parametrize(
    ("variant", "databases"), [("default", ["openedx"]), ("production", ["openedx", "cs_comments_service"])]
)
def test_mongodb_user_has_read_write_on_its_databases_only(variant: str, databases: list[str]) -> None:
    render_ = services(variant)
    spec, container = container_of(render_, "mongodb")
    env = env_map(container)
    assert env["MONGO_INITDB_ROOT_USERNAME"] == "root"
    assert env["MONGO_INITDB_ROOT_PASSWORD_FILE"] == f"{CREDENTIALS}/mongodb-root-password"
    assert env["MONGODB_USERNAME"] == "openedx"
    secret = "demo-credentials" if variant == "default" else "campus-data-credentials"
    assert_credentials_mounted(spec, container, ["mongodb-root-password", "mongodb-password"], secret)
    _, init = mounted_volume(spec, container, "/docker-entrypoint-initdb.d")
    assert init["configMap"]["name"] == "mongodb-init"
    script = render_.get("ConfigMap", "mongodb-init")["data"]["create-user.js"]
    assert 'db.getSiblingDB("admin").createUser(' in script
    match = re.search(r"roles: (\[.*\]),", script)
    assert match is not None
    assert json.loads(match.group(1)) == [{"db": database, "role": "readWrite"} for database in databases]
    assert f'pwd: require("fs").readFileSync("{CREDENTIALS}/mongodb-password", "utf8").trim(),' in script


def test_mongodb_auth_source_is_admin_or_a_listed_database() -> None:
    script = template("openedx-services", extra={"mongodb": {"authSource": "openedx"}}).get("ConfigMap", "mongodb-init")
    assert 'db.getSiblingDB("openedx")' in script["data"]["create-user.js"]
    error = template_error("openedx-services", extra={"mongodb": {"authSource": "other"}})
    assert 'mongodb.authSource "other" must be "admin" or one of mongodb.databases' in error


@pytest.mark.parametrize("variant", ["default", "production"])
def test_redis_maxmemory_is_below_the_limit_and_spares_celery_tasks(variant: str) -> None:
    render_ = services(variant)
    conf = redis_conf(render_)
    _, container = container_of(render_, "redis")
    assert redis_bytes(conf["maxmemory"][0]) < memory_bytes(container["resources"]["limits"]["memory"])
    assert conf["maxmemory-policy"] == ["volatile-lru"]
    assert conf["appendonly"] == ["yes"]
    assert conf["dir"] == ["/openedx/redis/data/"]
    assert "requirepass" not in conf


def test_redis_maxmemory_above_the_limit_is_refused() -> None:
    error = template_error("openedx-services", extra={"redis": {"maxmemory": "512mb"}})
    assert "redis.maxmemory (512mb) must be below redis.resources.limits.memory (512Mi)" in error


def test_meilisearch_runs_in_production_mode_with_its_key_from_the_secret() -> None:
    spec, container = container_of(services(), "meilisearch")
    env = env_map(container)
    assert env["MEILI_ENV"] == "production"
    assert env["MEILI_NO_ANALYTICS"] == "true"
    assert_credentials_mounted(spec, container, ["meilisearch-master-key"])
    assert container["args"] == [
        "/bin/sh",
        "-c",
        f'MEILI_MASTER_KEY="$(cat {CREDENTIALS}/meilisearch-master-key)" exec /bin/meilisearch',
    ]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_is_probed(name: str) -> None:
    _, container = container_of(services(), name)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        handler = set(container[probe]) & {"exec", "tcpSocket", "httpGet"}
        assert len(handler) == 1, (name, probe)


def test_credentials_secret_is_required_for_the_services_that_read_it() -> None:
    error = template_error("openedx-services", required=False, extra={"global": {"instance": "demo"}})
    assert "existingSecret is required" in error
    only_cache = {
        "global": {"instance": "demo"},
        "mysql": {"enabled": False},
        "mongodb": {"enabled": False},
        "meilisearch": {"enabled": False},
    }
    render_ = template("openedx-services", required=False, extra=only_cache)
    assert render_.names("StatefulSet") == {"redis", "smtp"}


def test_smtp_relay_settings_come_from_extra_env() -> None:
    _, container = container_of(services("production"), "smtp")
    assert env_map(container)["SMARTHOST"] == "smtp.example.com::587"


def test_data_directories_are_volumes_under_a_read_only_root() -> None:
    render_ = services()
    paths = {
        "mysql": ["/var/lib/mysql", "/var/run/mysqld", "/tmp"],
        "mongodb": ["/data/db", "/data/configdb", "/tmp"],
        "redis": ["/openedx/redis/data", "/tmp"],
        "meilisearch": ["/meili_data", "/tmp"],
        "smtp": ["/var/spool/exim", "/tmp"],
    }
    for name, expected in paths.items():
        _, container = container_of(render_, name)
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        mounted = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert set(expected) <= mounted, name


SYNC_SCRIPTS = {"mysql": "files/credentials/mysql.sh", "mongodb": "files/credentials/mongodb.sh"}
REVISION = "app.openedx.org/credentials-revision"


@pytest.mark.parametrize("name", ["mysql", "mongodb"])
def test_a_credentials_sync_container_sets_the_application_password_at_every_start(name: str) -> None:
    spec, server = container_of(services(), name)
    sync = next(c for c in spec["containers"] if c["name"] == "credentials-sync")
    assert sync["image"] == server["image"]  # the server's own client, of its version
    script = (ROOT / "charts" / "openedx-services" / SYNC_SCRIPTS[name]).read_text()
    assert sync["command"] == ["bash", "-c", f"{script}\nexec sleep infinity\n"]
    # The passwords are the credentials Secret's files, read-only; never in its environment.
    assert_credentials_mounted(spec, sync, [f"{name}-root-password", f"{name}-password"])
    assert env_map(sync)["CREDENTIALS"] == CREDENTIALS
    # The pod is ready only once the password is set: a rollout waits for it, and so does the application.
    assert sync["readinessProbe"]["exec"]["command"] == ["cat", env_map(sync)["SYNCED"]]
    # Not synced after a first start's initialisation has had its time: the container restarts and tries again.
    startup = sync["startupProbe"]
    assert startup["exec"] == sync["livenessProbe"]["exec"] == sync["readinessProbe"]["exec"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600
    assert mounted_volume(spec, sync, "/tmp")[1] == mounted_volume(spec, server, "/tmp")[1]
    assert sync["securityContext"]["readOnlyRootFilesystem"] is True
    assert sync["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi"}
    if name == "mysql":  # root logs in over the server's socket: it may not log in from elsewhere
        assert mounted_volume(spec, sync, "/var/run/mysqld")[1] == mounted_volume(spec, server, "/var/run/mysqld")[1]
        assert env_map(sync)["MYSQL_SOCKET"].startswith("/var/run/mysqld/")


def test_raising_a_credentials_revision_restarts_that_service_only() -> None:
    def pod_templates(revision: dict[str, int]) -> dict[str, str]:
        rendered = template("openedx-services", extra={"credentials": {"revision": revision}})
        return {name: json.dumps(rendered.get("StatefulSet", name)["spec"]["template"], sort_keys=True)
                for name in ("mysql", "mongodb", "meilisearch", "redis")}

    before = pod_templates({})
    after = pod_templates({"meilisearch": 2})
    assert {name for name in before if before[name] != after[name]} == {"meilisearch"}
    annotations = services().get("StatefulSet", "meilisearch")["spec"]["template"]["metadata"]["annotations"]
    assert annotations[REVISION] == "0"
    rotated = template("openedx-services", extra={"credentials": {"revision": {"mysql": 1}}})
    assert rotated.get("StatefulSet", "mysql")["spec"]["template"]["metadata"]["annotations"][REVISION] == "1"
    assert "credentials.revision.mysql" in template_error(
        "openedx-services", extra={"credentials": {"revision": {"mysql": -1}}})


def test_the_plugins_databases_reach_the_running_server_through_the_pod_template() -> None:
    """credentials-sync creates and grants them at every start: a new list changes MySQL's pod (which restarts and
    syncs again), and no other."""
    def sync_env(rendered: Render) -> dict[str, str]:
        spec, _ = container_of(rendered, "mysql")
        return env_map(next(c for c in spec["containers"] if c["name"] == "credentials-sync"))

    def pod_templates(rendered: Render) -> dict[str, str]:
        return {s["metadata"]["name"]: json.dumps(s["spec"]["template"], sort_keys=True)
                for s in rendered.of_kind("StatefulSet")}

    assert sync_env(services())["MYSQL_EXTRA_DATABASES"] == ""
    plugins = template("openedx-services", extra={"mysql": {"extraDatabases": ["notes", "credentials"]}})
    assert sync_env(plugins)["MYSQL_EXTRA_DATABASES"] == "notes credentials"
    before, after = pod_templates(template("openedx-services")), pod_templates(plugins)
    assert {name for name in before if before[name] != after[name]} == {"mysql"}
    # The server's own container is unchanged: the image still creates the instance's database alone.
    assert env_map(container_of(plugins, "mysql")[1]) == env_map(container_of(services(), "mysql")[1])


@pytest.mark.parametrize("databases", [["notes", "notes"], ["notes`; DROP DATABASE openedx; --"], ["a" * 65], [""]])
def test_a_plugin_database_that_is_not_a_mysql_identifier_is_refused(databases: list[str]) -> None:
    assert "mysql.extraDatabases" in template_error("openedx-services", extra={"mysql": {"extraDatabases": databases}})


# --- node autoscalers and volume sizes -------------------------------------------------------------------------

PROTECTED = {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false", "karpenter.sh/do-not-disrupt": "true"}


def pod_annotations(render_: Render) -> dict[str, dict[str, str]]:
    """The pod template annotations of each data service's StatefulSet."""
    return {s["metadata"]["name"]: s["spec"]["template"]["metadata"].get("annotations", {})
            for s in render_.of_kind("StatefulSet")}


@pytest.mark.parametrize("variant", ["default", "production"])
def test_node_autoscalers_never_evict_a_data_service_to_remove_a_node(variant: str) -> None:
    """Cluster-autoscaler and Karpenter leave the database pods alone by default: no outage to save a node."""
    assert pod_annotations(services(variant)) == {
        "mysql": {REVISION: "0", **PROTECTED},
        "mongodb": {REVISION: "0", **PROTECTED},
        "meilisearch": {REVISION: "0", **PROTECTED},
        "redis": PROTECTED,
        "smtp": PROTECTED,
    }


def test_eviction_protection_off_removes_both_annotations_and_keeps_the_credentials_revision() -> None:
    """With evictionProtection false the autoscalers may move the pods; a rotation still restarts its service."""
    extra = {"evictionProtection": False, "credentials": {"revision": {"mysql": 2}}}
    render_ = template("openedx-services", extra=extra)
    assert pod_annotations(render_) == {
        "mysql": {REVISION: "2"},
        "mongodb": {REVISION: "0"},
        "meilisearch": {REVISION: "0"},
        "redis": {},
        "smtp": {},
    }


def test_eviction_protection_keeps_the_pod_annotations_of_the_values() -> None:
    """An operator's own pod annotations stay beside the protection and the credentials revision."""
    extra = {"redis": {"podAnnotations": {"backup.velero.io/backup-volumes": "data"}},
             "mysql": {"podAnnotations": {"example.com/team": "data"}}}
    annotations = pod_annotations(template("openedx-services", extra=extra))
    assert annotations["redis"] == {"backup.velero.io/backup-volumes": "data", **PROTECTED}
    assert annotations["mysql"] == {"example.com/team": "data", REVISION: "0", **PROTECTED}


@pytest.mark.parametrize("name", SERVICES)
def test_a_new_install_claims_the_persistence_size_of_the_values(name: str) -> None:
    """With no live volume to check against (a first install) each claim asks for its persistence.size."""
    render_ = template("openedx-services", extra={name: {"persistence": {"size": "7Gi"}}})
    (claim,) = render_.get("StatefulSet", name)["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"] == {"storage": "7Gi"}
    others = {s["metadata"]["name"]: s["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
              for s in render_.of_kind("StatefulSet") if s["metadata"]["name"] != name}
    assert "7Gi" not in others.values()
