"""How many MySQL connections an instance opens at most: the connection limit of its user on a shared server.

Every Django process holds at most one connection at a time (Tutor configures one database and Django's default
CONN_MAX_AGE closes it after each request or task): a uwsgi worker of a web pod, a Celery process of a worker pod.
The limit counts each workload at its maximum replicas plus the pods a rolling update adds (25% surge, rounded
up), and a margin for the Jobs that run beside them (init tasks, cron, backups, operator commands). One instance
then cannot take every connection of a server the stack's instances share, and never runs short of its own.
"""

from __future__ import annotations

import math

from components.charts import chart_values
from components.openedx.values import replica_bounds
from components.settings.instance import InstanceSettings, Workload
from components.settings.model import Environment

EDXAPP_VALUES = "charts/openedx/charts/edxapp/values.yaml"
SURGE = 1.25
JOB_CONNECTIONS = 20


def cpu_millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def _celery_processes(workload: Workload) -> int:
    """The chart's worker concurrency: the CPU request in whole CPUs, at least 1."""
    requested = workload.resources and workload.resources.requests and workload.resources.requests.cpu
    cpu = requested or chart_values(EDXAPP_VALUES)["worker"]["resources"]["requests"]["cpu"]
    return max(1, cpu_millis(str(cpu)) // 1000)


def _pods(workload: Workload, environment: Environment) -> int:
    return math.ceil(replica_bounds(workload, environment)[1] * SURGE)


def mysql_connections(instance: InstanceSettings, environment: Environment) -> int:
    """The instance's `maxDatabaseConnections`, else what its workloads open at their maximum, plus the Jobs'."""
    if instance.max_database_connections is not None:
        return instance.max_database_connections
    w = instance.workloads
    uwsgi_workers = int(chart_values(EDXAPP_VALUES)["web"]["uwsgiWorkers"])
    web = sum(_pods(workload, environment) * uwsgi_workers for workload in (w.lms, w.cms))
    workers = sum(_pods(workload, environment) * _celery_processes(workload)
                  for workload in (w.lms_worker, w.cms_worker))
    return web + workers + JOB_CONNECTIONS
