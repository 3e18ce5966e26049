"""The security baseline of an Open edX deployment, as Pulumi policies.

Importable without side effects: `__main__.py` serves `POLICIES` to the Pulumi CLI as a policy pack, and the
tests call each policy's `validate` on the resources recorded from every example stack.

What every policy sees is the resource's *inputs* as the program declared them (stack policies: the outputs
after an update), in camelCase wire names, without the defaults the provider computes later. So a rule only
accepts a missing property where the provider's documented default already satisfies it (for example RDS
`publiclyAccessible`, which defaults to false); everything else must be stated explicitly.

This module depends on nothing but `pulumi-policy` (and the `pulumi` SDK it brings): the pack runs in its own
virtualenv, without the program's packages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

import pulumi.runtime
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

# --- shared helpers -------------------------------------------------------------------------------------------

ENVIRONMENT_KEY = "openedx:environment"  # the stack config key; the program's default is dev
DEFAULT_ENVIRONMENT = "dev"
ENVIRONMENTS = ["dev", "staging", "production"]
ENVIRONMENT_SCHEMA = PolicyConfigSchema(
    properties={
        "environment": {
            "type": "string",
            "enum": ENVIRONMENTS,
            "description": "Overrides the stack's openedx:environment for this policy (e.g. to hold a staging "
            "stack to production rules).",
        }
    }
)

MIN_BACKUP_RETENTION_DAYS = 7
CHART_INIT_DEADLINE = 3000  # seconds: the openedx chart's init.activeDeadlineSeconds when the values leave it unset
MAX_RELEASE_HISTORY = 20  # revisions Helm keeps per Release (each one a Secret holding the whole manifest)


def _get(props: Any, path: str) -> Any:
    """The value at a dotted path of nested mappings, or None if any step is missing."""
    value = props
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _is_true(value: Any) -> bool:
    return value is True


def _number(value: Any) -> float | None:
    """Numbers arrive as floats (protobuf Struct); booleans are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _items(value: Any) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


