"""The connection limit of an instance's user on a shared MySQL server, from its workload bounds."""

from __future__ import annotations

from typing import Any

import pytest

from components.openedx.connections import mysql_connections
from components.settings.instance import InstanceSettings


def limit(environment: str, **settings: Any) -> int:
    instance = InstanceSettings.model_validate({"name": "demo", "lmsHost": "demo.example.com", **settings})
    return mysql_connections(instance, environment)  # type: ignore[arg-type]


@pytest.mark.parametrize(("environment", "expected"), [
    # LMS and Studio web pods: max replicas + 25% surge, rounded up, x 2 uwsgi workers; their workers: the same
    # pods x 1 Celery process (the chart's default 500m CPU request); plus 20 for Jobs.
    ("dev", (3 * 2 + 3 * 2) + (3 + 3) + 20),  # max 2 → 3 pods
    ("staging", (4 * 2 + 4 * 2) + (4 + 4) + 20),  # max 3 → 4 pods
    ("production", (8 * 2 + 8 * 2) + (8 + 8) + 20),  # max 6 → 8 pods
])
def test_the_default_limit_fits_every_process_at_the_workload_bounds(environment: str, expected: int) -> None:
    assert limit(environment) == expected


def test_larger_bounds_and_more_celery_processes_raise_it() -> None:
    workloads = {"lms": {"maxReplicas": 10}, "lmsWorker": {"resources": {"requests": {"cpu": "2500m"}}}}
    # LMS: 13 pods x 2; Studio: 8 x 2; LMS workers: 8 pods x 2 processes; Studio workers: 8 x 1.
    assert limit("production", workloads=workloads) == 13 * 2 + 8 * 2 + 8 * 2 + 8 + 20


def test_an_explicit_limit_wins() -> None:
    assert limit("production", maxDatabaseConnections=500) == 500
