"""What the engine would receive: every registration with its inputs, parent, provider and options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _sync_await


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



class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, keeping what the engine would receive with each registration."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
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