def _kind(resource_type: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` → (`kubernetes`, `Deployment`)."""
    parts = resource_type.split(":")
    return parts[0], parts[-1]


def stack_environment(policy_config: Mapping[str, Any]) -> str:
    """The stack's environment: the policy's own `environment` setting if an operator gave one, else the stack
    config `openedx:environment`, which the CLI hands every policy pack in the PULUMI_CONFIG environment
    variable (`args.get_config()` is the policy-pack config, not the stack's), else the program's default."""
    value = policy_config.get("environment")
    if value is None:
        value = pulumi.runtime.get_config_env().get(ENVIRONMENT_KEY)
    return str(value) if value else DEFAULT_ENVIRONMENT


def _production(args: ResourceValidationArgs) -> bool:
    return stack_environment(args.get_config()) == "production"


# --- 1. encryption of databases and caches ---------------------------------------------------------------------

GCP_SQL_TLS_MODES = ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")


def _check_database_encryption(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props, kind = args.props, args.resource_type
    if kind in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:docdb/cluster:Cluster"):
        if not _is_true(props.get("storageEncrypted")):
            report_violation(
                f"storageEncrypted is {props.get('storageEncrypted')!r}, not true: set storage_encrypted=True "
                "(and kms_key_id for a customer-managed key). An existing unencrypted database can only be "
                "encrypted by restoring an encrypted snapshot copy.",
                None,
            )
    elif kind == "aws:elasticache/replicationGroup:ReplicationGroup":
        for prop, arg in (("atRestEncryptionEnabled", "at_rest_encryption_enabled"),
                          ("transitEncryptionEnabled", "transit_encryption_enabled")):
            if not _is_true(props.get(prop)):
                report_violation(f"{prop} is {props.get(prop)!r}, not true: set {arg}=True.", None)
    elif kind == "gcp:sql/databaseInstance:DatabaseInstance":
        # Cloud SQL always encrypts at rest (Google-managed keys; CMEK via encryptionKeyName is optional).
        # What a stack can get wrong is transport: the default accepts unencrypted connections.
        ssl_mode = _get(props, "settings.ipConfiguration.sslMode")
        require_ssl = _get(props, "settings.ipConfiguration.requireSsl")
        if ssl_mode not in GCP_SQL_TLS_MODES and not _is_true(require_ssl):
            report_violation(
                f"settings.ipConfiguration.sslMode is {ssl_mode!r}: set it to ENCRYPTED_ONLY (or "
                "TRUSTED_CLIENT_CERTIFICATE_REQUIRED); the default also accepts unencrypted connections.",
                None,
            )
        if "encryptionKeyName" in props and not props.get("encryptionKeyName"):
            report_violation("encryptionKeyName is empty: name a Cloud KMS key, or omit it for Google-managed keys.",
                             None)
    elif kind == "gcp:redis/instance:Instance":
        # Memorystore always encrypts at rest; transport encryption is opt-in.
        if props.get("transitEncryptionMode") != "SERVER_AUTHENTICATION":
            report_violation(
                f"transitEncryptionMode is {props.get('transitEncryptionMode')!r}: set SERVER_AUTHENTICATION "
                "(Open edX then needs the rediss:// settings patch).",
                None,
            )
    elif kind == "azure-native:dbformysql:Server":
        # Flexible Server always encrypts at rest (service-managed keys); a customer key must be complete.
        if _get(props, "dataEncryption.type") == "AzureKeyVault":
            for prop in ("primaryKeyURI", "primaryUserAssignedIdentityId"):
                if not _get(props, f"dataEncryption.{prop}"):
                    report_violation(f"dataEncryption.type is AzureKeyVault but dataEncryption.{prop} is not set.",
                                     None)
    elif kind == "azure-native:redis:Redis":
        if _is_true(props.get("enableNonSslPort")):
            report_violation("enableNonSslPort is true: the plain-text port 6379 must stay closed.", None)
        if props.get("minimumTlsVersion") not in ("1.2", "1.3"):
            report_violation(f"minimumTlsVersion is {props.get('minimumTlsVersion')!r}: set \"1.2\".", None)
    elif kind == "azure-native:redisenterprise:Database" and props.get("clientProtocol") == "Plaintext":
        report_violation("clientProtocol is Plaintext: use Encrypted (the default).", None)


ENCRYPTED_DATABASES = ResourceValidationPolicy(
    name="encrypted-databases-and-caches",
    description="Managed databases and caches encrypt data at rest, and in transit where the service makes it "
    "optional: RDS/Aurora/DocumentDB storageEncrypted, ElastiCache at-rest and transit encryption, Cloud SQL TLS "
    "only, Memorystore TLS, Azure MySQL customer keys complete, Azure Redis TLS only.",
    validate=_check_database_encryption,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps="Set the property named in the message in the cloud adapter that creates the resource.",
)


# --- 2. encryption of object storage ---------------------------------------------------------------------------

AZURE_TLS_VERSIONS = ("TLS1_2", "TLS1_3")
AZURE_KEY_SOURCES = ("Microsoft.Storage", "Microsoft.Keyvault")


def _check_object_storage_encryption(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props, kind = args.props, args.resource_type
    if kind == "gcp:storage/bucket:Bucket":
        # GCS always encrypts at rest with Google-managed keys; CMEK is optional. If a stack opts into CMEK,
        # the key must be named.
        if "encryption" in props and not _get(props, "encryption.defaultKmsKeyName"):
            report_violation("encryption is set without encryption.defaultKmsKeyName: name a Cloud KMS key, or "
                             "omit encryption for Google-managed keys.", None)
    elif kind == "azure-native:storage:StorageAccount":
        # Azure Storage always encrypts at rest; a stack can only weaken transport, or misconfigure the key.
        # Defaults of these properties differ between Azure API versions, so they must be explicit.
        if not _is_true(props.get("enableHttpsTrafficOnly")):
            report_violation(f"enableHttpsTrafficOnly is {props.get('enableHttpsTrafficOnly')!r}: set it to true.",
                             None)
        if props.get("minimumTlsVersion") not in AZURE_TLS_VERSIONS:
            report_violation(f"minimumTlsVersion is {props.get('minimumTlsVersion')!r}: set TLS1_2.", None)
        encryption = props.get("encryption")
        if isinstance(encryption, Mapping):
            key_source = encryption.get("keySource")
            if key_source is not None and key_source not in AZURE_KEY_SOURCES:
                report_violation(f"encryption.keySource is {key_source!r}: use Microsoft.Storage or "
                                 "Microsoft.Keyvault.", None)
            if key_source == "Microsoft.Keyvault" and not _get(encryption, "keyVaultProperties.keyName"):
                report_violation("encryption.keySource is Microsoft.Keyvault but encryption.keyVaultProperties "
                                 "names no key.", None)
            services = encryption.get("services")
            for service, setting in (services.items() if isinstance(services, Mapping) else ()):
                if isinstance(setting, Mapping) and setting.get("enabled") is False:
                    report_violation(f"encryption.services.{service}.enabled is false.", None)


ENCRYPTED_OBJECT_STORAGE = ResourceValidationPolicy(
    name="encrypted-object-storage",
    description="Buckets and storage accounts outside AWS are encrypted and reachable over TLS only: a GCS bucket "
    "that opts into CMEK names its key; an Azure storage account sets enableHttpsTrafficOnly, "
    "minimumTlsVersion TLS1_2 or later, and does not disable or misconfigure encryption. (GCS and Azure Storage "
    "always encrypt at rest; S3 buckets are covered by s3-buckets-encrypted.)",
    validate=_check_object_storage_encryption,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
)


# --- 3. S3: every bucket has an encryption configuration and a public access block ------------------------------

S3_BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_SSE_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_PUBLIC_ACCESS_BLOCK_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
S3_SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")


def _bucket_identities(bucket: PolicyResource) -> set[str]:
    """Values a side resource's `bucket` property may hold for this bucket: its id or its name."""
    found = set()
    for key in ("id", "bucket"):
        value = bucket.props.get(key)
        if isinstance(value, str) and value:
            found.add(value)
    return found


def _configures(side: PolicyResource, bucket: PolicyResource) -> bool:
    """Whether `side` (an SSE configuration, a public access block) belongs to `bucket`: by dependency (works
    in preview, when the bucket's id is still unknown), else by the value of its `bucket` property."""
    related = list(side.property_dependencies.get("bucket", [])) + list(side.dependencies)
    if any(r.urn == bucket.urn for r in related):
        return True
    target = side.props.get("bucket")
    return isinstance(target, str) and target in _bucket_identities(bucket)


def _side_resources(resources: Iterable[PolicyResource], types: Sequence[str]) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def _sse_problem(config: PolicyResource) -> str | None:
    rules = _items(config.props.get("rules"))
    algorithms = [_get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm") for rule in rules]
    if not any(a in S3_SSE_ALGORITHMS for a in algorithms):
        return f"'{config.name}' sets no default encryption algorithm (rules: {algorithms!r})"
    return None


def _check_s3_encryption(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    configs = _side_resources(args.resources, S3_SSE_TYPES)
    for bucket in (r for r in args.resources if r.resource_type in S3_BUCKET_TYPES):
        mine = [c for c in configs if _configures(c, bucket)]
        if not mine:
            report_violation(
                f"S3 bucket '{bucket.name}' has no aws.s3.BucketServerSideEncryptionConfiguration: add one with "
                "apply_server_side_encryption_by_default.sse_algorithm 'aws:kms' (or 'AES256').",
                bucket.urn,
            )
        for config in mine:
            problem = _sse_problem(config)
            if problem:
                report_violation(f"S3 bucket '{bucket.name}': encryption configuration {problem}.", config.urn)


S3_BUCKETS_ENCRYPTED = StackValidationPolicy(
    name="s3-buckets-encrypted",
    description="Every S3 bucket has its own aws.s3.BucketServerSideEncryptionConfiguration resource with a "
    "default algorithm (aws:kms, aws:kms:dsse or AES256), so the encryption is declared and reviewed.",
    validate=_check_s3_encryption,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
)


def _check_s3_public_access(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    blocks = _side_resources(args.resources, (S3_PUBLIC_ACCESS_BLOCK_TYPE,))
    for bucket in (r for r in args.resources if r.resource_type in S3_BUCKET_TYPES):
        mine = [b for b in blocks if _configures(b, bucket)]
        if not mine:
            report_violation(
                f"S3 bucket '{bucket.name}' has no aws.s3.BucketPublicAccessBlock: add one with "
                f"{', '.join(S3_PUBLIC_ACCESS_FLAGS)} all true.",
                bucket.urn,
            )
        for block in mine:
            off = [flag for flag in S3_PUBLIC_ACCESS_FLAGS if not _is_true(block.props.get(flag))]
            if off:
                report_violation(
                    f"S3 bucket '{bucket.name}': public access block '{block.name}' leaves {', '.join(off)} "
                    "not true; all four flags must be true.",
                    block.urn,
                )


S3_BUCKETS_PRIVATE = StackValidationPolicy(
    name="s3-buckets-block-public-access",
    description="Every S3 bucket has an aws.s3.BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, "
    "ignorePublicAcls and restrictPublicBuckets all true. Media is served through signed URLs, never publicly.",
    validate=_check_s3_public_access,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
)


# --- 4. no public buckets (GCS, Azure, S3 ACLs) ------------------------------------------------------------------

PUBLIC_S3_ACLS = ("public-read", "public-read-write", "authenticated-read")


def _check_public_buckets(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props, kind = args.props, args.resource_type
    if kind == "gcp:storage/bucket:Bucket":
        if props.get("publicAccessPrevention") != "enforced":
            report_violation(f"publicAccessPrevention is {props.get('publicAccessPrevention')!r}: set \"enforced\" "
                             "(the default, inherited, lets IAM grants make objects public).", None)
        if not _is_true(props.get("uniformBucketLevelAccess")):
            report_violation("uniformBucketLevelAccess is not true: set it, so object ACLs cannot grant access.",
                             None)
    elif kind == "azure-native:storage:StorageAccount":
        if props.get("allowBlobPublicAccess") is not False:
            report_violation(f"allowBlobPublicAccess is {props.get('allowBlobPublicAccess')!r}: set it to false "
                             "explicitly (its default depends on the API version).", None)
    elif kind in (*S3_BUCKET_TYPES, "aws:s3/bucketAcl:BucketAcl"):
        acl = props.get("acl")
        if acl in PUBLIC_S3_ACLS:
            report_violation(f"acl is {acl!r}: buckets stay private (BucketOwnerEnforced, no public ACL).", None)


NO_PUBLIC_BUCKETS = ResourceValidationPolicy(
    name="no-public-buckets",
    description="Buckets cannot be made public: GCS buckets enforce public access prevention and uniform "
    "bucket-level access; Azure storage accounts set allowBlobPublicAccess false; no S3 bucket or BucketAcl "
    "uses a public canned ACL.",
    validate=_check_public_buckets,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
)


# --- 5. no publicly reachable database ----------------------------------------------------------------------------


def _check_public_databases(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props, kind = args.props, args.resource_type
    if kind in ("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"):
        if _is_true(props.get("publiclyAccessible")):
            report_violation("publiclyAccessible is true: set publicly_accessible=False and reach the database "
                             "from the cluster through its security group.", None)
    elif kind == "gcp:sql/databaseInstance:DatabaseInstance":
        if _get(props, "settings.ipConfiguration.ipv4Enabled") is not False:
            report_violation(
                f"settings.ipConfiguration.ipv4Enabled is {_get(props, 'settings.ipConfiguration.ipv4Enabled')!r}: "
                "set it to false (the default, true, gives the instance a public IP) and use private_network.",
                None,
            )
    elif kind == "azure-native:dbformysql:Server":
        access = _get(props, "network.publicNetworkAccess")
        if access != "Disabled":
            report_violation(f"network.publicNetworkAccess is {access!r}: set \"Disabled\" and use a delegated "
                             "subnet or a private endpoint.", None)


NO_PUBLIC_DATABASES = ResourceValidationPolicy(
    name="no-public-databases",
    description="Database servers are not reachable from the internet: RDS publiclyAccessible is not true, "
    "Cloud SQL settings.ipConfiguration.ipv4Enabled is false, Azure MySQL network.publicNetworkAccess is "
    "Disabled.",
    validate=_check_public_databases,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
)


# --- 6. production: backups and deletion protection ---------------------------------------------------------------


def _check_production_backups(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not _production(args):
        return
    props, kind = args.props, args.resource_type
    if kind in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:docdb/cluster:Cluster"):
        if not _is_true(props.get("deletionProtection")):
            report_violation(f"deletionProtection is {props.get('deletionProtection')!r} in production: set "
                             "deletion_protection=True.", None)
        retention = _number(props.get("backupRetentionPeriod"))
        if retention is None or retention < MIN_BACKUP_RETENTION_DAYS:
            report_violation(
                f"backupRetentionPeriod is {props.get('backupRetentionPeriod')!r} in production: keep at least "
                f"{MIN_BACKUP_RETENTION_DAYS} days of automated backups (AWS defaults to 1).",
                None,
            )
    elif kind == "gcp:sql/databaseInstance:DatabaseInstance":
        if props.get("deletionProtection") is False:  # the provider's default is true
            report_violation("deletionProtection is false in production: remove it or set it to true.", None)
        if not _is_true(_get(props, "settings.backupConfiguration.enabled")):
            report_violation("settings.backupConfiguration.enabled is not true in production: enable automated "
                             "backups (and binary logging for point-in-time recovery).", None)
        kept = _get(props, "settings.backupConfiguration.backupRetentionSettings.retainedBackups")
        if kept is not None and (_number(kept) or 0) < MIN_BACKUP_RETENTION_DAYS:  # default: 7
            report_violation(f"settings.backupConfiguration.backupRetentionSettings.retainedBackups is {kept!r}: "
                             f"keep at least {MIN_BACKUP_RETENTION_DAYS}.", None)
    elif kind == "azure-native:dbformysql:Server":
        days = _get(props, "backup.backupRetentionDays")
        if days is not None and (_number(days) or 0) < MIN_BACKUP_RETENTION_DAYS:  # default: 7
            report_violation(f"backup.backupRetentionDays is {days!r} in production: keep at least "
                             f"{MIN_BACKUP_RETENTION_DAYS}.", None)


PRODUCTION_BACKUPS = ResourceValidationPolicy(
    name="production-database-backups",
    description=f"In production (openedx:environment), databases keep at least {MIN_BACKUP_RETENTION_DAYS} days "
    "of automated backups and refuse deletion: RDS/Aurora/DocumentDB deletionProtection true and "
    f"backupRetentionPeriod >= {MIN_BACKUP_RETENTION_DAYS}; Cloud SQL backups enabled and deletionProtection "
    "not false; Azure MySQL backupRetentionDays not below the minimum.",
    validate=_check_production_backups,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=ENVIRONMENT_SCHEMA,
    severity=Severity.HIGH,
)


# Stateful resources that are stack-level when they are not inside an instance: clusters and shared data servers.
# Per-instance data (buckets, databases, volumes, an instance's own cache) is deliberately exempt: it is
# retain_on_delete or disposable, because protect would make removing one instance fail the whole update.
INSTANCE_COMPONENT = "openedx:index:Instance"
STATEFUL_STACK_TYPES = frozenset({
    "aws:eks/cluster:Cluster",
    "eks:index:Cluster",
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:docdb/cluster:Cluster",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:opensearch/domain:Domain",
    "gcp:container/cluster:Cluster",
    "gcp:sql/databaseInstance:DatabaseInstance",
    "gcp:redis/instance:Instance",
    "azure-native:containerservice:ManagedCluster",
    "azure-native:dbformysql:Server",
    "azure-native:mongocluster:MongoCluster",
    "azure-native:cosmosdb:MongoCluster",
    "azure-native:redis:Redis",
    "azure-native:redisenterprise:RedisEnterprise",
})


def _check_production_protect(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    inside_instance = f"::{INSTANCE_COMPONENT}$" in args.urn or f"${INSTANCE_COMPONENT}$" in args.urn
    if (args.resource_type in STATEFUL_STACK_TYPES and not inside_instance and _production(args)
            and not args.opts.protect):
        report_violation(
            f"{args.resource_type} '{args.name}' is a stack-level stateful resource without the protect option "
            "in production: create it with pulumi.ResourceOptions(protect=True).",
            None,
        )


PRODUCTION_PROTECT = ResourceValidationPolicy(
    name="production-stateful-resources-protected",
    description="In production, clusters and shared database/cache servers carry the `protect` resource "
    "option, so no `pulumi destroy` or replacing change can delete them.",
    validate=_check_production_protect,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=ENVIRONMENT_SCHEMA,
    severity=Severity.HIGH,
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
        if _is_true(pod.get(host)):
            yield f"{host} is true"
    pod_context = pod.get("securityContext")
    pod_context = pod_context if isinstance(pod_context, Mapping) else {}
    for field in CONTAINER_LISTS:
        for container in _items(pod.get(field)):
            if not isinstance(container, Mapping):
                continue
            name = f"{field}[{container.get('name', '?')}]"
            context = container.get("securityContext")
            context = context if isinstance(context, Mapping) else {}
            if _is_true(context.get("privileged")):
                yield f"{name}: securityContext.privileged is true"
            if context.get("allowPrivilegeEscalation") is not False:
                yield (f"{name}: securityContext.allowPrivilegeEscalation is "
                       f"{context.get('allowPrivilegeEscalation')!r}; it must be false (Kubernetes defaults to true)")
            non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
            if not _is_true(non_root):
                yield f"{name}: runAsNonRoot is {non_root!r} (container or pod securityContext); it must be true"
            user = context.get("runAsUser", pod_context.get("runAsUser"))
            if _number(user) == 0:
                yield f"{name}: runAsUser is 0 (root)"
            added = {str(c) for c in _items(_get(context, "capabilities.add"))} - ALLOWED_ADDED_CAPABILITIES
            if added:
                yield f"{name}: adds capabilities {sorted(added)}; only NET_BIND_SERVICE is allowed"


def _check_pods(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    package, kind = _kind(args.resource_type)
    if package != "kubernetes" or kind not in POD_SPEC_PATHS:
        return
    pod = _get(args.props, POD_SPEC_PATHS[kind])
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
    labels = _get(args.props, "metadata.labels")
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


# --- 9. application Releases are atomic, patient and bounded ------------------------------------------------------

HELM_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"


def local_chart(props: Mapping[str, Any]) -> PurePosixPath | None:
    """The chart path if the Release installs one of the project's charts (a path under charts/), else None."""
    chart = props.get("chart")
    if not isinstance(chart, str) or "://" in chart or _get(props, "repositoryOpts.repo"):
        return None
    path = PurePosixPath(chart.removeprefix("./").rstrip("/"))
    parts = path.parts
    if "charts" not in parts or parts.index("charts") == len(parts) - 1:
        return None
    return path


def _check_release(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != HELM_RELEASE_TYPE:
        return
    props = args.props
    chart = local_chart(props)
    if chart is None:
        return
    if not _is_true(props.get("atomic")):
        report_violation(f"Release of {chart} has atomic={props.get('atomic')!r}: set atomic=True, so a failed "
                         "upgrade rolls back instead of leaving the instance half-upgraded.", None)
    history = _number(props.get("maxHistory"))
    if history is None or not 0 < history <= MAX_RELEASE_HISTORY:
        report_violation(f"Release of {chart} has maxHistory={props.get('maxHistory')!r}: set 1 to "
                         f"{MAX_RELEASE_HISTORY} (unset or 0 keeps every revision forever).", None)
    # In a preview the values may not be known yet: the check waits for the update, where they are.
    if chart.parts[-2:] == ("charts", "openedx") and isinstance(props.get("values"), Mapping):
        timeout = _number(props.get("timeout"))
        deadline = _number(_get(props, "values.init.activeDeadlineSeconds")) or CHART_INIT_DEADLINE
        if timeout is None or timeout <= deadline:
            report_violation(
                f"Release of {chart} has timeout={props.get('timeout')!r}: set more than its init Jobs' deadline "
                f"({deadline:.0f} s, values init.activeDeadlineSeconds). Helm applies it to each hook, the "
                "provider's default is 300 s, and a first migration takes far longer: the atomic Release would "
                "roll back mid-migration.",
                None,
            )


ATOMIC_RELEASES = ResourceValidationPolicy(
    name="application-releases-atomic",
    description="Every helm.v3.Release of a chart under charts/ is atomic with a bounded maxHistory (1 to "
    f"{MAX_RELEASE_HISTORY}), and the charts/openedx Release has a timeout longer than its init Jobs' deadline "
    f"(values init.activeDeadlineSeconds, {CHART_INIT_DEADLINE} s unset) so migrations finish before Helm gives up.",
    validate=_check_release,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
)


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ENCRYPTED_DATABASES,
    ENCRYPTED_OBJECT_STORAGE,
    S3_BUCKETS_ENCRYPTED,
    S3_BUCKETS_PRIVATE,
    NO_PUBLIC_BUCKETS,
    NO_PUBLIC_DATABASES,
    PRODUCTION_BACKUPS,
    PRODUCTION_PROTECT,
    NO_PRIVILEGED_PODS,
    RESTRICTED_NAMESPACES,
    NO_CREDENTIALS_IN_CONFIGMAPS,
    ATOMIC_RELEASES,
]
