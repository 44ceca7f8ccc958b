"""Drawing simulated responses from the model: the one response sampler, used by CAT simulation, the simulated
pilot and the load test.

:func:`draw_categories`: ``x = #{k : u > P(X ≤ k | θ)}`` with ``u ~ U(0, 1)``, for any array of category
probabilities ``(..., K)``: one uniform per response, drawn from the caller's Generator (no global random state).
"""

from __future__ import annotations

import numpy as np


def draw_categories(p: np.ndarray, rng: np.random.Generator, n_cat: np.ndarray | None = None) -> np.ndarray:
    """Category codes drawn from probabilities ``p`` of shape ``(..., K)``; shape ``p.shape[:-1]``.

    One uniform per response from ``rng``. ``n_cat`` (broadcast against ``p.shape[:-1]``, e.g. ``(J,)``) caps each
    code at the item's last category, in case rounding leaves the cumulative sum a hair below 1.
    """
    cum = np.cumsum(p, axis=-1)
    u = rng.random((*p.shape[:-1], 1))
    codes = (cum < u).sum(axis=-1)
    return np.minimum(codes, p.shape[-1] - 1 if n_cat is None else np.asarray(n_cat) - 1)
