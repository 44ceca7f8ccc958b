"""DIF: Mantel–Haenszel against a published example and a hand computation, ETS classes on simulated DIF, the IRT
likelihood-ratio test on simulated 2PL/GRM data, and the ``digiskill dif`` command."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from digiskill.bank.parameters import DichotomousItem, GradedItem, new_parameter_set
from digiskill.calibrate.dif import (
    ets_class_dichotomous,
    ets_class_polytomous,
    mantel_haenszel_dif,
    mantel_haenszel_tables,
)
from digiskill.cli.dif import dif_command
from digiskill.errors import InputError
from digiskill.irt.items import GRADED, ItemArrays
from digiskill.irt.response import probability

# Agresti (1990, pp. 231-237), "Penicillin and Rabbits", the example of R's ?mantelhaen.test. Per penicillin level
# (stratum): immediate injection (reference) cured/died, 1.5 h delay (focal) cured/died.
RABBITS = {
    "ref_right": [0, 3, 6, 5, 2],
    "ref_wrong": [6, 3, 0, 1, 0],
    "focal_right": [0, 0, 2, 6, 5],
    "focal_wrong": [5, 6, 4, 0, 0],
}


def test_published_rabbits_example_matches_r_mantelhaen_test() -> None:
    # R: mantelhaen.test(Rabbits) -> Mantel-Haenszel X-squared = 3.9286, df = 1, p-value = 0.04747, common odds
    # ratio 7, 95 percent CI 1.026713 47.725133 (Wald interval on the log scale with the Robins-Breslow-Greenland
    # variance, so lower * upper = 49).
    r = mantel_haenszel_tables(**RABBITS)
    np.testing.assert_allclose(r.alpha_mh, [7.0], rtol=1e-12)
    np.testing.assert_allclose(r.mh_chi2, [3.9286], atol=5e-5)
    np.testing.assert_allclose(r.mh_p, [0.04747], atol=5e-6)
    z = 1.959963984540054
    ci = np.exp(np.log(7.0) + np.array([-z, z]) * r.se_log_alpha[0])
    np.testing.assert_allclose(ci, [1.026713, 47.725133], rtol=2e-6)
    np.testing.assert_allclose(r.delta_mh, [-2.35 * math.log(7.0)], rtol=1e-12)


def test_rabbits_by_hand() -> None:
    """Every sum written out, stratum by stratum (T = 11, 12, 12, 12, 7)."""
    # alpha = sum(A D / T) / sum(B C / T) = (0 + 18/12 + 24/12 + 0 + 0) / (0 + 0 + 0 + 6/12 + 0) = 3.5 / 0.5
    # E(A) = nR m1 / T = 0 + 6*3/12 + 6*8/12 + 6*11/12 + 2*7/7 = 13; sum A = 16
    # Var(A) = nR nF m1 m0 / (T^2 (T-1)) = 0 + 972/1584 + 1152/1584 + 396/1584 + 0 = 2520/1584
    chi2 = (16 - 13 - 0.5) ** 2 / (2520 / 1584)
    # Robins-Breslow-Greenland: P=(A+D)/T, Q=(B+C)/T, R=AD/T, S=BC/T
    t = [11, 12, 12, 12, 7]
    a, b, c, d = (RABBITS[k] for k in ("ref_right", "ref_wrong", "focal_right", "focal_wrong"))
    p = [(a[k] + d[k]) / t[k] for k in range(5)]
    q = [(b[k] + c[k]) / t[k] for k in range(5)]
    rk = [a[k] * d[k] / t[k] for k in range(5)]
    sk = [b[k] * c[k] / t[k] for k in range(5)]
    r_, s_ = sum(rk), sum(sk)
    var = (
        sum(p[k] * rk[k] for k in range(5)) / (2 * r_**2)
        + sum(p[k] * sk[k] + q[k] * rk[k] for k in range(5)) / (2 * r_ * s_)
        + sum(q[k] * sk[k] for k in range(5)) / (2 * s_**2)
    )
    # Phillips & Holland (1987), the form ETS uses, gives the same variance
    alpha = r_ / s_
    ph = sum((a[k] * d[k] + alpha * b[k] * c[k]) * (a[k] + d[k] + alpha * (b[k] + c[k])) / t[k] ** 2 for k in range(5))
    ph /= 2 * r_**2
    assert ph == pytest.approx(var, rel=1e-12)
    res = mantel_haenszel_tables(**RABBITS)
    assert res.alpha_mh[0] == pytest.approx(7.0, rel=1e-12)
    assert res.mh_chi2[0] == pytest.approx(chi2, rel=1e-12)
    assert res.se_delta[0] == pytest.approx(2.35 * math.sqrt(var), rel=1e-12)


def _persons_from_tables(tables: dict[str, list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Response rows whose rest score is the stratum index: item 0 is studied, items 1..4 a Guttman pattern."""
    rows, groups = [], []
    for k in range(5):
        rest = [1] * k + [0] * (4 - k)
        for key, group, x in (
            ("ref_right", "ref", 1),
            ("ref_wrong", "ref", 0),
            ("focal_right", "foc", 1),
            ("focal_wrong", "foc", 0),
        ):
            rows += [[x, *rest]] * tables[key][k]
            groups += [group] * tables[key][k]
    return np.array(rows), np.array(groups)


