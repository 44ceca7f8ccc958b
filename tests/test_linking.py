"""Linking: recovery of a known transformation by all four methods, mean-sigma/mean-mean by hand, the transformed
parameter set, and the ``digiskill link`` command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from digiskill.bank.linking import link
from digiskill.bank.parameters import (
    CalibrationInfo,
    DichotomousItem,
    DichotomousSE,
    GradedItem,
    LatentSpec,
    PartialCreditItem,
    PolytomousSE,
    load_parameter_set,
    new_parameter_set,
)
from digiskill.calibrate.linking import (
    LINK_METHODS,
    _grid,
    _HaebaraResiduals,
    _StockingLordResiduals,
    link_items,
    transform_arrays,
)
from digiskill.cli.link import link_command
from digiskill.errors import InputError
from digiskill.irt.items import GRADED, PARTIAL_CREDIT, ItemArrays
from digiskill.irt.response import probability

A_TRUE, B_TRUE = 1.3, -0.4  # theta_Y = A theta_X + B


def _bank(seed: int = 11) -> ItemArrays:
    """Y: 12 3PL items, 3 GRM items and 3 GPCM items (one ItemArrays with mixed families)."""
    rng = np.random.default_rng(seed)
    d = ItemArrays.dichotomous(rng.uniform(0.7, 2.0, 12), rng.normal(0, 1, 12), c=rng.uniform(0, 0.25, 12))
    g = ItemArrays.polytomous(GRADED, rng.uniform(0.7, 2.0, 3), np.sort(rng.normal(0, 1, (3, 3)), axis=1))
    p = ItemArrays.polytomous(PARTIAL_CREDIT, rng.uniform(0.7, 2.0, 3), rng.normal(0, 1, (3, 3)))
    parts = (d, g, p)
    width = 3
    b = np.vstack([np.pad(x.b, ((0, 0), (0, width - x.b.shape[1])), constant_values=np.nan) for x in parts])
    return ItemArrays(
        family=np.concatenate([x.family for x in parts]),
        a=np.concatenate([x.a for x in parts]),
        b=b,
        c=np.concatenate([x.c for x in parts]),
        d=np.concatenate([x.d for x in parts]),
        n_cat=np.concatenate([x.n_cat for x in parts]),
        ids=tuple(f"i{k}" for k in range(18)),
    )


def _on_x_scale(y: ItemArrays) -> ItemArrays:
    """The same items on X's scale: theta_X = (theta_Y - B)/A, i.e. the inverse transformation."""
    return transform_arrays(y, 1 / A_TRUE, -B_TRUE / A_TRUE)


