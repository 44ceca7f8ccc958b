from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pg_fixture"]  # a throw-away PostgreSQL for the service tests (tests/pg_fixture.py)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def examples() -> Path:
    return EXAMPLES