def test_response_level_rest_score_reproduces_the_tables() -> None:
    x, g = _persons_from_tables(RABBITS)
    r = mantel_haenszel_dif(x, g, "foc", reference="ref", matching="rest", min_group_size=10)
    assert (r.n_reference, r.n_focal) == (26, 28)
    assert r.alpha_mh[0] == pytest.approx(7.0, rel=1e-12)
    assert r.mh_chi2[0] == pytest.approx(3.928571428571, rel=1e-10)
    # Mantel's ordinal test on a 0/1 item is the MH chi-square without continuity correction: 3^2 / (2520/1584)
    assert r.mantel_chi2[0] == pytest.approx(9 / (2520 / 1584), rel=1e-12)
    # SMD with focal weights nF_k / sum(nF) over strata with both groups (strata 1..5: nF = 5, 6, 6, 6, 5)
    pf = np.array([0 / 5, 0 / 6, 2 / 6, 6 / 6, 5 / 5])
    pr = np.array([0 / 6, 3 / 6, 6 / 6, 5 / 6, 2 / 2])
    assert r.smd[0] == pytest.approx(float(np.array([5, 6, 6, 6, 5]) @ (pf - pr) / 28), rel=1e-12)


def test_ets_rules_at_their_boundaries() -> None:
    se = np.full(6, 0.1)
    delta = np.array([-0.99, 1.2, -1.6, 1.55, 1.6, -3.0])
    p0 = np.array([1e-6, 1e-6, 1e-6, 1e-6, 0.2, 1e-6])
    # |D| < 1 -> A; 1 <= |D| < 1.5 -> B; |D| >= 1.5 and (|D| - 1)/SE well above 1.645 -> C; not significant -> A
    assert list(ets_class_dichotomous(delta, se, p0)) == ["A", "B", "C", "C", "A", "C"]
    # |D| = 1.6 but SE 0.4: (1.6 - 1)/0.4 = 1.5 < 1.645, not significantly above 1 -> B
    assert list(ets_class_dichotomous([1.6], [0.4], [1e-4])) == ["B"]
    assert list(ets_class_dichotomous([1.7], [0.4], [1e-4])) == ["C"]  # (1.7 - 1)/0.4 = 1.75 > 1.645
    assert list(ets_class_polytomous([0.1, 0.2, -0.3, 0.3], [1e-4, 1e-4, 1e-4, 0.5])) == ["AA", "BB", "CC", "AA"]


