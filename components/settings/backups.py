"""An instance's logical backups (`openedx:instances[N].backups`): when they run, how many are kept, and the
verification by restoring."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from components.settings.model import Environment, Model, Quantity

# Five fields of digits, ranges, steps, lists and names (`17 3 * * *`, `0 */6 * * 1-5`): what Kubernetes takes.
_CRON = re.compile(r"^\s*([\w*/,-]+\s+){4}[\w*/,-]+\s*$")


class BackupSettings(Model):
    """Unset, `enabled` is true outside `dev`."""

    enabled: bool | None = None
    schedule: str = "17 3 * * *"
    """Cron schedule of the backup (UTC)."""
    verify_schedule: str | None = "43 4 * * 0"
    """Cron schedule of the verification by restoring the newest backup into scratch servers; null: none."""
    keep: int = Field(default=14, ge=1, le=1000)
    """Complete backups kept (the newest ones)."""
    max_age_days: int = Field(default=30, ge=1, le=3650)
    """Complete backups older than this are deleted, the newest one aside."""
    before_upgrade: bool = True
    """A backup before the init tasks of every upgrade that runs them (a new image, new settings)."""
    volume_size: Quantity = "20Gi"
    """Size of the backup volume, where there is no object storage (`cloud: local`)."""
    work_size: Quantity = "20Gi"
    """Scratch space of a backup Job (the dumps before upload): about the size of a backup."""

    @field_validator("schedule", "verify_schedule")
    @classmethod
    def _cron(cls, schedule: str | None) -> str | None:
        if schedule is not None and not _CRON.match(schedule):
            raise ValueError(f"{schedule!r} is not a cron schedule (five fields, e.g. '17 3 * * *')")
        return schedule

    def active(self, environment: Environment) -> bool:
        return self.enabled if self.enabled is not None else environment != "dev"
