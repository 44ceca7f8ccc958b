from __future__ import annotations

import os
from pathlib import Path

import pytest

# One BLAS thread, as the command line has by default (digiskill.cli.main): the tests run in parallel processes, and
# OpenBLAS's spinning threads made small calibrations ten times slower when the other core was busy. Set before any
# test module imports numpy.
for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

# a throw-away PostgreSQL for the service tests (tests/pg_fixture.py); no test may skip (tests/skip_guard.py)
pytest_plugins = ["pg_fixture", "skip_guard"]

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


def pytest_configure(config: pytest.Config) -> None:
    """Compile the package's bytecode once, in the controlling process, before the workers start: the tests launch
    ``digiskill`` as a command many times, and without bytecode (an editable install under PYTHONDONTWRITEBYTECODE=1)
    each launch compiles every module it imports again."""
    if not hasattr(config, "workerinput"):
        import compileall

        compileall.compile_dir(ROOT / "src" / "digiskill", quiet=1)


# Tests that share an expensive module or session fixture run on one xdist worker (--dist loadgroup): one Chromium and
# server for the browser tests, one throw-away PostgreSQL cluster for the service tests.
XDIST_GROUPS = {
    "test_web_browser.py": "browser",
    "test_service.py": "postgresql",
    "test_service_live.py": "postgresql",
    "test_service_status.py": "postgresql",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        group = XDIST_GROUPS.get(item.path.name)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
