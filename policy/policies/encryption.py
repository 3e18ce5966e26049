"""Encryption at rest and in transit: databases and caches, object storage, and every S3 bucket's own encryption
configuration and public access block."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import (
    S3_BUCKET_TYPES,
    at_path,
    is_true,
    listed,
)

# --- 1. encryption of databases and caches ---------------------------------------------------------------------

GCP_SQL_TLS_MODES = ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")


def _check_database_encryption(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props, kind = args.props, args.resource_type
    if kind in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:docdb/cluster:Cluster"):
        if not is_true(props.get("storageEncrypted")):
            report_violation(
                f"storageEncrypted is {props.get('storageEncrypted')!r}, not true: set storage_encrypted=True "
                "(and kms_key_id for a customer-managed key). An existing unencrypted database can only be "
                "encrypted by restoring an encrypted snapshot copy.",
                None,
            )
    elif kind == "aws:elasticache/replicationGroup:ReplicationGroup":
        for prop, arg in (("atRestEncryptionEnabled", "at_rest_encryption_enabled"),
                          ("transitEncryptionEnabled", "transit_encryption_enabled")):
            if not is_true(props.get(prop)):
                report_violation(f"{prop} is {props.get(prop)!r}, not true: set {arg}=True.", None)
    elif kind == "gcp:sql/databaseInstance:DatabaseInstance":
        # Cloud SQL always encrypts at rest (Google-managed keys; CMEK via encryptionKeyName is optional).
        # What a stack can get wrong is transport: the default accepts unencrypted connections.
        ssl_mode = at_path(props, "settings.ipConfiguration.sslMode")
        require_ssl = at_path(props, "settings.ipConfiguration.requireSsl")
        if ssl_mode not in GCP_SQL_TLS_MODES and not is_true(require_ssl):
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
        if at_path(props, "dataEncryption.type") == "AzureKeyVault":
            for prop in ("primaryKeyURI", "primaryUserAssignedIdentityId"):
                if not at_path(props, f"dataEncryption.{prop}"):
                    report_violation(f"dataEncryption.type is AzureKeyVault but dataEncryption.{prop} is not set.",
                                     None)
    elif kind == "azure-native:redis:Redis":
        if is_true(props.get("enableNonSslPort")):
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
        if "encryption" in props and not at_path(props, "encryption.defaultKmsKeyName"):
            report_violation("encryption is set without encryption.defaultKmsKeyName: name a Cloud KMS key, or "
                             "omit encryption for Google-managed keys.", None)
    elif kind == "azure-native:storage:StorageAccount":
        # Azure Storage always encrypts at rest; a stack can only weaken transport, or misconfigure the key.
        # Defaults of these properties differ between Azure API versions, so they must be explicit.
        if not is_true(props.get("enableHttpsTrafficOnly")):
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
            if key_source == "Microsoft.Keyvault" and not at_path(encryption, "keyVaultProperties.keyName"):
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
    rules = listed(config.props.get("rules"))
    algorithms = [at_path(rule, "applyServerSideEncryptionByDefault.sseAlgorithm") for rule in rules]
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
            off = [flag for flag in S3_PUBLIC_ACCESS_FLAGS if not is_true(block.props.get(flag))]
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
