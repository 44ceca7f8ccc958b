"""``digiskill cat next --area``: an administered item outside the areas is bad input, not silently accepted."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from digiskill.cli.main import app

PARAMS = Path(__file__).resolve().parents[1] / "src" / "digiskill" / "data" / "default-params.json"


def test_an_item_outside_area_is_refused() -> None:
    items = json.loads(PARAMS.read_text())["items"]
    basic = next(i["id"] for i in items if i["area"] == "basic_it")
    other = next(i["id"] for i in items if i["area"] == "security_gdpr")
    runner = CliRunner()
    ok = runner.invoke(
        app, ["cat", "next", "--params", str(PARAMS), "--area", "basic_it", "--administered", basic, "--responses", "1"]
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["n_administered"] == 1
    bad = runner.invoke(
        app,
        ["cat", "next", "--params", str(PARAMS), "--area", "basic_it", "--administered", f"{basic},{other}",
         "--responses", "1,0"],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "position 2: the item is in area 'security_gdpr', not in --area" in bad.stderr
    assert other in bad.stderr and "Traceback" not in bad.output
