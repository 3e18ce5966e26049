"""The openedx-provisioning chart: an instance's database and user on the shared servers, provisioned at every
install and upgrade, dropped on uninstall only where the data is not kept, and never an admin credential in sight
of anything but its own Jobs."""

from __future__ import annotations

from typing import Any

import pytest
from chart_render import ROOT, Doc, env_map, pod_spec, render, template, template_error

from components.provisioning import DatabaseUser, ServerAccess, provisioning_values

FILES = ROOT / "charts" / "openedx-provisioning" / "files"


def jobs(values: dict[str, Any] | None = None, variant: str = "production") -> dict[str, Doc]:
    rendered = template("openedx-provisioning", ("openedx-provisioning-production.yaml",), extra=values) \
        if variant == "production" else render("openedx-provisioning", "default")
    return {doc["metadata"]["name"]: doc for doc in rendered.of_kind("Job")}


def projected(job: Doc) -> dict[str, list[tuple[str, str]]]:
    """Secret name → (key, file) pairs of the Job's credentials volume."""
    spec = pod_spec(job)
    assert spec is not None
    (volume,) = [v for v in spec["volumes"] if v["name"] == "credentials"]
    return {source["secret"]["name"]: [(item["key"], item["path"]) for item in source["secret"]["items"]]
            for source in volume["projected"]["sources"]}


def test_each_shared_server_is_provisioned_at_every_install_and_upgrade() -> None:
    rendered = jobs()
    assert set(rendered) == {"provision-mysql-campus", "provision-mongodb-campus"}  # nothing dropped in production
    for engine in ("mysql", "mongodb"):
        job = rendered[f"provision-{engine}-campus"]
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
        assert job["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
        container = pod_spec(job)["containers"][0]  # type: ignore[index]
        assert container["command"] == ["bash", "-c", (FILES / f"{engine}.sh").read_text()]
        assert env_map(container)["ACTION"] == "provision"
        assert container["image"].startswith("registry.example.com/")
        env = env_map(container)
        assert (env["DATABASE"], env["APP_USER"]) == ("openedx_campus", "openedx_campus")
        # The admin's and the instance's credentials are files, the CA bundle with them: no variable holds one.
        assert projected(job) == {
            f"{engine}-admin": [("username", "admin-username"), ("password", "admin-password"), ("ca.pem", "ca.pem")],
            f"campus-{engine}-user": [("password", "app-password")]}
        assert all("valueFrom" not in item for item in container["env"])
    mysql = env_map(pod_spec(rendered["provision-mysql-campus"])["containers"][0])  # type: ignore[index]
    assert (mysql["SSL_MODE"], mysql["MAX_CONNECTIONS"]) == ("VERIFY_CA", "68")


def test_outside_production_uninstalling_drops_the_database_and_the_user_first() -> None:
    rendered = jobs({"removeOnUninstall": True})
    for engine in ("mysql", "mongodb"):
        job = rendered[f"deprovision-{engine}-campus"]
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-delete"
        # Gone once it succeeded (the Release goes with it); a failure stays, and stops the uninstall.
        assert job["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
        container = pod_spec(job)["containers"][0]  # type: ignore[index]
        assert container["command"] == ["bash", "-c", (FILES / f"{engine}.sh").read_text()]
        assert env_map(container)["ACTION"] == "deprovision"
        assert list(projected(job)) == [f"{engine}-admin"]  # it needs no password of the instance's


def test_a_server_that_is_not_shared_gets_no_job() -> None:
    assert set(jobs(variant="default")) == {"provision-mysql-demo"}
    assert not jobs({"mysql": {"enabled": False}, "mongodb": {"enabled": False}, "removeOnUninstall": True})


def test_the_plugins_databases_are_provisioned_and_dropped_with_the_instances() -> None:
    """The program's values (provisioning_values) as the chart renders them: the Jobs of both actions name them."""
    user = DatabaseUser(passwords={}, revisions={}, max_connections=40,
                        extra_databases=("openedx_campus_notes", "openedx_campus_credentials"))
    values = provisioning_values("campus", {"mysql": ServerAccess("db.example.com", 3306, True, True)}, user,
                                 remove_on_uninstall=True)
    assert values["mysql"]["extraDatabases"] == ["openedx_campus_notes", "openedx_campus_credentials"]
    rendered = jobs(values)
    for name in ("provision-mysql-campus", "deprovision-mysql-campus"):
        env = env_map(pod_spec(rendered[name])["containers"][0])  # type: ignore[index]
        assert (env["DATABASE"], env["EXTRA_DATABASES"]) == (
            "openedx_campus", "openedx_campus_notes openedx_campus_credentials")
    without = jobs({"mysql": {"extraDatabases": []}})["provision-mysql-campus"]
    assert env_map(pod_spec(without)["containers"][0])["EXTRA_DATABASES"] == ""  # type: ignore[index]


@pytest.mark.parametrize(("values", "message"), [
    ({"mysql": {"host": ""}}, "mysql.host is required"),
    ({"mongodb": {"passwordSecret": ""}}, "mongodb.passwordSecret is required"),
    ({"mysql": {"sslMode": "DISABLED"}}, "mysql.sslMode"),
    ({"mysql": {"maxConnections": -1}}, "mysql.maxConnections"),
    ({"mysql": {"extraDatabases": ["openedx-campus-notes"]}}, "mysql.extraDatabases"),
    ({"mysql": {"extraDatabases": ["notes", "notes"]}}, "mysql.extraDatabases"),
])
def test_bad_values_are_refused_naming_the_key(values: dict[str, Any], message: str) -> None:
    assert message in template_error("openedx-provisioning", ("openedx-provisioning-production.yaml",),
                                     extra=values)
