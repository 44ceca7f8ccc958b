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


# ---------------------------------------------------------------------------------------------------- item priors
def _lsat7_codes() -> np.ndarray:
    return np.loadtxt(LSAT7, delimiter=",", skiprows=1, usecols=range(1, 6), dtype=int)


def test_prior_options_reach_the_estimates_and_the_report(tmp_path: Path) -> None:
    from digiskill.calibrate import Priors, calibrate

    out, report = tmp_path / "p.json", tmp_path / "report.md"
    args = ["calibrate", str(LSAT7), "--out", str(out), "--report", str(report), "--se", "none", "--no-fit"]
    res = runner.invoke(app, [*args, "--prior-difficulty", "-1,1.5", "--prior-slope", "0,0.5"])
    assert res.exit_code == 0, res.output
    ps = load_parameter_set(out)
    api = calibrate(_lsat7_codes(), "2pl", priors=Priors(slope=(0.0, 0.5), difficulty=(-1.0, 1.5)), se="none")
    np.testing.assert_allclose([it.a for it in ps.items], api.params.a, atol=1e-9)
    np.testing.assert_allclose([it.b for it in ps.items], api.params.b[:, 0], atol=1e-9)
    assert abs(ps.calibration.loglik - (-2658.805)) > 0.1  # MAP, no longer the mirt ML solution
    text = report.read_text()
    assert (
        f"- item priors (MAP; log prior {api.log_prior:.4f} at the estimates): LogNormal(0, 0.5) on the slope a of "
        "5 item(s); Normal(-1, 1.5) on the difficulties b of 5 item(s)\n" in text
    )
    res = runner.invoke(app, args)  # defaults: a 2PL calibration is maximum likelihood
    assert res.exit_code == 0, res.output
    assert "- item priors: none (maximum likelihood)\n" in report.read_text()


def test_prior_none_switches_a_default_prior_off(tmp_path: Path) -> None:
    from digiskill.calibrate import Priors, calibrate

    out, report = tmp_path / "p.json", tmp_path / "report.md"
    args = ["calibrate", str(LSAT7), "--model", "3pl", "--out", str(out), "--report", str(report), "--se", "none"]
    res = runner.invoke(app, [*args, "--no-fit", "--prior-guessing", "none"])
    assert res.exit_code == 0, res.output
    text = report.read_text()
    assert "Beta(" not in text and "LogNormal(0, 0.5) on the slope a of 5 item(s) (3PL/4PL)" in text
    api = calibrate(_lsat7_codes(), "3pl", priors=Priors(guessing=None), se="none")
    np.testing.assert_allclose([it.c for it in load_parameter_set(out).items], api.params.c, atol=1e-9)
    res = runner.invoke(app, [*args, "--no-fit", "--prior-guessing", "NONE", "--prior-slope", "none"])
    assert res.exit_code == 0, res.output
    assert "- item priors: none (maximum likelihood)\n" in report.read_text()
    res = runner.invoke(app, [*args, "--no-fit"])  # the defaults: Beta(5, 17) and LogNormal(0, 0.5)
    assert res.exit_code == 0, res.output
    text = report.read_text()
    assert "Beta(5, 17) on the lower asymptote c of 5 item(s); LogNormal(0, 0.5) on the slope a of 5 item(s)" in text
    default = calibrate(_lsat7_codes(), "3pl", se="none")
    np.testing.assert_allclose([it.c for it in load_parameter_set(out).items], default.params.c, atol=1e-9)
    assert np.abs(default.params.c - api.params.c).max() > 0.01  # switching the prior off changed the estimates


def test_bad_prior_values_exit_2_with_every_problem_listed(tmp_path: Path) -> None:
    out, report = tmp_path / "p.json", tmp_path / "report.md"
    bad = ["--prior-slope", "x,1", "--prior-intercept", "0,-1", "--prior-guessing", "5", "--prior-slipping", "0.5,3"]
    res = runner.invoke(app, ["calibrate", str(LSAT7), "--out", str(out), "--report", str(report), *bad])
    assert res.exit_code == 2 and not out.exists() and not report.exists()
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    err = res.stderr
    assert "4 problem(s); nothing was written" in err
    assert "--prior-slope: expected MU,SD (two numbers separated by a comma) or 'none', got 'x,1'" in err
    assert "--prior-intercept: Normal(MU, SD) needs SD > 0, got '0,-1'" in err
    assert "--prior-guessing: expected ALPHA,BETA (two numbers separated by a comma) or 'none', got '5'" in err
    assert "--prior-slipping: Beta(ALPHA, BETA) needs ALPHA, BETA >= 1, got '0.5,3'" in err
    for value in ("0,0", "nan,1", "1,2,3", "0,inf"):
        res = runner.invoke(app, ["calibrate", str(LSAT7), "--out", str(out), "--prior-difficulty", value])
        assert res.exit_code == 2 and not out.exists(), value
        assert "--prior-difficulty:" in res.stderr
