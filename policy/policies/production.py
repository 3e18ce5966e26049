"""Production data survives: backups and deletion protection of the servers, stateful resources protected."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .common import (
    ENVIRONMENT_SCHEMA,
    MIN_BACKUP_RETENTION_DAYS,
    at_path,
    in_production,
    is_true,
    number,
)

# --- 6. production: backups and deletion protection ---------------------------------------------------------------


def _check_production_backups(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not in_production(args):
        return
    props, kind = args.props, args.resource_type
    if kind in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:docdb/cluster:Cluster"):
        if not is_true(props.get("deletionProtection")):
            report_violation(f"deletionProtection is {props.get('deletionProtection')!r} in production: set "
                             "deletion_protection=True.", None)
        retention = number(props.get("backupRetentionPeriod"))
        if retention is None or retention < MIN_BACKUP_RETENTION_DAYS:
            report_violation(
                f"backupRetentionPeriod is {props.get('backupRetentionPeriod')!r} in production: keep at least "
                f"{MIN_BACKUP_RETENTION_DAYS} days of automated backups (AWS defaults to 1).",
                None,
            )
    elif kind == "gcp:sql/databaseInstance:DatabaseInstance":
        if props.get("deletionProtection") is False:  # the provider's default is true
            report_violation("deletionProtection is false in production: remove it or set it to true.", None)
        if not is_true(at_path(props, "settings.backupConfiguration.enabled")):
            report_violation("settings.backupConfiguration.enabled is not true in production: enable automated "
                             "backups (and binary logging for point-in-time recovery).", None)
        kept = at_path(props, "settings.backupConfiguration.backupRetentionSettings.retainedBackups")
        if kept is not None and (number(kept) or 0) < MIN_BACKUP_RETENTION_DAYS:  # default: 7
            report_violation(f"settings.backupConfiguration.backupRetentionSettings.retainedBackups is {kept!r}: "
                             f"keep at least {MIN_BACKUP_RETENTION_DAYS}.", None)
    elif kind == "kubernetes:helm.sh/v3:Release" and str(props.get("chart", "")).rstrip("/").endswith(
            "charts/openedx") and isinstance(props.get("values"), Mapping):
        # An instance's MongoDB (course content) has no other backup when it runs in the cluster.
        if not is_true(at_path(props, "values.backups.enabled")) or not at_path(props, "values.backups.schedule"):
            report_violation("values.backups of the openedx Release are off or unscheduled in production: leave the "
                             "instance's `backups` on (its default outside dev), with a schedule.", None)
    elif kind == "azure-native:dbformysql:Server":
        days = at_path(props, "backup.backupRetentionDays")
        if days is not None and (number(days) or 0) < MIN_BACKUP_RETENTION_DAYS:  # default: 7
            report_violation(f"backup.backupRetentionDays is {days!r} in production: keep at least "
                             f"{MIN_BACKUP_RETENTION_DAYS}.", None)


PRODUCTION_BACKUPS = ResourceValidationPolicy(
    name="production-database-backups",
    description=f"In production (openedx:environment), databases keep at least {MIN_BACKUP_RETENTION_DAYS} days "
    "of automated backups and refuse deletion: RDS/Aurora/DocumentDB deletionProtection true and "
    f"backupRetentionPeriod >= {MIN_BACKUP_RETENTION_DAYS}; Cloud SQL backups enabled and deletionProtection "
    "not false; Azure MySQL backupRetentionDays not below the minimum; every instance's logical backups (the "
    "charts/openedx Release's values.backups) on and scheduled.",
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
    if (args.resource_type in STATEFUL_STACK_TYPES and not inside_instance and in_production(args)
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
