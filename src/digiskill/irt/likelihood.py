"""Response coding and the log-likelihood of response matrices with missing values.

Responses are coded once as integers: category ``0..n_cat−1`` or :data:`MISSING` (−1) for "not presented". A missing
response adds nothing to the log-likelihood. The log-likelihood of ``N`` persons at ``Q`` ability values is a sum of
``K`` matrix products, one per category: ``L = Σ_k 1[X = k] @ log P_k(θ)ᵀ`` (``N × J`` times ``J × Q``), so the
cost is a few BLAS calls, never a loop over persons or items.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .items import ItemArrays

MISSING = -1
# Stand-in for log P of categories an item does not have. Those categories never carry a response (checked by
# encode_responses), so the value only has to be finite for 0 · value = 0 in the matrix products.
_ABSENT_LOGP = 0.0


def encode_responses(responses: np.ndarray, items: ItemArrays | None = None) -> np.ndarray:
    """Integer codes ``(N, J)`` from responses given as floats with NaN for missing, or integers with a negative code
    for missing (both become :data:`MISSING`). The one response coder: estimation, fit and DIF all use it.

    Args:
        responses: ``(N, J)`` (or one pattern ``(J,)``).
        items: the items, whose categories bound the codes; None (DIF on raw data): any whole number ``>= 0``.

    Raises:
        InputError: a matrix of the wrong shape, a value that is not a whole number, or a category an item does not
            have; the message names the first offending row (0-based) and item id, and how many values are wrong.
    """
    x = np.asarray(responses)
    if x.ndim == 1 and items is not None:
        x = x[None, :]
    n_items = x.shape[1] if items is None and x.ndim == 2 else None if items is None else items.n_items
    if x.ndim != 2 or n_items is None or x.shape[1] != n_items:
        expected = "items" if items is None else f"{items.n_items} items"
        raise InputError(f"responses must be (persons, {expected}); got shape {x.shape}")
    n_cat = np.iinfo(np.int16).max if items is None else items.n_cat
    if np.issubdtype(x.dtype, np.integer):
        if x.min(initial=0) >= MISSING and (x < n_cat).all():  # already coded: no copy
            return x.astype(np.int16, copy=False)
        codes = x.astype(np.int16)
        missing = x < 0
        bad = ~missing & (x >= n_cat)
    else:
        xf = x.astype(float)
        missing = np.isnan(xf)
        filled = np.where(missing, 0.0, xf)
        codes = filled.astype(np.int16)
        bad = ~missing & ((codes != filled) | (codes < 0) | (codes >= n_cat))
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        item = f"item {col + 1}" if items is None else f"item {items.ids[col]!r}"
        top = "" if items is None else f"..{int(items.n_cat[col]) - 1}"
        raise InputError(
            f"{int(bad.sum())} response(s) outside the items' categories; first at row {row}, "
            f"{item}: got {x[row, col].item()!r}, expected an integer 0{top}"
        )
    return np.where(missing, MISSING, codes).astype(np.int16)


def finite_logp(logp: np.ndarray) -> np.ndarray:
    """``logp`` with the −inf of absent categories replaced by a finite stand-in (see module notes)."""
    return np.where(np.isneginf(logp), _ABSENT_LOGP, logp)


def indicator_products(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``Σ_k 1[codes = k] @ values[..., k]ᵀ``: per person, the sum over answered items of the value at the answer.

    Args:
        codes: ``(N, J)`` integer codes (−1 missing).
        values: ``(Q, J, K)`` a per-category quantity (e.g. log P or ∂ log P) at ``Q`` ability values.

    Returns:
        ``(N, Q)``.
    """
    out = np.zeros((codes.shape[0], values.shape[0]))
    for k in range(values.shape[2]):  # a handful of categories
        out += (codes == k).astype(np.float64) @ values[:, :, k].T
    return out


def loglik_matrix(codes: np.ndarray, logp: np.ndarray) -> np.ndarray:
    """Log-likelihood ``(N, Q)`` of each person's answered items at each of ``Q`` ability values.

    Args:
        codes: ``(N, J)`` integer codes from :func:`encode_responses`.
        logp: ``(Q, J, K)`` log category probabilities (:func:`digiskill.irt.response.log_probability`).
    """
    return indicator_products(codes, finite_logp(logp))


def gather_at_responses(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per person, ``Σ_j values[n, j, x_nj]`` over answered items, for values evaluated at each person's own θ.

    Args:
        values: ``(N, J, K)``.
        codes: ``(N, J)``.
    """
    out = np.zeros(codes.shape[0])
    for k in range(values.shape[-1]):  # a handful of categories
        out += np.where(codes == k, values[..., k], 0.0).sum(axis=-1)
    return out