def test_transformation_leaves_probabilities_unchanged() -> None:
    y = _bank()
    x = _on_x_scale(y)
    theta_x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(
        probability(A_TRUE * theta_x + B_TRUE, y), probability(theta_x, x), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("method", LINK_METHODS)
@pytest.mark.parametrize("start", [None, (1.0, 0.0), (0.5, 1.5)])
def test_all_methods_recover_a_known_transformation_without_noise(method: str, start) -> None:
    y = _bank()
    x = _on_x_scale(y)
    res = link_items(x, y, method, start=start)
    assert res.A == pytest.approx(A_TRUE, abs=1e-6) and res.B == pytest.approx(B_TRUE, abs=1e-6)
    assert res.converged
    if method in ("haebara", "stocking-lord"):
        assert res.criterion < 1e-20
        res_u = link_items(x, y, method, start=start, grid_weights="uniform")
        assert res_u.A == pytest.approx(A_TRUE, abs=1e-6) and res_u.B == pytest.approx(B_TRUE, abs=1e-6)


def test_characteristic_curve_methods_are_close_with_noise() -> None:
    rng = np.random.default_rng(5)
    y = _bank()
    x = _on_x_scale(y)
    noisy = ItemArrays(
        family=x.family,
        a=x.a * np.exp(rng.normal(0, 0.05, x.n_items)),  # 5 % slope error
        b=x.b + rng.normal(0, 0.05, x.b.shape),  # 0.05 logit location error
        c=x.c,
        d=x.d,
        n_cat=x.n_cat,
        ids=x.ids,
    )
    b = np.where((x.family == GRADED)[:, None], np.sort(noisy.b, axis=1), noisy.b)  # GRM thresholds stay ordered
    noisy = ItemArrays(x.family, noisy.a, b, x.c, x.d, x.n_cat, x.ids)
    for method in ("haebara", "stocking-lord"):
        res = link_items(noisy, y, method)
        # seed 5: Haebara A -0.031, B +0.018; Stocking-Lord A -0.024, B +0.011
        assert abs(res.A - A_TRUE) < 0.04 and abs(res.B - B_TRUE) < 0.03, (method, res.A, res.B)
        assert res.converged and res.criterion > 0


def test_jacobians_match_finite_differences() -> None:
    y = _bank()
    x = _on_x_scale(y)
    grid = _grid(61, (-4.0, 4.0), "normal")
    ab = np.array([1.1, 0.2])
    for cls in (_HaebaraResiduals, _StockingLordResiduals):
        f = cls(x, y, grid)
        h = 1e-6
        num = np.column_stack(
            [(f.residuals(ab + e) - f.residuals(ab - e)) / (2 * h) for e in (np.array([h, 0]), np.array([0, h]))]
        )
        np.testing.assert_allclose(f.jacobian(ab), num, atol=1e-7)


def test_mean_sigma_and_mean_mean_by_hand() -> None:
    x = ItemArrays.dichotomous([1.0, 1.5, 2.0], [-1.0, 0.0, 1.0], ids=["p", "q", "r"])
    y = ItemArrays.dichotomous([0.7, 1.0, 1.2], [-0.4, 0.9, 2.6], ids=["p", "q", "r"])
    # mean(b_Y) = 3.1/3; sd(b_Y)^2 = ((-0.4-m)^2 + (0.9-m)^2 + (2.6-m)^2)/3 = 4.526667/3; sd(b_X)^2 = 2/3
    m_y = 3.1 / 3
    sd_y = np.sqrt(((-0.4 - m_y) ** 2 + (0.9 - m_y) ** 2 + (2.6 - m_y) ** 2) / 3)
    ms = link_items(x, y, "mean-sigma")
    assert ms.A == pytest.approx(sd_y / np.sqrt(2 / 3), rel=1e-12) and ms.A == pytest.approx(1.504437, abs=1e-6)
    assert ms.B == pytest.approx(m_y, rel=1e-12)  # mean(b_X) = 0
    mm = link_items(x, y, "mean-mean")
    assert mm.A == pytest.approx(1.5 / (2.9 / 3), rel=1e-12) and mm.A == pytest.approx(1.551724, abs=1e-6)
    assert mm.B == pytest.approx(m_y, rel=1e-12)
    np.testing.assert_allclose(mm.transform_theta([0.0, 1.0]), [m_y, m_y + mm.A])


def _set(set_id: str, items: ItemArrays, *, area: str | None = None, rasch: bool = False, calib: bool = False):
    out = []
    for j, item_id in enumerate(items.ids):
        k = int(items.n_cat[j]) - 1
        if items.family[j] == 0:
            model = "rasch" if rasch else ("3pl" if items.c[j] > 0 else "2pl")
            out.append(
                DichotomousItem(
                    id=item_id,
                    model=model,
                    a=1.0 if rasch else float(items.a[j]),
                    b=float(items.b[j, 0]),
                    c=float(items.c[j]),
                    area=area,
                    se=DichotomousSE(a=0.1, b=0.2, c=0.03),
                )
            )
        elif items.family[j] == GRADED:
            out.append(
                GradedItem(
                    id=item_id,
                    model="grm",
                    a=float(items.a[j]),
                    b=[float(v) for v in items.b[j, :k]],
                    area=area,
                    se=PolytomousSE(a=0.1, b=[0.2] * k),
                )
            )
        else:
            out.append(
                PartialCreditItem(
                    id=item_id, model="gpcm", a=float(items.a[j]), b=[float(v) for v in items.b[j, :k]], area=area
                )
            )
    info = CalibrationInfo(model="mixed", loglik=-100.0, latent=LatentSpec(mean=0.0, sd=1.0)) if calib else None
    return new_parameter_set(out, set_id=set_id, provenance="test", calibration=info)


def test_link_parameter_sets_and_transform() -> None:
    y_arr = _bank()
    x_arr = _on_x_scale(y_arr)
    # X has two new items; Y has one item X lacks; common: i0..i15 (i16, i17 renamed in X)
    x_ids = (*(f"i{k}" for k in range(16)), "new1", "new2")
    x_arr = ItemArrays(x_arr.family, x_arr.a, x_arr.b, x_arr.c, x_arr.d, x_arr.n_cat, x_ids)
    xs, ys = _set("form-x", x_arr, calib=True), _set("form-y", y_arr)
    res = link(xs, ys, "stocking-lord")
    assert res.common_items == tuple(f"i{k}" for k in range(16))
    assert res.from_id == "form-x" and res.to_id == "form-y"
    assert res.A == pytest.approx(A_TRUE, abs=1e-6) and res.B == pytest.approx(B_TRUE, abs=1e-6)
    linked = res.transform(xs)
    assert linked.id == "form-x-on-form-y" and "stocking-lord" in linked.provenance
    back = linked.to_arrays()
    np.testing.assert_allclose(back.a, y_arr.a, rtol=1e-6)  # every item, common or new, is on Y's scale
    np.testing.assert_allclose(back.b, y_arr.b, atol=1e-6)
    np.testing.assert_allclose(back.c, y_arr.c)
    it = linked.items_by_id()["i0"]
    assert it.se.a == pytest.approx(0.1 / res.A) and it.se.b == pytest.approx(0.2 * res.A) and it.se.c == 0.03
    assert linked.items_by_id()["i12"].se.b == pytest.approx([0.2 * res.A] * 3)
    assert linked.calibration.latent.mean == pytest.approx(B_TRUE, abs=1e-6)
    assert linked.calibration.latent.sd == pytest.approx(A_TRUE, abs=1e-6)


def test_rasch_items_become_1pl_when_the_slope_changes() -> None:
    x = ItemArrays.dichotomous(1.0, [-1.0, 0.0, 1.0], ids=["p", "q", "r"])
    y = ItemArrays.dichotomous(1.0, [-1.5, 0.0, 1.5], ids=["p", "q", "r"])
    xs, ys = _set("x", x, rasch=True), _set("y", y, rasch=True)
    mm = link(xs, ys, "mean-mean")  # equal slopes: A = 1 exactly, Rasch stays Rasch
    assert mm.A == 1.0 and {i.model for i in mm.transform(xs).items} == {"rasch"}
    ms = link(xs, ys, "mean-sigma")
    out = ms.transform(xs)
    assert ms.A == pytest.approx(1.5) and {i.model for i in out.items} == {"1pl"}
    assert [i.b for i in out.items] == pytest.approx([-1.5, 0.0, 1.5]) and out.items[0].a == pytest.approx(1 / 1.5)


def test_linking_errors() -> None:
    y = _bank()
    ys = _set("y", y)
    other = ItemArrays.dichotomous([1.0, 1.2], [0.0, 1.0], ids=["z1", "z2"])
    with pytest.raises(InputError, match="no item ids in common"):
        link(_set("x", other), ys, "haebara")
    clash = ItemArrays.dichotomous([1.0, 1.2], [0.0, 1.0], ids=["i12", "i0"])  # i12 is a GRM item in Y
    with pytest.raises(InputError, match="common item differs between the sets"):
        link(_set("x", clash), ys, "mean-mean")
    same_b = ItemArrays.dichotomous([1.0], [0.5], ids=["i0"])
    with pytest.raises(InputError, match="mean-sigma needs at least two different"):
        link(_set("x", same_b), ys, "mean-sigma")
    with pytest.raises(ValueError, match="unknown linking method"):
        link_items(y, y, "equipercentile")


def test_areas_are_linked_one_at_a_time() -> None:
    y = _bank()
    x = _on_x_scale(y)
    xs = new_parameter_set(
        [*_set("a", x.subset(range(6)), area="basic").items, *_set("b", x.subset(range(6, 12)), area="comm").items],
        set_id="x",
    )
    ys = _set("y", y.subset(range(12)))
    with pytest.raises(InputError, match="link one area at a time"):
        link(xs, ys, "haebara")
    res = link(xs, ys, "haebara", area="basic")
    assert res.common_items == tuple(f"i{k}" for k in range(6))
    out = res.transform(xs).to_arrays()
    np.testing.assert_allclose(out.b[:6, 0], y.b[:6, 0], atol=1e-6)  # area "basic" moved
    np.testing.assert_allclose(out.b[6:12, 0], x.b[6:12, 0])  # area "comm" untouched


# ------------------------------------------------------------------------------------------------------ CLI
runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("link")(link_command)
    app.command("noop")(lambda: None)
    return app


def test_link_command(tmp_path: Path) -> None:
    y = _bank()
    fx, fy, out = tmp_path / "x.json", tmp_path / "y.json", tmp_path / "linked.json"
    _set("form-x", _on_x_scale(y)).save(fx)
    _set("form-y", y).save(fy)
    for method in LINK_METHODS:
        res = runner.invoke(_app(), ["link", str(fx), str(fy), "--method", method, "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert f"{method}: theta_to = 1.300000 * theta_from + -0.400000" in res.stderr
        linked = load_parameter_set(out)
        np.testing.assert_allclose(linked.to_arrays().b, y.b, atol=1e-6)


def test_link_command_bad_input_exits_2(tmp_path: Path) -> None:
    fx, fy, out = tmp_path / "x.json", tmp_path / "y.json", tmp_path / "linked.json"
    _set("form-x", ItemArrays.dichotomous([1.0, 1.2], [0.0, 1.0], ids=["z1", "z2"])).save(fx)
    _set("form-y", _bank()).save(fy)
    res = runner.invoke(_app(), ["link", str(fx), str(fy), "--out", str(out)])
    assert res.exit_code == 2 and not out.exists()
    assert "no item ids in common" in res.stderr
    res = runner.invoke(_app(), ["link", str(tmp_path / "missing.json"), str(fy), "--out", str(out)])
    assert res.exit_code == 2 and "cannot read parameter file" in res.stderr
    res = runner.invoke(_app(), ["link", str(fx), str(fy), "--method", "equipercentile", "--out", str(out)])
    assert res.exit_code == 2 and not out.exists()
