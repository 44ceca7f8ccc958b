"""The numpy special functions of :mod:`digiskill.irt.special` against scipy.special (which the tests may import)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special as sc

from digiskill.irt.special import chi2_sf, expit, log_expit, log_softmax, logit, logsumexp


def test_chi2_sf_matches_scipy_on_a_grid_of_df_and_x() -> None:
    df = np.arange(1, 201)[:, None]
    x = np.array([0.0, 1e-10, 1e-3, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 100.0, 300.0, 700.0, 1400.0])[None, :]
    ours, ref = chi2_sf(x, df), sc.chdtrc(df, x)
    assert ours.shape == (200, 13)
    shown = ref > 1e-300
    np.testing.assert_allclose(ours[shown], ref[shown], rtol=1e-12, atol=0)
    assert (ours[~shown] < 1e-290).all()
    assert (ours[:, 0] == 1.0).all()  # P(X > 0) = 1


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6000), st.floats(0.0, 4.0))
def test_chi2_sf_at_large_df_keeps_ten_digits(df: int, ratio: float) -> None:
    x = df * ratio
    ref = sc.chdtrc(df, x)
    if ref > 1e-300:
        assert chi2_sf(x, df) == pytest.approx(ref, rel=1e-9)


def test_chi2_sf_is_nan_where_undefined_and_known_values() -> None:
    x = np.array([np.nan, 1.0, 2.0, 0.0, -1.0, np.inf, 0.0])
    df = np.array([3.0, np.nan, 0.0, 0.0, 3.0, 3.0, 1.0])
    np.testing.assert_array_equal(chi2_sf(x, df), sc.chdtrc(df, x))  # NaN, NaN, 0, NaN, NaN, 0, 1 as scipy
    assert np.isnan(chi2_sf(2.0, 1.5))  # whole degrees of freedom only (fit statistics have them)
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-12)  # the 95 % point of χ²(1)
    assert chi2_sf(5.991464547107979, 2) == pytest.approx(0.05, rel=1e-12)
    assert chi2_sf(2.0, 2) == pytest.approx(np.exp(-1.0), rel=1e-15)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-700, 700), min_size=1, max_size=20))
def test_logistic_functions_match_scipy(values: list[float]) -> None:
    x = np.array(values)
    np.testing.assert_allclose(expit(x), sc.expit(x), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(log_expit(x), sc.log_expit(x), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(logsumexp(x), sc.logsumexp(x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(log_softmax(x), sc.log_softmax(x), rtol=1e-12, atol=1e-12)
    p = expit(x[np.abs(x) < 30])
    np.testing.assert_allclose(logit(p), sc.logit(p), rtol=1e-12, atol=1e-12)
