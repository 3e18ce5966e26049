"""How many MySQL connections an instance opens at most: the connection limit of its user on a shared server.

Every Django process holds at most one connection at a time (Tutor configures one database and Django's default
CONN_MAX_AGE closes it after each request or task): a uwsgi process of a web pod, a Celery process of a worker pod.
The limit counts each workload of the instance's plan at its maximum replicas plus the pods a rolling update adds
(25% surge, rounded up), and a margin for the Jobs that run beside them (init tasks, cron, backups, operator
commands). One instance then cannot take every connection of a server the stack's instances share, and never runs
short of its own.
"""

from __future__ import annotations

import math

from components.settings.instance import InstanceSettings
from components.settings.sizes import SCALED, Plan

SURGE = 1.25
JOB_CONNECTIONS = 20


def mysql_connections(instance: InstanceSettings, planned: Plan) -> int:
    """The instance's `maxDatabaseConnections`, else what its workloads open at their maximum, plus the Jobs'."""
    if instance.max_database_connections is not None:
        return instance.max_database_connections
    workloads = [planned.workloads[key] for key in SCALED]
    return sum(math.ceil(w.max_replicas * SURGE) * w.processes for w in workloads if w.enabled) + JOB_CONNECTIONS
