"""The settings pruner's decision (charts/openedx/files/settings/prune.py): which settings Secrets a Release can still
roll back to, from Helm's release records as Helm stores them; and what it does with the API's answers."""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json
import sys
from types import ModuleType
from typing import Any

import pytest

from components.charts import PROJECT_DIR


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("settings_prune",
                                                  PROJECT_DIR / "charts/openedx/files/settings/prune.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


prune = _load()


def record(version: int, settings: str | None, status: str = "superseded", release: str = "openedx") -> dict[str, Any]:
    """A release record as Helm 3 writes it: the values it was given under `config`."""
    config: dict[str, Any] = {"global": {"instance": "demo", "hosts": {"lms": "lms.example.com"}}}
    if settings is not None:
        config["global"]["settingsSecret"] = settings
    return {"name": release, "version": version, "namespace": "openedx-demo", "info": {"status": status},
            "config": config, "manifest": "---\n# the rendered objects\n"}


def stored(release: dict[str, Any], compress: bool = True) -> str:
    """The `release` value of its Secret as the API returns it: Helm's base64 of the gzipped JSON, in base64."""
    data = json.dumps(release).encode()
    return base64.b64encode(base64.b64encode(gzip.compress(data) if compress else data)).decode()


# --- the decision -------------------------------------------------------------------------------------------------


def test_every_secret_a_revision_names_stays_whatever_its_status_and_the_others_go() -> None:
    history = [
        record(3, "openedx-settings-aaaa"),
        record(4, "openedx-settings-bbbb", "superseded"),
        record(5, "openedx-settings-cccc", "failed"),
        record(6, "openedx-settings-bbbb", "deployed"),  # a rollback: the settings of revision 4 again
        record(7, "openedx-settings-dddd", "pending-upgrade"),  # being deployed: its post-upgrade hook runs
    ]
    present = ["openedx-settings-0000", "openedx-settings-aaaa", "openedx-settings-bbbb", "openedx-settings-cccc",
               "openedx-settings-dddd", "openedx-settings-ffff"]
    plan = prune.plan(history, present)
    assert plan.kept == {"openedx-settings-aaaa": [3], "openedx-settings-bbbb": [4, 6],
                         "openedx-settings-cccc": [5], "openedx-settings-dddd": [7]}
    assert plan.deleted == ["openedx-settings-0000", "openedx-settings-ffff"]
    assert plan.missing == {}


def test_with_one_revision_only_its_settings_stay() -> None:
    plan = prune.plan([record(1, "openedx-settings-aaaa", "deployed")], {"openedx-settings-aaaa"})
    assert (plan.kept, plan.deleted) == ({"openedx-settings-aaaa": [1]}, [])


def test_settings_a_revision_names_but_the_namespace_lacks_are_reported() -> None:
    plan = prune.plan([record(1, "openedx-settings-aaaa"), record(2, "openedx-settings-bbbb", "deployed")],
                      ["openedx-settings-bbbb"])
    assert plan.missing == {"openedx-settings-aaaa": [1]}
    assert plan.deleted == []


def test_without_any_release_record_nothing_is_deleted() -> None:
    with pytest.raises(prune.Refused, match="no release record"):
        prune.plan([], ["openedx-settings-aaaa", "openedx-settings-bbbb"])


def test_a_revision_without_settings_refuses_the_whole_prune() -> None:
    """What that revision rolls back to is unknown: any of the Secrets could be it."""
    with pytest.raises(prune.Refused, match="revision 2 of openedx"):
        prune.plan([record(1, "openedx-settings-aaaa"), record(2, None, "deployed")],
                   ["openedx-settings-aaaa", "openedx-settings-bbbb"])


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_a_record_is_read_as_helm_stores_it(compress: bool) -> None:
    original = record(12, "openedx-settings-aaaa", "deployed")
    assert prune.decode_record(stored(original, compress)) == original


# --- against the API's answers ------------------------------------------------------------------------------------

MARKER = "password-that-must-never-be-printed"


class FakeApi:
    """The API server's answers for one namespace: the release records and settings Secrets it holds."""

    def __init__(self, records: list[dict[str, Any]], settings: list[str], unreadable: bool = False) -> None:
        self.records = [{"metadata": {"name": f"sh.helm.release.v1.{r['name']}.v{r['version']}"},
                         "data": {"release": "not base64!" if unreadable else stored(r)}} for r in records]
        self.settings = {name: f"uid-{name}" for name in settings}
        self.queries: list[tuple[dict[str, str], str]] = []
        self.deleted: list[tuple[str, str, str]] = []

    def secrets(self, namespace: str, query: dict[str, str], accept: str = "application/json") -> list[Any]:
        assert namespace == "openedx-demo"
        self.queries.append((query, accept))
        if query["labelSelector"] == "owner=helm,name=openedx":
            assert query["fieldSelector"] == "type=helm.sh/release.v1"
            return self.records
        assert query == {"labelSelector": "app.openedx.org/settings=true"}
        return [{"metadata": {"name": name, "uid": uid}, "data": {"lms.env.yml": MARKER}}
                for name, uid in self.settings.items()]

    def delete(self, namespace: str, name: str, uid: str) -> None:
        self.deleted.append((namespace, name, uid))


def test_it_deletes_the_unnamed_secrets_by_uid_and_prints_a_line_per_secret(capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi([record(1, "openedx-settings-aaaa"), record(2, "openedx-settings-bbbb", "deployed")],
                  ["openedx-settings-0000", "openedx-settings-aaaa", "openedx-settings-bbbb"])
    assert prune.run(api, "openedx-demo", "openedx") == 0
    assert api.deleted == [("openedx-demo", "openedx-settings-0000", "uid-openedx-settings-0000")]
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [
        ["kept", "openedx-settings-aaaa:"], ["kept", "openedx-settings-bbbb:"], ["deleted", "openedx-settings-0000:"]]
    assert "2 revisions, 2 settings Secrets kept, 1 deleted" in lines[-1]
    assert MARKER not in out
    # Only the settings Secrets' metadata is asked for: their content never reaches the script.
    (settings_query,) = [accept for query, accept in api.queries if "settings" in query["labelSelector"]]
    assert settings_query.startswith("application/json;as=PartialObjectMetadataList;")


@pytest.mark.parametrize(("records", "unreadable", "reason"), [
    ([], False, "no release record"),
    ([record(1, "openedx-settings-aaaa")], True, "cannot be read"),
])
def test_a_refusal_deletes_nothing_and_exits_1(records: list[dict[str, Any]], unreadable: bool, reason: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi(records, ["openedx-settings-aaaa", "openedx-settings-bbbb"], unreadable)
    assert prune.run(api, "openedx-demo", "openedx") == 1
    assert api.deleted == []
    captured = capsys.readouterr()
    assert reason in captured.err and "nothing deleted" in captured.err
    assert "deleted openedx-settings" not in captured.out


def test_outside_a_pod_the_server_must_be_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(SystemExit) as exit_:
        prune.main(["--namespace", "openedx-demo"])
    assert exit_.value.code == 2
