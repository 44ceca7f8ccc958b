"""`digiskill calibrate --multidimensional` and `digiskill score --multidimensional` end to end, and their errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from digiskill.bank import load_parameter_set
from digiskill.bank.responses import read_responses
from digiskill.calibrate.latent import estimate_latent_correlation
from digiskill.cli.main import app
from digiskill.irt.multidim import LatentNormal, joint_map
from digiskill.irt.response import probability
from digiskill.irt.sampling import draw_categories

runner = CliRunner()
AREAS = ("basic_it", "security_gdpr")
A = {"basic_it": [1.5, 1.1, 0.9, 1.3, 1.7, 1.0], "security_gdpr": [1.2, 1.4, 0.8, 1.6, 1.0, 1.3]}
B = {"basic_it": [-1.5, -0.8, -0.2, 0.3, 0.9, 1.4], "security_gdpr": [-1.2, -0.6, 0.0, 0.5, 1.0, 1.6]}
RHO = 0.65


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("multidim")
    items = [
        {"id": f"{area[:3].upper()}{j}", "model": "2pl", "a": a, "b": b, "area": area}
        for area in AREAS
        for j, (a, b) in enumerate(zip(A[area], B[area], strict=True))
    ]
    params = tmp / "params.json"
    doc = {"schema": "digiskill.parameters/1", "id": "two-areas", "created": "2026-01-01T00:00:00Z"}
    params.write_text(json.dumps({**doc, "engine": "test", "items": items}))
    rng = np.random.default_rng(5)
    theta = rng.multivariate_normal([0, 0], [[1, RHO], [RHO, 1]], size=1500)
    loaded = load_parameter_set(params)
    cols = []
    for d, area in enumerate(AREAS):
        it = loaded.to_arrays([i["id"] for i in items if i["area"] == area])
        cols.append(draw_categories(probability(theta[:, d], it), rng, it.n_cat))
    x = np.concatenate(cols, axis=1)
    x = np.where(rng.random(x.shape) < 0.1, -1, x)  # some items not presented
    responses = tmp / "responses.csv"
    with responses.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["person", *(i["id"] for i in items)])
        w.writerows([f"P{n}", *("" if v < 0 else v for v in row)] for n, row in enumerate(x))
    out = tmp / "with-correlation.json"
    res = run("calibrate", responses, "--multidimensional", "--anchors", params, "--out", out)
    assert res.exit_code == 0, res.output
    return {"params": params, "responses": responses, "with": out, "tmp": tmp}


def test_calibrate_multidimensional_adds_the_correlation_and_keeps_the_items(files) -> None:
    before, after = load_parameter_set(files["params"]), load_parameter_set(files["with"])
    areas, r = after.latent_correlation()
    assert areas == list(AREAS)
    assert r[0, 1] == pytest.approx(RHO, abs=0.1)  # 1,500 persons, 6 items an area: the MLE of these data is 0.73
    table = read_responses(files["responses"], before)
    cols = [[n for n, i in enumerate(table.item_ids) if i.startswith(p)] for p in ("BAS", "SEC")]
    api = estimate_latent_correlation(
        [table.codes[:, c] for c in cols], [before.to_arrays([table.item_ids[n] for n in c]) for c in cols], AREAS
    )
    assert r[0, 1] == pytest.approx(api.correlation[0, 1], abs=1e-4)
    assert after.items == before.items and after.id == before.id


def test_score_multidimensional_map_equals_joint_map_and_eap_runs(files) -> None:
    out = files["tmp"] / "scores.csv"
    res = run("score", files["responses"], "--params", files["with"], "--multidimensional", "--out", out)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == [
        "person", "theta_basic_it", "se_basic_it", "theta_security_gdpr", "se_security_gdpr", "n_answered", "method",
        "provisional",
    ]  # fmt: skip
    assert len(rows) == 1500 and rows[0]["method"] == "map"
    params = load_parameter_set(files["with"])
    _, r = params.latent_correlation()
    with files["responses"].open() as fh:
        data = list(csv.reader(fh))
    header, first = data[0][1:], data[1][1:]
    codes = [
        np.array([[int(v) if v else -1 for v, h in zip(first, header, strict=True) if h.startswith(p)]])
        for p in ("BAS", "SEC")
    ]
    items = [params.to_arrays([h for h in header if h.startswith(p)]) for p in ("BAS", "SEC")]
    est = joint_map(codes, items, LatentNormal(r))
    assert float(rows[0]["theta_basic_it"]) == pytest.approx(est.theta[0, 0], abs=1e-6)
    assert float(rows[0]["se_security_gdpr"]) == pytest.approx(est.se[0, 1], abs=1e-6)
    eap = run("score", files["responses"], "--params", files["with"], "--multidimensional", "--method", "eap")
    assert eap.exit_code == 0, eap.output
    eap_rows = list(csv.DictReader(eap.stdout.splitlines()))
    assert eap_rows[0]["method"] == "eap"
    assert float(eap_rows[0]["theta_basic_it"]) == pytest.approx(est.theta[0, 0], abs=0.15)


def test_errors_exit_2_and_write_nothing(files) -> None:
    tmp = files["tmp"]
    out = tmp / "none.csv"
    no_corr = run("score", files["responses"], "--params", files["params"], "--multidimensional", "--out", out)
    assert no_corr.exit_code == 2 and "no calibration.latent.correlation" in no_corr.output and not out.exists()
    # an area in the data that the stored correlation does not cover
    doc = json.loads(files["with"].read_text())
    doc["items"].append({"id": "WRK0", "model": "2pl", "a": 1.0, "b": 0.0, "area": "workflows"})
    extra = tmp / "extra.json"
    extra.write_text(json.dumps(doc))
    resp = tmp / "with-workflows.csv"
    resp.write_text("person,BAS0,WRK0\nP1,1,0\n")
    res = run("score", resp, "--params", extra, "--multidimensional", "--out", out)
    assert res.exit_code == 2 and "workflows not in the latent correlation" in res.output and not out.exists()
    res = run("score", files["responses"], "--params", files["with"], "--multidimensional", "--method", "wle")
    assert res.exit_code == 2 and "map or eap" in res.output
    # calibrate: no anchors; a pair never answered together
    target = tmp / "never.json"
    res = run("calibrate", files["responses"], "--multidimensional", "--out", target)
    assert res.exit_code == 2 and "needs --anchors" in res.output and not target.exists()
    apart = tmp / "apart.csv"
    apart.write_text("person,BAS0,SEC0\nP1,1,\nP2,,0\nP3,0,\n")
    res = run("calibrate", apart, "--multidimensional", "--anchors", files["params"], "--out", target)
    assert res.exit_code == 2 and "no person answered items of both basic_it and security_gdpr" in res.output
    assert not target.exists()
