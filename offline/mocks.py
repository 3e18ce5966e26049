"""Deterministic offline mocks: the program runs as under `pulumi up`, with no engine, cloud or cluster.

Every resource type the program uses gets realistic computed outputs (ids, generated secrets, keys,
endpoints), derived from its URN so that two evaluations of a stack are identical. In a preview, as the engine
does for a resource it would create, a resource's outputs are what the program gave it: whatever the provider
computes is unknown, so code that needs a computed value during a preview is seen to skip what it would create.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks

from offline import aws, azure, gcp
from offline.deterministic import deterministic_alphanumeric, private_key_outputs, seed_bytes


def _generated(typ: str, name: str, urn: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What the random, tls and helm providers compute."""
    if typ in ("random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString"):
        return {"result": deterministic_alphanumeric(int(inputs.get("length", 16)), urn)}
    if typ == "random:index/randomUuid:RandomUuid":
        return {"result": str(uuid.UUID(bytes=seed_bytes(urn)[:16], version=4))}
    if typ == "random:index/randomId:RandomId":
        raw = seed_bytes(urn)[: int(inputs.get("byteLength", 8))]
        return {"hex": raw.hex(), "dec": str(int.from_bytes(raw, "big"))}
    if typ == "tls:index/privateKey:PrivateKey":
        return private_key_outputs(urn)
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


def _unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    return isinstance(value, Unknown)


def _placeholders(value: Any) -> Any:
    """The inputs with their unknowns (a preview's) as strings, for computing outputs from."""
    if isinstance(value, dict):
        return {k: _placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v) for v in value]
    return "unknown" if isinstance(value, Unknown) else value


class OfflineMocks(pulumi_mocks.Mocks):
    """One evaluation's mocks: what they remember (Google Cloud's allocated address ranges) lives here."""

    def __init__(self, project: str, stack: str, preview: bool = False,
                 stack_references: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.project, self.stack, self.preview = project, stack, preview
        self.gcp_allocated_ranges: dict[str, str] = {}
        self.stack_references = dict(stack_references or {})
        """The outputs of the other stacks a StackReference reads, by stack name."""

    def computed_outputs(self, typ: str, name: str, urn: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Outputs the provider would compute for `typ`, so that `apply` code runs as it would for real."""
        if typ.startswith("aws:") and not typ.startswith("aws:index/"):
            return aws.outputs(typ, name, inputs)
        if typ.startswith("gcp:"):
            return gcp.outputs(typ, name, inputs, self.gcp_allocated_ranges)
        if typ.startswith("azure-native:"):
            return azure.outputs(typ, name, inputs)
        return _generated(typ, name, urn, inputs)

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            # Read from the backend, in a preview too; a stack that does not exist has no output.
            name = str(args.inputs["name"])
            return name, {"name": name, "outputs": dict(self.stack_references.get(name, {})), "secretOutputNames": []}
        urn_seed = f"{args.typ}::{args.name}"
        inputs = dict(args.inputs)
        outputs = {**inputs, **self.computed_outputs(args.typ, args.name, urn_seed, _placeholders(inputs))}
        if self.preview:
            # Only what the program gave, in the shape the provider answers it (Azure returns some lists as maps);
            # what the program did not know yet stays unknown.
            outputs = {key: value if not _unknown(value) else inputs[key]
                       for key, value in outputs.items() if key in inputs}
        metadata = outputs.get("metadata")
        if isinstance(metadata, dict) and "name" not in metadata and args.typ.startswith("kubernetes:"):
            # The Kubernetes provider names an object in its check, so the name is known in a preview too.
            outputs["metadata"] = {**metadata, "name": f"{args.name}-{hashlib.sha1(urn_seed.encode()).hexdigest()[:8]}"}
        if self.preview:
            return "", outputs  # no id yet: unknown
        # The provider's id where the computed outputs name one (ARM ids, bucket names), else a stand-in.
        resource_id = args.resource_id or (str(outputs.get("id") or f"{args.name}-id") if args.custom else None)
        if isinstance(metadata, dict) and args.typ.startswith("kubernetes:") and "name" in metadata:
            namespace = metadata.get("namespace")
            resource_id = f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])
        return resource_id, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{aws.MOCK_REGION}{zone}" for zone in "abc"]
            return {"names": names, "zoneIds": [f"euw1-az{i}" for i in (1, 2, 3)], "id": aws.MOCK_REGION}, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": aws.MOCK_ACCOUNT, "arn": f"arn:aws:iam::{aws.MOCK_ACCOUNT}:user/mock",
                    "userId": "AIDAMOCK", "id": aws.MOCK_ACCOUNT}, []
        for cloud_call in (gcp.call, azure.call):
            result = cloud_call(args.token, dict(args.args))
            if result is not None:
                return result, []
        return {}, []
