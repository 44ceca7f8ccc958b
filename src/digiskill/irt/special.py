"""The few special functions the IRT core needs, in plain numpy.

``scipy.special`` would give the same values, but importing it takes 0.2–0.3 s (it pulls in scipy's array-API layer),
which every ``digiskill cat next`` call would pay. The formulas are the numerically stable ones scipy uses:

* ``log_expit(x) = log expit(x) = −logaddexp(0, −x)`` (numpy's stable ``log1p(exp(−|d|))`` form);
* ``expit(x) = 1 / (1 + exp(−x))`` (an overflowing ``exp`` gives the correct limit 0);
* ``logsumexp(x, axis) = m + log Σ exp(x − m)`` with ``m`` the maximum (``−inf`` rows give ``−inf``);
* ``log_softmax(x, axis) = x − logsumexp(x, axis)``;
* ``logit(p) = log p − log(1 − p)``;
* ``chi2_sf(x, df)``, the chi-square upper tail for whole-number degrees of freedom (item and model fit), from the
  closed forms of the regularised upper incomplete gamma function at integer and half-integer shape (below).
"""

from __future__ import annotations

import math

import numpy as np


def _float(x: np.ndarray | float) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def log_expit(x: np.ndarray | float) -> np.ndarray:
    """``log(1 / (1 + exp(−x))) = −log(exp(0) + exp(−x))`` elementwise, accurate for large ``|x|``."""
    x = _float(x)
    return -np.logaddexp(x.dtype.type(0), -x)


def expit(x: np.ndarray | float) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(−x))`` elementwise (``exp`` may overflow to ``inf``, giving 0)."""
    x = _float(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def logsumexp(x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """``log Σ exp(x)`` along ``axis``, shifted by the maximum; all-``−inf`` slices give ``−inf``."""
    x = np.asarray(x)
    top = np.max(x, axis=axis, keepdims=True)
    finite = np.isfinite(top)
    if finite.all():  # the usual case: every sum is at least 1, so log needs no error-state guard (a costly context)
        out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    else:
        top = np.where(finite, top, 0.0)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``x − logsumexp(x)`` along ``axis``."""
    x = np.asarray(x)
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    shifted = x - top
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def logit(p: np.ndarray | float) -> np.ndarray:
    """``log(p / (1 − p))`` elementwise (``±inf`` at 1 and 0)."""
    p = _float(p)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


_erfc = np.frompyfunc(math.erfc, 1, 1)


def chi2_sf(x: np.ndarray | float, df: np.ndarray | int) -> np.ndarray:
    """``P(X > x)`` for ``X ~ χ²(df)`` with ``df`` a whole number (NaN where scipy gives NaN: ``x < 0``, NaN, other df).

    With ``y = x / 2`` and ``m = ⌊df / 2⌋`` the upper tail is the regularised incomplete gamma ``Q(df/2, y)``, which at
    integer and half-integer shape is a finite sum (Abramowitz & Stegun 26.4.4 and 26.4.5):

    * even ``df``: ``Q = Σ_{k<m} exp(−y) yᵏ / k!``;
    * odd ``df``: ``Q = erfc(√y) + Σ_{k<m} exp(−y) y^(k+½) / Γ(k + 3/2)``.

    Every term is positive, so the sum has no cancellation; the terms are summed in log space (no overflow of ``yᵏ``,
    no underflow of ``exp(−y)`` before the product) as one ``(values × m)`` array: meant for fit statistics (one value
    per item, or one M2), not for millions of values. Agrees with ``scipy.special.chdtrc`` to about 1e-13 relative up to
    ``df`` = 200 and 1e-10 at ``df`` in the thousands (rounding of the cumulative log-gamma; tested); scipy is not used
    because importing ``scipy.special`` costs 0.2 s per process and the everyday ``calibrate`` needs nothing else.
    """
    x = np.asarray(x, dtype=np.float64)
    df = np.asarray(df, dtype=np.float64)
    x, df = np.broadcast_arrays(x, df)
    out = np.full(x.shape, np.nan)
    out[(df == 0) & (x > 0)] = 0.0  # χ²(0) is the point mass at 0 (as scipy)
    out[(df >= 1) & (x == np.inf)] = 0.0
    ok = np.isfinite(df) & (df >= 1) & (df == np.round(df)) & (x >= 0) & np.isfinite(x)
    if not ok.any():
        return out
    xv, dv = x[ok], df[ok].astype(np.int64)
    y, odd, m = xv / 2.0, dv % 2 == 1, dv // 2
    k = np.arange(int(m.max()) if m.size else 0, dtype=np.float64)
    shape = np.where(odd[:, None], k + 1.5, k + 1.0)  # Γ(k + 1) or Γ(k + 3/2): the log-gamma by cumulative logs
    log_shape = np.log(shape)
    log_gamma = np.cumsum(log_shape, axis=1) - log_shape + np.where(odd, math.lgamma(1.5), 0.0)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_y = np.log(y)[:, None]
        log_terms = -y[:, None] + (shape - 1.0) * log_y - log_gamma  # log of exp(−y) y^(shape−1) / Γ(shape)
    log_terms = np.where(k < m[:, None], log_terms, -np.inf)
    log_terms[(y == 0)[:, None] & (shape == 1.0)] = 0.0  # y⁰ = 1 at y = 0 (the first term of the even sum)
    total = np.exp(logsumexp(log_terms, axis=1)) if k.size else np.zeros(y.shape)
    head = np.where(odd, _erfc(np.sqrt(y)).astype(np.float64), 0.0)
    out[ok] = np.minimum(head + total, 1.0)
    return out
