"""The PriorityClasses of every instance's pods: when a full cluster must choose, data services outrank web pods,
web pods outrank Celery workers, and workers outrank Jobs (migrations, backups, scheduled commands), which also
never preempt anything themselves: a backup waits rather than evict a learner's request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Priority:
    name: str
    value: int
    description: str
    preempts: bool = True


DATA = Priority("openedx-data", 100_000, "Open edX data services (MySQL, MongoDB, Redis, Meilisearch, SMTP)")
WEB = Priority("openedx-web", 50_000, "Open edX web pods (LMS, Studio, MFEs, router)")
WORKER = Priority("openedx-worker", 20_000, "Open edX Celery workers")
JOB = Priority("openedx-job", 10_000, "Open edX Jobs (init tasks, backups, scheduled commands)", preempts=False)
PRIORITIES = (DATA, WEB, WORKER, JOB)
"""Far below the system classes (2 billion) and above the default 0 of pods that set none."""
