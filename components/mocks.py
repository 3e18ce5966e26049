"""Deterministic offline mocks: the program runs as under `pulumi up`, with no engine, cloud or cluster.

Every resource type the program uses gets realistic computed outputs (ids, generated secrets, keys,
endpoints), derived from its URN so that two evaluations of a stack are identical. A recording monitor keeps
each registration as the engine would receive it: inputs, parent, provider reference and resource options.
"""

from __future__ import annotations

import functools
import hashlib
import string
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from Crypto.PublicKey import RSA
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _sync_await

_ALPHANUMERIC = string.ascii_letters + string.digits
MOCK_RSA_KEYS = 2  # a small pool: a 2048-bit key costs ~0.3 s to generate, and the tests need only distinctness


@dataclass
class Registration:
    """One resource as the engine receives it."""

    type: str
    name: str
    urn: str
    id: str | None
    custom: bool
    parent: str
    provider: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    depends_on: list[str]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]


@dataclass
class Recording:
    resources: dict[str, Registration] = field(default_factory=dict)
    duplicate_urns: list[str] = field(default_factory=list)
    stack_outputs: dict[str, Any] = field(default_factory=dict)


def _seed(*parts: str) -> bytes:
    return hashlib.sha256("\x00".join(parts).encode()).digest()


def deterministic_alphanumeric(length: int, *seed: str) -> str:
    out, counter = "", 0
    while len(out) < length:
        block = hashlib.sha256(_seed(*seed) + counter.to_bytes(4, "big")).digest()
        out += "".join(_ALPHANUMERIC[b % len(_ALPHANUMERIC)] for b in block)
        counter += 1
    return out[:length]


