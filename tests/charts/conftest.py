"""Fixtures of the chart tests."""

from __future__ import annotations

import pytest
from chart_render import TutorReference, tutor_render


@pytest.fixture(scope="session")
def tutor_reference(tmp_path_factory: pytest.TempPathFactory) -> TutorReference:
    """What Tutor itself renders for the configuration the charts are built for."""
    return tutor_render(tmp_path_factory.mktemp("tutor-root"))
