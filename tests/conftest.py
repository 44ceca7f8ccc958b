from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


@pytest.fixture(autouse=True)
def digiskill_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own per-installation state folder: no test writes into the real home."""
    home = tmp_path_factory.mktemp("digiskill-home")
    monkeypatch.setenv("DIGISKILL_HOME", str(home))
    return home
