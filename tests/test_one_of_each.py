"""One implementation of each small helper (issue 12): the response coder, finite-to-None, the response sampler, the
frozen schema base, the flag thresholds, and the calibration report that returns figures instead of writing files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digiskill.bank.frozen import FrozenModel
from digiskill.bank.responses import read_responses
from digiskill.calibrate import calibrate, flags
from digiskill.errors import InputError
from digiskill.irt import ItemArrays
from digiskill.irt.likelihood import MISSING, encode_responses
from digiskill.irt.numbers import finite_or_none
from digiskill.irt.sampling import draw_categories

ROOT = Path(__file__).resolve().parents[1]
LSAT7 = ROOT / "examples" / "lsat7" / "responses.csv"


def test_encode_responses_codes_and_refuses_with_input_error() -> None:
    items = ItemArrays.dichotomous([1.0, 1.2], [0.0, 0.5], ids=["q1", "q2"])
    codes = encode_responses(np.array([[1.0, np.nan], [0.0, 1.0]]), items)
    assert codes.dtype == np.int16 and codes.tolist() == [[1, MISSING], [0, 1]]
    assert encode_responses(np.array([[-7, 1]]), items).tolist() == [[MISSING, 1]]  # any negative code = missing
    with pytest.raises(InputError, match=r"first at row 1, item 'q2': got 2\.0, expected an integer 0\.\.1"):
        encode_responses(np.array([[1.0, 0.0], [0.0, 2.0]]), items)
    with pytest.raises(InputError, match=r"item 1: got 0\.5"):  # no items: any whole number >= 0
        encode_responses(np.array([[0.5, 3.0]]))
    assert encode_responses(np.array([[7.0, np.nan]])).tolist() == [[7, MISSING]]
    with pytest.raises(InputError, match="got shape"):
        encode_responses(np.zeros((2, 3)), items)


def test_finite_or_none() -> None:
    assert finite_or_none(np.float64(0.25)) == 0.25 and type(finite_or_none(np.float32(2.0))) is float
    assert [finite_or_none(v) for v in (np.nan, np.inf, -np.inf, None)] == [None] * 4


def test_one_response_sampler() -> None:
    from digiskill.cat import respond

    assert respond.draw_categories is draw_categories  # re-exported, not a copy
    p = np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]])
    rng = np.random.default_rng(1)
    draws = np.array([draw_categories(p, rng) for _ in range(4000)])
    assert (draws[:, 1] == 0).all()
    assert np.bincount(draws[:, 0], minlength=3) / 4000 == pytest.approx([0.2, 0.5, 0.3], abs=0.03)
    u = np.random.default_rng(5).random((2, 1))
    assert draw_categories(p, np.random.default_rng(5)).tolist() == (np.cumsum(p, axis=1) < u).sum(axis=1).tolist()


def test_schemas_share_one_frozen_base() -> None:
    from digiskill.bank.content import Framework
    from digiskill.bank.lint import LintReport
    from digiskill.bank.parameters import ParameterSet
    from digiskill.results.models import AssessmentResult
    from digiskill.results.scoring import PersonScore

    for model in (Framework, LintReport, ParameterSet, AssessmentResult, PersonScore):
        assert issubclass(model, FrozenModel)
        assert model.model_config["frozen"] is True and model.model_config["extra"] == "forbid"


def test_every_item_calibrate_warns_about_is_flagged_in_the_report() -> None:
    assert 0 < flags.SLOPE_LOW < flags.SLOPE_HIGH < flags.SLOPE_WARN
    assert flags.LOCATION_LIMIT < flags.LOCATION_WARN
    items = ItemArrays.dichotomous([0.2, 1.0, 25.0, 1.0], [0.0, 0.0, 0.0, 11.0], ids=list("abcd"))
    assert flags.item_flags(items) == [
        "weak slope (a < 0.3)",
        "",
        "very steep slope (a > 4.0)",
        "location beyond ±4.0",
    ]


def test_report_returns_figures_and_writes_nothing(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    from digiskill.calibrate.report import calibration_report

    result = calibrate(read_responses(LSAT7, None).codes, "2pl", se="oakes")
    rep = calibration_report(result, plots=True, plot_stem="lsat7")
    assert set(rep.figures) == {"lsat7-icc.png", "lsat7-information.png"}
    assert all(isinstance(f, Figure) for f in rep.figures.values())
    assert "![item characteristic curves](lsat7-icc.png)" in rep.text
    assert "log-likelihood -2658.8051" in rep.text  # LSAT7 2PL, as R mirt
    assert calibration_report(result).figures == {} and "lsat7-icc.png" not in calibration_report(result).text
    assert list(tmp_path.iterdir()) == []


def test_report_does_not_switch_the_matplotlib_backend() -> None:
    code = (
        "import numpy as np, sys\n"
        "from digiskill.calibrate import calibrate\n"
        "from digiskill.calibrate.report import calibration_report\n"
        "x = (np.random.default_rng(0).random((300, 5)) < 0.6).astype(int)\n"
        "calibration_report(calibrate(x, '2pl', se='none'), plots=True)\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # no pyplot, so no global backend state is touched
