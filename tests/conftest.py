from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pg_fixture"]  # a throw-away PostgreSQL for the service tests (tests/pg_fixture.py)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATA = ROOT / "tests" / "data"
"""The golden files of the tests (published data sets, the Open Badges test vector), see tests/data/README.md."""


def reference_data(*parts: str) -> Path:
    """A golden file or folder under ``tests/data`` (in the repository: a missing one is an error, never a skip)."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"golden file missing from the repository: {path}")
    return path


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


@pytest.fixture(autouse=True)
def digiskill_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own per-installation state folder: no test writes into the real home."""
    home = tmp_path_factory.mktemp("digiskill-home")
    monkeypatch.setenv("DIGISKILL_HOME", str(home))
    return home


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """A skipped test fails: every test must run from a fresh clone (``.ci/run`` fails on any skip). Set
    ``DIGISKILL_ALLOW_SKIPS=1`` to allow skips locally, e.g. without the optional dev dependencies."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and not os.environ.get("DIGISKILL_ALLOW_SKIPS"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped tests are not allowed (set DIGISKILL_ALLOW_SKIPS=1 to allow): {reason}"
