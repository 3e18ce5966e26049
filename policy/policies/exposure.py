"""Nothing public: no bucket open to the internet, no database reachable from it."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .common import (
    S3_BUCKET_TYPES,
    at_path,
    is_true,
)

# --- 4. no public buckets (GCS, Azure, S3 ACLs) ------------------------------------------------------------------

PUBLIC_S3_ACLS = ("public-read", "public-read-write", "authenticated-read")


def _check_public_buckets(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props, kind = args.props, args.resource_type
    if kind == "gcp:storage/bucket:Bucket":
        if props.get("publicAccessPrevention") != "enforced":
            report_violation(f"publicAccessPrevention is {props.get('publicAccessPrevention')!r}: set \"enforced\" "
                             "(the default, inherited, lets IAM grants make objects public).", None)
        if not is_true(props.get("uniformBucketLevelAccess")):
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
        if is_true(props.get("publiclyAccessible")):
            report_violation("publiclyAccessible is true: set publicly_accessible=False and reach the database "
                             "from the cluster through its security group.", None)
    elif kind == "gcp:sql/databaseInstance:DatabaseInstance":
        if at_path(props, "settings.ipConfiguration.ipv4Enabled") is not False:
            report_violation(
                f"settings.ipConfiguration.ipv4Enabled is {at_path(props, 'settings.ipConfiguration.ipv4Enabled')!r}: "
                "set it to false (the default, true, gives the instance a public IP) and use private_network.",
                None,
            )
    elif kind == "azure-native:dbformysql:Server":
        access = at_path(props, "network.publicNetworkAccess")
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