def _simulate(seed: int = 20240607, n: int = 3000):
    rng = np.random.default_rng(seed)
    j = 20
    a = rng.uniform(0.8, 1.6, j)
    b = rng.normal(0.0, 0.8, j)
    group = np.where(rng.random(n) < 0.5, "da", "other")
    focal = group == "other"
    theta = rng.normal(0.0, 1.0, n) - 0.5 * focal  # impact: the focal group is lower on average
    bb = np.tile(b, (n, 1))
    bb[focal, 3] += 1.2  # item 4 is harder for the focal group: large DIF
    p = 1.0 / (1.0 + np.exp(-a * (theta[:, None] - bb)))
    x = (rng.random((n, j)) < p).astype(int)
    # two GRM items (4 categories), the second with a threshold shift for the focal group
    g_items = ItemArrays.polytomous(GRADED, [1.3, 1.3], [[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]])
    probs = probability(theta, g_items)  # (n, 2, 4)
    shifted = ItemArrays.polytomous(GRADED, [1.3], [[0.0, 1.0, 2.0]])
    probs[focal, 1, :] = probability(theta[focal], shifted)[:, 0, :]
    u = rng.random((n, 2, 1))
    poly = (u > np.cumsum(probs, axis=2)).sum(axis=2)
    return np.hstack([x, poly]), group, a, b


def test_simulated_dif_item_is_c_and_the_others_are_a() -> None:
    x, group, _, _ = _simulate()
    r = mantel_haenszel_dif(x, group, "other", reference="da")
    classes = dict(zip(r.item_ids, r.ets_class, strict=True))
    assert classes["Item.4"] == "C" and r.delta_mh[3] < -1.5  # harder for the focal group: negative delta
    assert all(classes[f"Item.{k}"] == "A" for k in range(1, 21) if k != 4)
    assert r.polytomous.tolist() == [False] * 20 + [True, True]
    assert classes["Item.21"] == "AA" and classes["Item.22"] == "CC" and r.smd[21] < 0
    assert np.isnan(r.delta_mh[20:]).all() and np.isfinite(r.mantel_p).all()
    assert r.flagged("C") == ("Item.4", "Item.22")
    purified = mantel_haenszel_dif(x, group, "other", purify=True)
    assert purified.flagged("C") == ("Item.4", "Item.22") and purified.purified


def test_missing_responses_and_unlabelled_persons_are_left_out() -> None:
    x, group, _, _ = _simulate(n=600)
    x = x.astype(float)
    x[:10, 0] = np.nan
    group = group.astype(object)
    group[10:15] = None
    r = mantel_haenszel_dif(x, group, "other")
    assert r.n_excluded_missing == 10 and r.n_excluded_group == 5
    assert r.n_reference + r.n_focal == 585


def test_bad_groups_are_input_errors() -> None:
    x, group, _, _ = _simulate(n=200)
    with pytest.raises(InputError, match="focal group 'nope' not found; group values present: da, other"):
        mantel_haenszel_dif(x, group, "nope")
    with pytest.raises(InputError, match="too few persons in the focal group: 3"):
        mantel_haenszel_dif(x, np.where(np.arange(200) < 3, "f", "r"), "f")
    with pytest.raises(InputError, match="reference group 'x' not found"):
        mantel_haenszel_dif(x, group, "other", reference="x")


# ------------------------------------------------------------------------------------------------------ CLI
runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("dif")(dif_command)
    app.command("noop")(lambda: None)  # two commands, so that "dif" is a sub-command as in digiskill
    return app


def _write_inputs(tmp_path: Path, n: int = 1200) -> tuple[Path, Path]:
    x, group, a, b = _simulate(n=n)
    items = [DichotomousItem(id=f"Item.{k + 1}", model="2pl", a=float(a[k]), b=float(b[k])) for k in range(20)]
    items += [GradedItem(id=f"Item.{k}", model="grm", a=1.3, b=[-1.0, 0.0, 1.0]) for k in (21, 22)]
    params = tmp_path / "params.json"
    new_parameter_set(items, set_id="sim").save(params)
    data = tmp_path / "responses.csv"
    with data.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["person", "language", *(f"Item.{k + 1}" for k in range(22))])
        for i in range(n):
            w.writerow([f"p{i}", group[i], *x[i]])
    return data, params


