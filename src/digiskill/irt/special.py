"""The few special functions the IRT core needs, in plain numpy.

``scipy.special`` would give the same values, but importing it takes 0.2–0.3 s (it pulls in scipy's array-API layer),
which every ``digiskill cat next`` call would pay. The formulas are the numerically stable ones scipy uses:

* ``log_expit(x) = log expit(x) = −logaddexp(0, −x)`` (numpy's stable ``log1p(exp(−|d|))`` form);
* ``expit(x) = 1 / (1 + exp(−x))`` (an overflowing ``exp`` gives the correct limit 0);
* ``logsumexp(x, axis) = m + log Σ exp(x − m)`` with ``m`` the maximum (``−inf`` rows give ``−inf``);
* ``log_softmax(x, axis) = x − logsumexp(x, axis)``.
"""

from __future__ import annotations

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
