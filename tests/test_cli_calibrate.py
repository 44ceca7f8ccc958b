"""``digiskill calibrate`` end to end: the LSAT7 reference through the command line, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from digiskill.bank import load_parameter_set
from digiskill.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
LSAT7 = ROOT / "examples" / "lsat7" / "responses.csv"


def test_lsat7_2pl_through_the_command_line(tmp_path: Path) -> None:
    out, report = tmp_path / "p.json", tmp_path / "report.md"
    res = runner.invoke(app, ["calibrate", str(LSAT7), "--out", str(out), "--report", str(report), "--id", "l7"])
    assert res.exit_code == 0, res.output
    ps = load_parameter_set(out)
    assert ps.id == "l7" and ps.calibration.converged
    assert abs(ps.calibration.loglik - (-2658.805)) < 1e-3
    assert abs(ps.calibration.aic - 5337.61) < 1e-2 and abs(ps.calibration.bic - 5386.688) < 1e-2
    a = np.array([it.a for it in ps.items])
    d = -np.array([it.b for it in ps.items]) * a
    np.testing.assert_allclose(a, [0.988, 1.081, 1.706, 0.7651, 0.7358], atol=1e-2)
    np.testing.assert_allclose(d, [1.8561, 0.808, 1.8043, 0.486, 1.8545], atol=1e-2)
    assert all(it.se is not None and it.se.a > 0 for it in ps.items)
    # item fit and M2 recorded in the file (R mirt: S_X2 4.749440, 14.451071, 1.270381, 5.237400, 0.941125; M2 11.93841)
    s_x2 = [it.fit.s_x2 for it in ps.items]
    np.testing.assert_allclose(s_x2, [4.749440, 14.451071, 1.270381, 5.237400, 0.941125], rtol=3e-3)
    assert ps.calibration.m2.df == 5 and abs(ps.calibration.m2.statistic - 11.93841) < 1e-2
    text = report.read_text()
    assert "log-likelihood -2658.805" in text and "| Item.3 | 2pl |" in text
    assert "## Item fit" in text and "M2 = 11.938, df = 5" in text


def test_item_models_file_and_its_errors(tmp_path: Path) -> None:
    models = tmp_path / "models.csv"
    models.write_text("item,model\nItem.1,2pl\nItem.2,2pl\nItem.3,3pl\nItem.4,1pl\nItem.5,1pl\n")
    out = tmp_path / "p.json"
    res = runner.invoke(app, ["calibrate", str(LSAT7), "--item-models", str(models), "--out", str(out), "--se", "none"])
    assert res.exit_code == 0, res.output
    assert [it.model for it in load_parameter_set(out).items] == ["2pl", "2pl", "3pl", "1pl", "1pl"]
    models.write_text("item,model\nItem.1,2pl\nItem.2,5pl\n")
    bad_out = tmp_path / "bad.json"
    res = runner.invoke(app, ["calibrate", str(LSAT7), "--item-models", str(models), "--out", str(bad_out)])
    assert res.exit_code == 2 and not bad_out.exists()
    assert "models.csv:3" in res.stderr and "unknown model '5pl'" in res.stderr
    assert "item 'Item.3'" in res.stderr and "no model given" in res.stderr


def test_constant_item_and_unknown_model_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "r.csv"
    data.write_text("person,A,B\n" + "".join(f"p{i},1,{i % 2}\n" for i in range(20)))
    out = tmp_path / "p.json"
    res = runner.invoke(app, ["calibrate", str(data), "--out", str(out)])
    assert res.exit_code == 2 and not out.exists()
    assert "'A'" in res.stderr
    res = runner.invoke(app, ["calibrate", str(LSAT7), "--model", "bogus", "--out", str(out)])
    assert res.exit_code == 2 and "unknown model 'bogus'" in res.stderr and not out.exists()


def test_written_file_is_valid_json_with_provenance(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    res = runner.invoke(
        app,
        ["calibrate", str(LSAT7), "--out", str(out), "--se", "crossprod", "--provisional", "--provenance", "test run"],
    )
    assert res.exit_code == 0, res.output
    raw = json.loads(out.read_text())
    assert raw["provisional"] is True and raw["provenance"] == "test run"
    assert raw["calibration"]["se_method"] == "crossprod"
