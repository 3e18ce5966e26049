"""Deletes the settings Secrets of an instance that its Helm Release can no longer roll back to. Standard library only.

Each settings change deploys a new immutable Secret (`openedx-settings-<hash>`, labelled app.openedx.org/settings=true)
and leaves the previous ones, so that a rollback finds the settings its revision names. This script keeps every
settings Secret that a stored revision of the Release (deployed, superseded, failed or pending alike) names in
`global.settingsSecret`, and deletes the others. It refuses to delete anything when it finds no revision at all, or
one it cannot read.

It runs in the instance's openedx image as a post-install and post-upgrade hook Job of the openedx chart, whose
ServiceAccount may only list and delete the Secrets of its namespace. It talks to the Kubernetes API itself: by
default the API server, bearer file and CA bundle a pod is given (KUBERNETES_SERVICE_HOST and _PORT, the files
under /var/run/secrets/kubernetes.io/serviceaccount); --server, --token-file and --ca-file name others.

    prune.py --namespace NS [--release openedx]

It prints a line per settings Secret, kept (with the revisions that name it) or deleted, and never a Secret's
content: it reads Helm's release records, and only the metadata of the settings Secrets.
Exit codes: 0 done, 1 refused or failed (what was printed as deleted is deleted), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SETTINGS_SELECTOR = "app.openedx.org/settings=true"
RECORD_TYPE = "helm.sh/release.v1"
IN_CLUSTER = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TIMEOUT_S = 30
# Only the metadata of the listed objects: the settings Secrets' content is never asked for.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json"


class Refused(Exception):
    """Nothing may be deleted: what the Release can roll back to is not known."""


class ApiFailed(Exception):
    """The API server could not be reached, or refused a request."""


@dataclass(frozen=True)
class Plan:
    kept: dict[str, list[int]]  # settings Secret → the revisions that name it
    deleted: list[str]
    missing: dict[str, list[int]]  # named by a revision, but not there


def decode_record(release: str) -> dict[str, Any]:
    """A Helm release record from the `release` value of its Secret (as the API returns it: base64 of Helm's own
    base64 of the gzipped JSON; Helm 3 reads an uncompressed one too)."""
    data = base64.b64decode(base64.b64decode(release))
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    record: dict[str, Any] = json.loads(data)
    return record


def plan(records: Sequence[Mapping[str, Any]], settings: Iterable[str]) -> Plan:
    """Which of the settings Secrets named `settings` stay: those that a release record names."""
    if not records:
        raise Refused("no release record found: what the Release can roll back to is unknown")
    named: dict[str, list[int]] = {}
    for record in records:
        name = ((record.get("config") or {}).get("global") or {}).get("settingsSecret")
        version = record.get("version")
        if not isinstance(name, str) or not name or not isinstance(version, int):
            raise Refused(f"revision {version} of {record.get('name')} has no global.settingsSecret in its values, so "
                          "the settings it rolls back to are unknown")
        named.setdefault(name, []).append(version)
    present = set(settings)
    return Plan(
        kept={name: sorted(named[name]) for name in sorted(present & set(named))},
        deleted=sorted(present - set(named)),
        missing={name: sorted(revisions) for name, revisions in sorted(named.items()) if name not in present},
    )


@dataclass(frozen=True)
class Api:
    server: str
    bearer: str = field(repr=False)
    context: ssl.SSLContext = field(repr=False)

    def request(self, method: str, path: str, query: Mapping[str, str] | None = None, accept: str = "application/json",
                body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        url = self.server + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        headers = {"Authorization": f"Bearer {self.bearer}", "Accept": accept}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        call = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(call, context=self.context, timeout=TIMEOUT_S) as response:
                answer: dict[str, Any] = json.load(response)
                return answer
        except urllib.error.HTTPError as error:
            raise ApiFailed(f"{method} {path}: {error.code} {_message(error)}") from None
        except OSError as error:  # URLError among them: refused, unreachable, TLS
            reason = getattr(error, "reason", error)
            raise ApiFailed(f"cannot reach the API server at {self.server}: {reason}") from None

    def secrets(self, namespace: str, query: Mapping[str, str], accept: str = "application/json") -> list[Any]:
        items: list[Any] = self.request("GET", f"/api/v1/namespaces/{namespace}/secrets", query, accept)["items"]
        return items

    def delete(self, namespace: str, name: str, uid: str) -> None:
        """Deletes that Secret, and not one created again under its name since it was listed (uid precondition)."""
        self.request("DELETE", f"/api/v1/namespaces/{namespace}/secrets/{name}",
                     body={"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": uid}})


def _message(error: urllib.error.HTTPError) -> str:
    """The API server's own explanation (its Status message), else the HTTP reason."""
    try:
        return str(json.load(error)["message"])
    except (ValueError, KeyError, TypeError, OSError):
        return str(error.reason)


