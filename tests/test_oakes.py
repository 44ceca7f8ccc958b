"""Oakes standard errors from one posterior equal the central differences of the observed score (issue 16).

``oakes_information`` (complete-data Hessian at the posterior minus the posterior covariance of the complete-data
scores) is checked against ``oakes_information_numeric`` (two E-steps per parameter, the previous implementation) on
every kind of free parameter: slopes and intercepts, asymptotes with priors, the common 1PL slope, the latent variance
(Rasch), graded and partial-credit thresholds, missing responses and the latent mean and variance of a focal group.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import digiskill.calibrate.em as em
from digiskill.calibrate import _se, calibrate


def _simulate(seed: int, n: int, j: int, *, k: int = 2, guess: float = 0.0, missing: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a, b, theta = rng.lognormal(0, 0.3, j), rng.normal(0, 1, j), rng.normal(size=n)
    if k == 2:
        p = guess + (1 - guess) / (1 + np.exp(-a * (theta[:, None] - b)))
        x = (rng.random(p.shape) < p).astype(np.int64)
    else:
        x = np.clip(np.round(a * (theta[:, None] - b) + rng.normal(size=(n, j)) + k / 2 - 0.5), 0, k - 1)
    return np.where(rng.random((n, j)) < missing, -1, x).astype(np.int64)


CASES = {
    "2pl": (lambda: _simulate(1, 1500, 8), "2pl", {}),
    "3pl with priors": (lambda: _simulate(2, 2000, 7, guess=0.15), "3pl", {}),
    "1pl common slope": (lambda: _simulate(3, 1000, 7), "1pl", {}),
    "rasch latent variance": (lambda: _simulate(4, 1000, 7), "rasch", {}),
    "grm": (lambda: _simulate(5, 1500, 6, k=4), "grm", {}),
    "gpcm": (lambda: _simulate(6, 1500, 6, k=3), "gpcm", {}),
    "2pl half missing": (lambda: _simulate(7, 1500, 10, missing=0.5), "2pl", {}),
    "two groups": (lambda: _simulate(8, 2000, 8), "2pl", {"groups": np.repeat(["ref", "focal"], 1000)}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_oakes_from_one_posterior_matches_the_numeric_derivative(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    make, model, kwargs = CASES[case]
    x = make()
    fast = calibrate(x, model, **kwargs)
    monkeypatch.setattr(em, "oakes_information", _se.oakes_information_numeric)
    reference = calibrate(x, model, **kwargs)
    assert fast.cov is not None and reference.cov is not None
    se_fast, se_ref = np.sqrt(np.diag(fast.cov)), np.sqrt(np.diag(reference.cov))
    assert_allclose(se_fast, se_ref, rtol=1e-6)
    assert_allclose(fast.cov, reference.cov, rtol=1e-5, atol=1e-9)
    assert fast.condition_number == pytest.approx(reference.condition_number, rel=1e-5)
