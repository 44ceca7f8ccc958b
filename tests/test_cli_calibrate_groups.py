"""``digiskill calibrate --group-col``: multiple-group calibration from the command line, and translation DIF in the
report when the response CSV has a ``language`` column."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from digiskill.bank import load_parameter_set
from digiskill.calibrate import calibrate
from digiskill.cli.main import app

runner = CliRunner()
A = np.array([1.2, 0.9, 1.5, 1.1, 1.3, 1.0])
B = np.array([-1.0, -0.4, 0.0, 0.3, 0.8, -0.2])


@pytest.fixture(scope="module")
def two_languages(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    """900 simulees: 500 took the test in Danish (N(0, 1)), 400 in English (N(-0.3, 1)) where item I3 is 1.2 logits
    harder (a translation that does not work)."""
    rng = np.random.default_rng(18)
    rows, codes, labels = [], [], []
    for lang, n, mean, shift in (("da", 500, 0.0, 0.0), ("en", 400, -0.3, 1.2)):
        theta = rng.normal(mean, 1.0, n)
        b = B.copy()
        b[2] += shift
        x = (rng.random((n, B.size)) < 1 / (1 + np.exp(-A * (theta[:, None] - b)))).astype(int)
        rows += [[f"{lang}{i}", lang, *r] for i, r in enumerate(x)]
        codes.append(x)
        labels += [lang] * n
    path = tmp_path_factory.mktemp("groups") / "responses.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["person", "language", *[f"I{j}" for j in range(1, B.size + 1)]])
        writer.writerows(rows)
    return path, np.vstack(codes), np.array(labels)


def test_group_col_runs_the_multiple_group_calibration(tmp_path: Path, two_languages) -> None:
    path, codes, labels = two_languages
    out = tmp_path / "p.json"
    args = ["calibrate", str(path), "--out", str(out), "--group-col", "language", "--reference-group", "da"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    expected = calibrate(codes, "2pl", groups=labels, reference_group="da")
    ps = load_parameter_set(out)
    assert ps.calibration.loglik == pytest.approx(expected.loglik, abs=1e-6)
    np.testing.assert_allclose([it.a for it in ps.items], expected.params.a, atol=1e-6)
    assert "groups: da N(0, 1) (reference); en mean " in res.output
    # the groups matter: the single-group fit of the same file is worse
    single = runner.invoke(app, ["calibrate", str(path), "--out", str(tmp_path / "s.json")])
    assert single.exit_code == 0
    assert load_parameter_set(tmp_path / "s.json").calibration.loglik < ps.calibration.loglik - 5


def test_report_tests_translation_dif_when_a_language_column_exists(tmp_path: Path, two_languages) -> None:
    path, _, _ = two_languages
    report = tmp_path / "r.md"
    res = runner.invoke(app, ["calibrate", str(path), "--out", str(tmp_path / "p.json"), "--report", str(report)])
    assert res.exit_code == 0, res.output
    text = report.read_text()
    assert "## Translation DIF (likelihood ratio, by test language)" in text and "### en against da" in text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| I")}
    g2 = {item: float(line.split("|")[2]) for item, line in rows.items()}
    assert rows["I3"].rstrip().endswith("| DIF |") and max(g2, key=g2.get) == "I3"


def test_bad_group_options_exit_2(tmp_path: Path, two_languages) -> None:
    path, _, _ = two_languages
    out = tmp_path / "p.json"
    res = runner.invoke(
        app, ["calibrate", str(path), "--out", str(out), "--group-col", "language", "--reference-group", "de"]
    )
    assert res.exit_code == 2 and "reference group 'de' is not in column 'language' (da, en)" in res.output
    res = runner.invoke(app, ["calibrate", str(path), "--out", str(out), "--reference-group", "da"])
    assert res.exit_code == 2 and "--reference-group needs --group-col" in res.output
    res = runner.invoke(app, ["calibrate", str(path), "--out", str(out), "--group-col", "country"])
    assert res.exit_code == 2 and "country" in res.output
    assert not out.exists()
