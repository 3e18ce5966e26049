"""Kubernetes: no privileged or root pods, restricted namespaces, no credentials in ConfigMaps."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .common import (
    at_path,
    is_true,
    kind_of,
    listed,
    number,
)

# --- 7. Kubernetes: no privileged or root pods; restricted namespaces ---------------------------------------------

POD_SPEC_PATHS = {
    "Pod": "spec",
    "Deployment": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec",
    "ReplicationController": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})  # what the restricted Pod Security Standard allows


def _pod_problems(pod: Mapping[str, Any]) -> Iterator[str]:
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if is_true(pod.get(host)):
            yield f"{host} is true"
    pod_context = pod.get("securityContext")
    pod_context = pod_context if isinstance(pod_context, Mapping) else {}
    for field in CONTAINER_LISTS:
        for container in listed(pod.get(field)):
            if not isinstance(container, Mapping):
                continue
            name = f"{field}[{container.get('name', '?')}]"
            context = container.get("securityContext")
            context = context if isinstance(context, Mapping) else {}
            if is_true(context.get("privileged")):
                yield f"{name}: securityContext.privileged is true"
            if context.get("allowPrivilegeEscalation") is not False:
                yield (f"{name}: securityContext.allowPrivilegeEscalation is "
                       f"{context.get('allowPrivilegeEscalation')!r}; it must be false (Kubernetes defaults to true)")
            non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
            if not is_true(non_root):
                yield f"{name}: runAsNonRoot is {non_root!r} (container or pod securityContext); it must be true"
            user = context.get("runAsUser", pod_context.get("runAsUser"))
            if number(user) == 0:
                yield f"{name}: runAsUser is 0 (root)"
            added = {str(c) for c in listed(at_path(context, "capabilities.add"))} - ALLOWED_ADDED_CAPABILITIES
            if added:
                yield f"{name}: adds capabilities {sorted(added)}; only NET_BIND_SERVICE is allowed"


def _check_pods(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    package, kind = kind_of(args.resource_type)
    if package != "kubernetes" or kind not in POD_SPEC_PATHS:
        return
    pod = at_path(args.props, POD_SPEC_PATHS[kind])
    if not isinstance(pod, Mapping):
        return
    problems = list(_pod_problems(pod))
    if problems:
        report_violation(f"{kind} '{args.name}' would run a privileged or root container: " + "; ".join(problems)
                         + ".", None)


NO_PRIVILEGED_PODS = ResourceValidationPolicy(
    name="no-privileged-or-root-pods",
    description="Workloads the program creates directly (Pods, Deployments, StatefulSets, DaemonSets, "
    "ReplicaSets, Jobs, CronJobs) run no privileged container, no host namespaces, no privilege escalation "
    "(allowPrivilegeEscalation false on every container), as non-root (runAsNonRoot true, runAsUser not 0), and "
    "add no capability but NET_BIND_SERVICE.",
    validate=_check_pods,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
)

POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"


def _check_namespace(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != "kubernetes:core/v1:Namespace":
        return
    labels = at_path(args.props, "metadata.labels")
    level = labels.get(POD_SECURITY_ENFORCE_LABEL) if isinstance(labels, Mapping) else None
    if level != "restricted":
        report_violation(
            f"Namespace '{args.name}' has {POD_SECURITY_ENFORCE_LABEL}={level!r}: label it \"restricted\", so the "
            "API server rejects privileged or root pods from every chart installed in it.",
            None,
        )


RESTRICTED_NAMESPACES = ResourceValidationPolicy(
    name="namespaces-enforce-restricted-pod-security",
    description=f"Every Namespace the program creates carries the label {POD_SECURITY_ENFORCE_LABEL}: "
    "restricted. The instances' workloads live inside Helm Releases, which policies cannot see into: the "
    "namespace label is what makes the cluster enforce the restricted Pod Security Standard on them.",
    validate=_check_namespace,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
)


# --- 8. no credentials in ConfigMaps --------------------------------------------------------------------------------

_CREDENTIAL_WORDS = r"passw(?:or)?d|secret|token|api[-_.]?key|private[-_.]?key|credentials?|access[-_.]?key"
CREDENTIAL_NAME = re.compile(rf"(?i){_CREDENTIAL_WORDS}")
# Names *about* a credential rather than holding one: `existingSecret`, `TOKEN_TTL`, `PASSWORD_RESET_TIMEOUT`, ...
CREDENTIAL_METADATA_NAME = re.compile(
    r"(?i)(?:^existing|(?:name|names|ref|file|path|dir|url|uri|endpoint|ttl|expiry|expiration|age|length|lifetime"
    r"|timeout|header|field|algorithm|hashers|validators|backend|class|type|source|mount|enabled|required)$)"
)
CREDENTIAL_VALUE_PATTERNS = (
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"), "a PEM private key"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with an embedded password"),
)
# `PASSWORD = "x"`, `secret_key: x`, `"apiToken": "x"` on a line of a config file. Placeholders (`${X}`, `{{ x }}`,
# `%(x)s`, `<x>`), lists, maps, empty values and null/booleans are not literal credentials.
CREDENTIAL_ASSIGNMENT = re.compile(
    r"""(?m)^[\s"'-]*(?P<name>[\w.-]+)["']?\s*[:=]\s*["']?(?P<value>[^\s"'#,;{}\[\]$<%][^\s"'#,;]*)"""
)
NON_CREDENTIAL_VALUES = frozenset({"none", "null", "true", "false", "~"})


def names_credential(name: str) -> bool:
    """Whether a key (`DB_PASSWORD`, `api-token`) names a credential, not metadata about one (`TOKEN_TTL`)."""
    return bool(CREDENTIAL_NAME.search(name)) and not CREDENTIAL_METADATA_NAME.search(name)


def credential_findings(text: str) -> list[str]:
    """What in a ConfigMap value looks like a credential."""
    found = [what for pattern, what in CREDENTIAL_VALUE_PATTERNS if pattern.search(text)]
    found.extend(
        f"an assignment to {m['name']}"
        for m in CREDENTIAL_ASSIGNMENT.finditer(text)
        if names_credential(m["name"]) and m["value"].lower() not in NON_CREDENTIAL_VALUES
    )
    return found


def _check_configmap(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in ("kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:ConfigMapPatch"):
        return
    findings: list[str] = []
    for field in ("data", "binaryData"):
        entries = args.props.get(field)
        if not isinstance(entries, Mapping):
            continue
        for key, value in entries.items():
            if names_credential(str(key)):
                findings.append(f"{field} key '{key}' names a credential")
            if field == "data" and isinstance(value, str):
                findings.extend(f"{field}['{key}'] contains {what}" for what in credential_findings(value))
    if findings:
        report_violation(
            f"ConfigMap '{args.name}' looks like it holds credentials ({'; '.join(findings)}): put them in a "
            "Secret (settings go in the instance's immutable settings Secret) and reference it.",
            None,
        )


NO_CREDENTIALS_IN_CONFIGMAPS = ResourceValidationPolicy(
    name="no-credentials-in-configmaps",
    description="No ConfigMap holds credentials: no data/binaryData key naming a password, secret, token, API "
    "key, private key or credential, and no value containing a PEM private key, an AWS access key id, a URL with "
    "a password, or a literal password/secret/token assignment. ConfigMaps fall outside the RBAC and "
    "at-rest encryption that protect Secrets.",
    validate=_check_configmap,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
)
