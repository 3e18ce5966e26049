"""One run on the cluster: create the Secret and the Job, stream the pod's output, wait for the Job's result.

The cluster is reached through `Api`, the few calls a run makes: `KubernetesApi` wires them to the official
client; the tests use a fake.
"""

from __future__ import annotations

import codecs
import json
import sys
import time
from collections.abc import Iterator
from typing import Any, Protocol, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3 import BaseHTTPResponse
from urllib3.exceptions import HTTPError

from operations.backups import INIT_RECORD, TEMPLATES
from operations.job import Manifest, owner_reference
from operations.stack import OperationError

# The local wait ends this long after the Job's own deadline, which the Job controller enforces.
DEADLINE_MARGIN_S = 60
POLL_S = 2.0
EXIT_INTERRUPTED = 130


class LogsUnavailable(Exception):
    """The API server cannot give a pod's logs (no kubelet answers, the pod is gone)."""


class Api(Protocol):
    def create(self, namespace: str, manifest: Manifest) -> Manifest:
        """Create a Secret, a Job, a Service or a NetworkPolicy; returns it as created (with its uid)."""

    def set_owner(self, namespace: str, secret: str, owner: Manifest) -> None: ...

    def delete(self, namespace: str, kind: str, name: str) -> None:
        """Delete an object `create` makes (a Job with, in the background, its pods and the Secret it owns)."""

    def pod_phases(self, namespace: str, job: str) -> dict[str, str]:
        """The phase of each pod of a Job, by pod name."""

    def logs(self, namespace: str, pod: str, container: str, timeout_s: float) -> Iterator[bytes]:
        """A container's output as it comes, until it ends; raises LogsUnavailable."""

    def conditions(self, namespace: str, job: str) -> list[dict[str, str]]: ...


def api_message(error: ApiException) -> str:
    """What the API server said: the message of its Status answer, else the HTTP status."""
    try:
        return str(json.loads(error.body or "")["message"])
    except (TypeError, ValueError, KeyError):
        return f"HTTP {error.status} {error.reason}"