def test_dif_command_writes_classes(tmp_path: Path) -> None:
    data, params = _write_inputs(tmp_path)
    out = tmp_path / "dif.csv"
    args = ["dif", str(data), "--params", str(params), "--group-col", "language", "--focal", "other"]
    res = runner.invoke(_app(), [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["item"] for r in rows] == [f"Item.{k + 1}" for k in range(22)]
    by_item = {r["item"]: r for r in rows}
    assert by_item["Item.4"]["ets_class"] == "C" and by_item["Item.4"]["favours"] == "reference"
    assert by_item["Item.22"]["kind"] == "polytomous" and by_item["Item.22"]["delta_mh"] == ""
    assert "C/CC (large): Item.4" in res.stderr
    res = runner.invoke(_app(), args)  # to standard output
    assert res.exit_code == 0 and res.stdout.startswith("item,kind,")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--group-col", "language", "--focal", "dk"], "focal group 'dk' not found; group values present: da, other"),
        (["--group-col", "lang", "--focal", "other"], "responses.csv:1: no column 'lang'; the header has person,"),
        (["--group-col", "language", "--focal", "other", "--min-group", "5000"], "too few persons in the reference"),
    ],
)
def test_dif_command_bad_input_exits_2(tmp_path: Path, extra: list[str], message: str) -> None:
    data, params = _write_inputs(tmp_path, n=300)
    out = tmp_path / "dif.csv"
    res = runner.invoke(_app(), ["dif", str(data), "--params", str(params), *extra, "--out", str(out)])
    assert res.exit_code == 2 and not out.exists()
    assert message in res.stderr


def test_dif_command_reports_bad_cells_with_line_and_column(tmp_path: Path) -> None:
    data, params = _write_inputs(tmp_path, n=300)
    lines = data.read_text().splitlines()
    cells = lines[2].split(",")
    cells[2], cells[-1] = "x", "7"
    lines[2] = ",".join(cells)
    data.write_text("\n".join(lines) + "\n")
    res = runner.invoke(_app(), ["dif", str(data), "--params", str(params), "--group-col", "language", "--focal", "da"])
    assert res.exit_code == 2
    assert "responses.csv:3, column 'Item.1': value 'x' is not an integer category" in res.stderr
    assert "responses.csv:3, column 'Item.22': response 7 outside the item's categories 0..3" in res.stderr


def test_dif_command_lr_writes_g2_df_p(tmp_path: Path) -> None:
    data, params = _write_inputs(tmp_path)
    out = tmp_path / "lr.csv"
    args = ["dif", str(data), "--params", str(params), "--group-col", "language", "--focal", "other"]
    res = runner.invoke(_app(), [*args, "--method", "lr", "--reference", "da", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["item"] for r in rows] == [f"Item.{k + 1}" for k in range(22)]
    assert {"g2", "df", "p", "p_bh", "flag", "focal_mean"} <= set(rows[0])
    by_item = {r["item"]: r for r in rows}
    assert by_item["Item.4"]["df"] == "2" and float(by_item["Item.4"]["p"]) < 1e-6
    assert by_item["Item.4"]["flag"] == "True"
    assert by_item["Item.22"]["model"] == "grm" and by_item["Item.22"]["df"] == "4"
    assert float(by_item["Item.22"]["p"]) < 1e-6
    assert "flagged (Benjamini-Hochberg at 0.05): " in res.stderr and "Item.4" in res.stderr
    mh = runner.invoke(_app(), args)  # the default is still Mantel-Haenszel
    assert mh.exit_code == 0 and mh.stdout.startswith("item,kind,")
