"""The backup commands of `./ops.sh`: the backup CronJobs they copy, what a restore requires of the instance and
leaves behind, and the status of the newest backup and verification, read from the Jobs the CronJobs ran."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from operations.job import Manifest
from operations.stack import OperationError

# The openedx chart's CronJobs (templates/backups/): each command's run is a copy of one.
BACKUP, VERIFY, RESTORE, LIST = "openedx-backup", "openedx-backup-verify", "openedx-restore", "openedx-backup-list"
TEMPLATES = (BACKUP, VERIFY, RESTORE, LIST)
WEB_AND_WORKERS = ("lms", "cms", "lms-worker", "cms-worker", "lms-worker-high-mem", "notes", "credentials")
"""What writes to the databases: stopped by maintenance before a restore (plugin services only where they run)."""
INIT_RECORD = "openedx-init"


class State(Protocol):
    """What the backup commands read and change on the cluster besides their Job."""

    def replicas(self, namespace: str, deployment: str) -> int | None:
        """The replicas a Deployment asks for; None when there is no such Deployment."""

    def forget_init(self, namespace: str) -> None:
        """Clear the init key the openedx-init ConfigMap records: the next upgrade runs the init tasks."""

    def jobs(self, namespace: str, selector: str) -> list[Manifest]: ...


def require_maintenance(state: State, namespace: str, instance: str, stack: str) -> None:
    """A restore replaces the databases under the application: its web and worker pods must be stopped, which is
    what the instance's maintenance switch does."""
    running = [name for name in WEB_AND_WORKERS if (state.replicas(namespace, name) or 0) > 0]
    if running:
        raise OperationError(
            f"instance {instance} is not in maintenance ({', '.join(running)} still run): set `maintenance: true` "
            f"on it in stacks/Pulumi.{stack}.yaml and run ./deploy.sh {stack}, then restore")


def after_restore(state: State, namespace: str, instance: str, stack: str) -> str:
    """The init tasks (migrations) must run on the restored data: the next deploy runs them, before any pod
    starts. What the operator does next."""
    state.forget_init(namespace)
    return (f"restored. Now set `maintenance: false` on instance {instance} in stacks/Pulumi.{stack}.yaml and run "
            f"./deploy.sh {stack}: the init tasks (migrations) run on the restored data before the pods start.")


def _finished(job: Manifest) -> tuple[str, str] | None:
    """(`completed` or `failed`, when) of a finished Job; None while it runs."""
    status = job.get("status", {})
    for condition in status.get("conditions", []):
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            word = "completed" if condition["type"] == "Complete" else "failed"
            return word, str(condition.get("lastTransitionTime") or status.get("completionTime") or "")
    return None


def status_line(what: str, jobs: Sequence[Manifest]) -> str:
    """The newest finished Job of a kind, as one line: `last verification: completed at T (Job NAME)`."""
    done = []
    for job in jobs:
        if (result := _finished(job)) is not None:
            done.append((job["metadata"].get("creationTimestamp", ""), job["metadata"]["name"], *result))
    if not done:
        return f"last {what}: none on record"
    _, name, word, when = max(done)
    return f"last {what}: {word} at {when} (Job {name})"


def selector(cronjob: str) -> str:
    """The Jobs of a backup CronJob, scheduled or run by ops.sh: they carry its jobTemplate's labels."""
    return f"app.kubernetes.io/name={cronjob},app.kubernetes.io/component=backup"
