"""Content balancing for ``N`` tests at once: Kingsbury–Zara across the session's areas and, within an area, across
DigComp competences (see :class:`~digiskill.cat.config.ContentBalancing`). A session calls these with N = 1, the
simulation with N simulees.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .arrays import AreaBank
from .config import ContentBalancing


def area_targets(session_areas: Sequence[str | None], targets: dict[str, float] | None) -> np.ndarray:
    """Kingsbury–Zara target proportions of the session's areas (missing areas: the mean of the given targets)."""
    if targets:
        fill = float(np.mean(list(targets.values())))
        raw = np.array([targets.get(a, fill) if a is not None else fill for a in session_areas])
    else:
        raw = np.ones(len(session_areas))
    return raw / raw.sum()


def kingsbury_zara(counts: np.ndarray, open_areas: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``(N,)`` per test, the open area with the largest target minus observed proportion of items (ties: the first
    in session order). ``counts`` and ``open_areas`` are ``(N, A)`` over the session's areas."""
    total = counts.sum(axis=1, keepdims=True)
    observed = counts / np.maximum(total, 1)
    return np.argmax(np.where(open_areas, target[None, :] - observed, -np.inf), axis=1)


def competence_allowed(
    ab: AreaBank, given: np.ndarray, available: np.ndarray, cfg_balancing: ContentBalancing
) -> np.ndarray:
    """Kingsbury–Zara on DigComp competences within an area: only items of the competence with the largest target
    minus observed proportion (among competences with items left) stay available.

    Args:
        ab: the area's items (``competence`` codes, −1 = none given: always allowed).
        given: ``(N, J_a)`` True for items already answered.
        available: ``(N, J_a)`` True for items that could be chosen.
        cfg_balancing: the :class:`~digiskill.cat.config.ContentBalancing` block.

    Returns:
        ``(N, J_a)`` the allowed items (a subset of ``available``; ``available`` itself when nothing is balanced).
    """
    n_comp = len(ab.competences)
    if not cfg_balancing.competences or n_comp < 2 or ab.competence is None:
        return available
    onehot = (ab.competence[:, None] == np.arange(n_comp)).astype(np.float64)  # (J_a, C)
    targets = cfg_balancing.competence_targets
    if targets:
        fill = float(np.mean(list(targets.values())))
        raw = np.array([targets.get(c, fill) for c in ab.competences])
    else:
        raw = np.ones(n_comp)
    counts = given.astype(np.float64) @ onehot  # (N, C)
    observed = counts / np.maximum(counts.sum(axis=-1, keepdims=True), 1.0)
    has_items = (available.astype(np.float64) @ onehot) > 0
    deficit = np.where(has_items, raw / raw.sum() - observed, -np.inf)
    chosen = np.argmax(deficit, axis=-1)  # ties: the first competence id in sorted order
    any_left = has_items.any(axis=-1)
    keep = (ab.competence == np.expand_dims(chosen, -1)) | (ab.competence < 0)
    return np.where(np.expand_dims(any_left, -1), available & keep, available)