class _Drbg:
    """A deterministic byte stream (SHA-512 in counter mode) for reproducible mock key generation."""

    def __init__(self, seed: bytes) -> None:
        self._seed, self._buffer, self._counter = seed, b"", 0

    def __call__(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._buffer += hashlib.sha512(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


_KEY_LOCK = threading.Lock()


@functools.cache
def _mock_key_material(slot: int) -> dict[str, str]:
    key = RSA.generate(2048, randfunc=_Drbg(_seed("openedx-mock-rsa", str(slot))))
    public = key.public_key()
    return {
        "privateKeyPem": key.export_key("PEM").decode() + "\n",
        "privateKeyPemPkcs8": key.export_key("PEM", pkcs=8).decode() + "\n",
        "publicKeyPem": public.export_key("PEM").decode() + "\n",
        "privateKeyOpenssh": "",
        "publicKeyOpenssh": public.export_key("OpenSSH").decode() + "\n",
        "publicKeyFingerprintMd5": "",
        "publicKeyFingerprintSha256": "",
        "id": hashlib.sha1(public.export_key("DER")).hexdigest(),
    }


def _private_key_outputs(name: str) -> dict[str, str]:
    """A key from a small deterministic pool; the lock keeps concurrent registrations from generating twice."""
    with _KEY_LOCK:
        return _mock_key_material(int.from_bytes(_seed(name)[:4], "big") % MOCK_RSA_KEYS)


MOCK_ACCOUNT = "123456789012"
MOCK_REGION = "eu-west-1"


def _aws_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Computed outputs of the AWS resources the program uses (addresses, ARNs, generated names)."""
    short = hashlib.sha1(name.encode()).hexdigest()[:12]
    outputs: dict[str, Any] = {
        "arn": f"arn:aws:mock:{MOCK_REGION}:{MOCK_ACCOUNT}:{name}",
        "name": inputs.get("name", name),
    }
    if typ == "aws:eks/cluster:Cluster":
        cluster = inputs.get("name", name)
        outputs |= {
            "endpoint": f"https://{short.upper()}.gr7.{MOCK_REGION}.eks.amazonaws.com",
            "certificateAuthority": {
                "data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCm1vY2sKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
            },
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{MOCK_REGION}.amazonaws.com/id/{short.upper()}"}]}],
            "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{short}"},
            "arn": f"arn:aws:eks:{MOCK_REGION}:{MOCK_ACCOUNT}:cluster/{cluster}",
        }
    elif typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        outputs["arn"] = (
            f"arn:aws:iam::{MOCK_ACCOUNT}:oidc-provider/{str(inputs.get('url', '')).removeprefix('https://')}"
        )
    elif typ == "aws:iam/role:Role":
        outputs["arn"] = f"arn:aws:iam::{MOCK_ACCOUNT}:role/{name}-{short[:7]}"
        outputs["name"] = f"{name}-{short[:7]}"
    elif typ == "aws:rds/instance:Instance":
        outputs |= {
            "address": f"{name}.{short}.{MOCK_REGION}.rds.amazonaws.com",
            "port": 3306,
            "endpoint": f"{name}.{short}.{MOCK_REGION}.rds.amazonaws.com:3306",
        }
    elif typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}{short}"
        outputs |= {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "id": bucket}
    elif typ in ("aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup"):
        outputs["name"] = inputs.get("name", f"{name}-{short[:7]}")
    return outputs


MOCK_GCP_PROJECT = "openedx-mock"
MOCK_GCP_REGION = "europe-west1"


def _gcp_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Computed outputs of the Google Cloud resources the program uses."""
    return {}


def _gcp_call(token: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """Results of the Google Cloud invokes the program makes (None: not a Google Cloud invoke)."""
    return None


MOCK_AZURE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
MOCK_AZURE_LOCATION = "westeurope"


def _azure_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Computed outputs of the Azure resources the program uses."""
    return {}


def _azure_call(token: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """Results of the Azure invokes the program makes (None: not an Azure invoke)."""
    return None


def _computed_outputs(typ: str, name: str, urn: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs the provider would compute for `typ`, so that `apply` code runs as it would for real."""
    if typ.startswith("aws:") and not typ.startswith("aws:index/"):
        return _aws_outputs(typ, name, inputs)
    if typ.startswith("gcp:"):
        return _gcp_outputs(typ, name, inputs)
    if typ.startswith("azure-native:"):
        return _azure_outputs(typ, name, inputs)
    if typ in ("random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString"):
        return {"result": deterministic_alphanumeric(int(inputs.get("length", 16)), urn)}
    if typ == "random:index/randomUuid:RandomUuid":
        return {"result": str(uuid.UUID(bytes=_seed(urn)[:16], version=4))}
    if typ == "random:index/randomId:RandomId":
        raw = _seed(urn)[: int(inputs.get("byteLength", 8))]
        return {"hex": raw.hex(), "dec": str(int.from_bytes(raw, "big"))}
    if typ == "tls:index/privateKey:PrivateKey":
        return _private_key_outputs(urn)
    if typ == "kubernetes:helm.sh/v3:Release":
        chart = inputs.get("chart", "")
        return {
            "status": {
                "name": inputs.get("name", name),
                "namespace": inputs.get("namespace", "default"),
                "chart": chart.rstrip("/").rsplit("/", 1)[-1],
                "version": inputs.get("version", ""),
                "status": "deployed",
                "revision": 1,
            }
        }
    return {}


class OfflineMocks(pulumi_mocks.Mocks):
    def __init__(self, project: str, stack: str) -> None:
        self.project, self.stack = project, stack

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        urn_seed = f"{args.typ}::{args.name}"
        outputs = {**args.inputs, **_computed_outputs(args.typ, args.name, urn_seed, args.inputs)}
        metadata = outputs.get("metadata")
        if isinstance(metadata, dict) and "name" not in metadata and args.typ.startswith("kubernetes:"):
            outputs["metadata"] = {**metadata, "name": f"{args.name}-{hashlib.sha1(urn_seed.encode()).hexdigest()[:8]}"}
        resource_id = args.resource_id or (f"{args.name}-id" if args.custom else None)
        if isinstance(metadata, dict) and args.typ.startswith("kubernetes:") and "name" in metadata:
            namespace = metadata.get("namespace")
            resource_id = f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])
        return resource_id, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{MOCK_REGION}{zone}" for zone in "abc"]
            return {"names": names, "zoneIds": [f"euw1-az{i}" for i in (1, 2, 3)], "id": MOCK_REGION}, []
        for cloud_call in (_gcp_call, _azure_call):
            result = cloud_call(args.token, dict(args.args))
            if result is not None:
                return result, []
        return {}, []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, keeping what the engine would receive with each registration."""

    def __init__(self, mocks: OfflineMocks) -> None:
        super().__init__(mocks)
        self.recording = Recording()

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        urn = response.urn
        if request.additionalSecretOutputs:
            response = self._with_secret_outputs(response, set(request.additionalSecretOutputs))
        if urn in self.recording.resources:
            self.recording.duplicate_urns.append(urn)
        registered = self.resources[urn]
        self.recording.resources[urn] = Registration(
            type=request.type,
            name=request.name,
            urn=urn,
            id=registered.id,
            custom=bool(request.custom),
            parent=request.parent,
            provider=request.provider,
            inputs=_plain(json_format.MessageToDict(request.object)),
            outputs=_plain(registered.state),
            depends_on=sorted(request.dependencies),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=list(request.ignoreChanges),
        )
        return response

    def _with_secret_outputs(self, response: Any, secret_names: set[str]) -> Any:
        """The engine marks a provider's declared secret outputs (generated passwords, private keys) as secrets."""
        state = self.resources[response.urn].state
        wrapped = {
            k: {rpc._special_sig_key: rpc._special_secret_sig, "value": v} if k in secret_names else v
            for k, v in state.items()
        }
        properties = _sync_await(rpc.serialize_properties(wrapped, {}))
        return resource_pb2.RegisterResourceResponse(urn=response.urn, id=response.id, object=properties)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.recording.stack_outputs = _plain(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)


def _plain(value: Any) -> Any:
    """JSON-safe copy: resource references and other SDK objects become strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