def _error(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start(api: Api, namespace: str, job: Manifest, secret: Manifest | None) -> None:
    """The Secret first (the pod reads it), then the Job, then the Job as the Secret's owner: the Job's TTL
    deletes both. If any step fails or is interrupted, what was created is deleted."""
    name = job["metadata"]["name"]
    if secret is not None:
        api.create(namespace, secret)
    owner = None
    try:
        owner = api.create(namespace, job)
        if secret is not None:
            api.set_owner(namespace, secret["metadata"]["name"], owner_reference(owner))
    except BaseException:
        if owner is not None:
            api.delete(namespace, "Job", name)
        if secret is not None:
            api.delete(namespace, "Secret", secret["metadata"]["name"])
        raise


def outcome(conditions: list[dict[str, str]]) -> tuple[int, str] | None:
    """The exit code and what to say once the Job has finished (its Complete or Failed condition), else None."""
    for condition in conditions:
        if condition.get("status") != "True":
            continue
        if condition["type"] == "Complete":
            return 0, "completed"
        if condition["type"] == "Failed":
            detail = ": ".join(part for part in (condition.get("reason"), condition.get("message")) if part)
            return 1, f"failed: {detail or 'no reason given'}"
    return None


def _stream(api: Api, namespace: str, pod: str, containers: list[str], timeout_s: float) -> None:
    """The output of each container in turn (a pod's init containers run one after the other, then its
    container), until the first that cannot be read."""
    for container in containers:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            for chunk in api.logs(namespace, pod, container, timeout_s):
                sys.stdout.write(decoder.decode(chunk))
                sys.stdout.flush()
        except LogsUnavailable as reason:
            _error(f"the output of pod {pod} cannot be read ({reason}): waiting for the Job's result")
            return
        finally:
            sys.stdout.write(decoder.decode(b"", final=True))


def wait(api: Api, namespace: str, job: Manifest, poll_s: float = POLL_S) -> int:
    """Stream the output of the Job's pod once it has started, then wait for the Job's result: 0 when it
    completed, 1 when it failed or did not finish in time."""
    name = job["metadata"]["name"]
    pod = job["spec"]["template"]["spec"]
    containers = [container["name"] for container in [*pod.get("initContainers", []), *pod["containers"]]]
    timeout_s = job["spec"]["activeDeadlineSeconds"] + DEADLINE_MARGIN_S
    deadline = time.monotonic() + timeout_s
    streamed = False
    while True:
        if not streamed:
            started = [pod for pod, phase in api.pod_phases(namespace, name).items() if phase != "Pending"]
            if started:
                streamed = True
                _stream(api, namespace, started[0], containers, max(deadline - time.monotonic(), 1))
        result = outcome(api.conditions(namespace, name))
        if result is not None:
            code, message = result
            _error(f"Job {name} {message}")
            return code
        if time.monotonic() > deadline:
            _error(f"Job {name} has not finished after {timeout_s} s; it is left to its deadline")
            return 1
        time.sleep(poll_s)


def execute(api: Api, namespace: str, job: Manifest, secret: Manifest | None, on_success: str = "",
            poll_s: float = POLL_S) -> int:
    """A whole run: its exit code. `on_success` is printed once the Job has completed, and only then.
    Interrupted (Ctrl-C), the Job is deleted, with its pod and Secret."""
    name = job["metadata"]["name"]
    start(api, namespace, job, secret)
    _error(f"Job {name} created in {namespace}")
    try:
        code = wait(api, namespace, job, poll_s)
    except KeyboardInterrupt:
        api.delete(namespace, "Job", name)
        _error(f"interrupted: Job {name} deleted")
        return EXIT_INTERRUPTED
    if code == 0 and on_success:
        print(on_success, flush=True)
    return code


class KubernetesApi:
    """`Api` on the official client."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.networking = client.NetworkingV1Api(api_client)

    def _plain(self, value: Any) -> Manifest:
        plain: Manifest = self.api_client.sanitize_for_serialization(value)
        return plain

    def cronjob(self, namespace: str, name: str) -> Manifest:
        try:
            return self._plain(self.batch.read_namespaced_cron_job(name, namespace))
        except ApiException as error:
            if error.status == 404:
                if name in TEMPLATES:
                    raise OperationError(f"no CronJob {name} in namespace {namespace}: backups are off for this "
                                         "instance (its `backups.enabled`; on by default outside dev)") from None
                raise OperationError(f"no CronJob {name} in namespace {namespace}: the instance was deployed "
                                     "without the operator commands' templates (deploy it again)") from None
            raise

    def replicas(self, namespace: str, deployment: str) -> int | None:
        try:
            scale = self._plain(self.apps.read_namespaced_deployment_scale(deployment, namespace))
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return int(scale.get("spec", {}).get("replicas", 0))

    def forget_init(self, namespace: str) -> None:
        try:
            self.core.patch_namespaced_config_map(INIT_RECORD, namespace, {"data": {"key": ""}})
        except ApiException as error:
            if error.status != 404:  # never initialised: the next deploy runs the init tasks anyway
                raise

    def jobs(self, namespace: str, selector: str) -> list[Manifest]:
        found = self._plain(self.batch.list_namespaced_job(namespace, label_selector=selector))
        return list(found.get("items", []))

    def create(self, namespace: str, manifest: Manifest) -> Manifest:
        # from_dict answers None only for None
        if manifest["kind"] == "Secret":
            secret = cast(client.V1Secret, client.V1Secret.from_dict(manifest))
            return self._plain(self.core.create_namespaced_secret(namespace, secret))
        if manifest["kind"] == "Service":
            service = cast(client.V1Service, client.V1Service.from_dict(manifest))
            return self._plain(self.core.create_namespaced_service(namespace, service))
        if manifest["kind"] == "NetworkPolicy":
            policy = cast(client.V1NetworkPolicy, client.V1NetworkPolicy.from_dict(manifest))
            return self._plain(self.networking.create_namespaced_network_policy(namespace, policy))
        job = cast(client.V1Job, client.V1Job.from_dict(manifest))
        return self._plain(self.batch.create_namespaced_job(namespace, job))

    def set_owner(self, namespace: str, secret: str, owner: Manifest) -> None:
        self.core.patch_namespaced_secret(secret, namespace, {"metadata": {"ownerReferences": [owner]}})

    def delete(self, namespace: str, kind: str, name: str) -> None:
        if kind == "Secret":
            self.core.delete_namespaced_secret(name, namespace)
        elif kind == "Service":
            self.core.delete_namespaced_service(name, namespace)
        elif kind == "NetworkPolicy":
            self.networking.delete_namespaced_network_policy(name, namespace)
        else:
            self.batch.delete_namespaced_job(name, namespace, propagation_policy="Background")

    def pod_phases(self, namespace: str, job: str) -> dict[str, str]:
        selector = f"batch.kubernetes.io/job-name={job}"
        pods = self._plain(self.core.list_namespaced_pod(namespace, label_selector=selector))
        return {pod["metadata"]["name"]: pod.get("status", {}).get("phase", "Pending") for pod in pods["items"]}

    def logs(self, namespace: str, pod: str, container: str, timeout_s: float) -> Iterator[bytes]:
        try:
            # Without preloading, the client answers the raw HTTP response, to read as it comes.
            response = cast(BaseHTTPResponse, self.core.read_namespaced_pod_log(
                pod, namespace, container=container, follow=True, _preload_content=False,
                _request_timeout=(10, timeout_s)))
            try:
                yield from response.stream(4096)
            finally:
                response.release_conn()
        except ApiException as error:
            raise LogsUnavailable(api_message(error)) from None
        except HTTPError as error:
            raise LogsUnavailable(str(error)) from None

    def conditions(self, namespace: str, job: str) -> list[dict[str, str]]:
        status = self._plain(self.batch.read_namespaced_job_status(job, namespace)).get("status", {})
        return list(status.get("conditions", []))