def prune(api: Api, namespace: str, release: str) -> Plan:
    """Lists the release records and the settings Secrets of `namespace`, deletes the unnamed ones, printing each."""
    records = []
    for item in api.secrets(namespace, {"labelSelector": f"owner=helm,name={release}",
                                        "fieldSelector": f"type={RECORD_TYPE}"}):
        try:
            records.append(decode_record(item["data"]["release"]))
        except (KeyError, ValueError, OSError) as error:  # not base64, gzip or JSON
            raise Refused(f"the release record {item['metadata']['name']} cannot be read "
                          f"({type(error).__name__})") from None
    listed = api.secrets(namespace, {"labelSelector": SETTINGS_SELECTOR}, accept=METADATA_ONLY)
    uids = {item["metadata"]["name"]: item["metadata"]["uid"] for item in listed}
    decided = plan(records, uids)
    for name, revisions in decided.kept.items():
        print(f"kept {name}: named by {_revisions(revisions)} of {release}")
    for name, revisions in decided.missing.items():
        print(f"missing {name}: named by {_revisions(revisions)} of {release}, which could not roll back to it")
    for name in decided.deleted:
        api.delete(namespace, name, uids[name])
        print(f"deleted {name}: named by no revision of {release}")
    print(f"{namespace}/{release}: {len(records)} revisions, {len(decided.kept)} settings Secrets kept, "
          f"{len(decided.deleted)} deleted")
    return decided


def _revisions(versions: Sequence[int]) -> str:
    return f"revision{'s' if len(versions) > 1 else ''} {', '.join(map(str, versions))}"


def _in_cluster_server() -> str:
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST", ""), os.environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        return ""
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def _parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="prune.py", description=__doc__.split("\n\n")[0])
    main.add_argument("--namespace", required=True, help="the instance's namespace")
    main.add_argument("--release", default="openedx", help="the Helm Release of the openedx chart (default: openedx)")
    main.add_argument("--server", default=_in_cluster_server(),
                      help="the API server's URL (default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)")
    main.add_argument("--token-file", type=Path, default=IN_CLUSTER / "token", help="the bearer file")
    main.add_argument("--ca-file", type=Path, default=IN_CLUSTER / "ca.crt", help="the API server's CA bundle")
    return main


def run(api: Api, namespace: str, release: str) -> int:
    """prune(), with its exit code; a refusal or failure is reported on stderr."""
    try:
        prune(api, namespace, release)
    except Refused as refusal:
        print(f"prune.py: {namespace}/{release}: {refusal}: nothing deleted", file=sys.stderr)
        return 1
    except ApiFailed as failure:
        print(f"prune.py: {namespace}/{release}: {failure}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.server:
        parser.error("--server is required outside a pod (KUBERNETES_SERVICE_HOST is not set)")
    try:
        api = Api(args.server.rstrip("/"), args.token_file.read_text().strip(),
                  ssl.create_default_context(cafile=str(args.ca_file)))
    except OSError as error:  # the bearer or CA file
        print(f"prune.py: {error}", file=sys.stderr)
        return 1
    return run(api, args.namespace, args.release)


if __name__ == "__main__":
    sys.exit(main())
