"""The connection limit of an instance's user on a shared MySQL server, from its workload bounds."""

from __future__ import annotations

from typing import Any

import pytest

from components.openedx.connections import mysql_connections
from components.settings.instance import InstanceSettings
from components.settings.sizes import plan


def limit(environment: str, **settings: Any) -> int:
    instance = InstanceSettings.model_validate({"name": "demo", "lmsHost": "demo.example.com", **settings})
    return mysql_connections(instance, plan(instance, environment))  # type: ignore[arg-type]


@pytest.mark.parametrize(("environment", "size", "expected"), [
    # Each workload: max replicas + 25% surge, rounded up, x its processes; plus 20 for Jobs.
    # small (dev): LMS and Studio max 2 → 3 pods x 2 uwsgi; their workers 3 pods x 1; no high-memory workers.
    ("dev", None, (3 * 2 + 3 * 2) + (3 * 1 + 3 * 1) + 20),
    # medium: LMS max 6 → 8 pods x 4; Studio max 4 → 5 x 2; LMS workers max 4 → 5 x 2; Studio workers max 3 → 4 x 2;
    # high-memory workers max 2 → 3 x 1.
    ("staging", None, (8 * 4 + 5 * 2) + (5 * 2 + 4 * 2 + 3 * 1) + 20),
    ("production", None, (8 * 4 + 5 * 2) + (5 * 2 + 4 * 2 + 3 * 1) + 20),
    # large: LMS max 20 → 25 x 4; Studio max 6 → 8 x 2; LMS workers max 10 → 13 x 2; Studio workers 6 → 8 x 2;
    # high-memory 4 → 5 x 1.
    ("production", "large", (25 * 4 + 8 * 2) + (13 * 2 + 8 * 2 + 5 * 1) + 20),
])
def test_the_default_limit_fits_every_process_at_the_workload_bounds(environment: str, size: str | None,
                                                                     expected: int) -> None:
    assert limit(environment, **({"size": size} if size else {})) == expected


def test_larger_bounds_and_more_celery_processes_raise_it() -> None:
    workloads = {"lms": {"maxReplicas": 10}, "lmsWorker": {"processes": 3}, "lmsHighMemWorker": {"enabled": False}}
    # LMS: 13 pods x 4; Studio: 5 x 2; LMS workers: 5 pods x 3 processes; Studio workers: 4 x 2.
    assert limit("production", workloads=workloads) == 13 * 4 + 5 * 2 + 5 * 3 + 4 * 2 + 20


def test_an_explicit_limit_wins() -> None:
    assert limit("production", maxDatabaseConnections=500) == 500
