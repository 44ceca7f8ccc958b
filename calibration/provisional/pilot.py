"""A simulated pilot: the honest stand-in for real response data until a real pilot has been run.

Used by ``run.py`` beside it (the provisional calibration of the default bank) and by ``tests/test_pilot.py``; it is
not part of the installed package.

No jobseeker has answered the bank yet, so the first (provisional) parameter set is calibrated on simulated data.
This module makes that data, from documented assumptions only:

**Generating parameters** (per item, from its intended DigComp level ``L`` and format, seeded):

* location ``b ~ N(b_L, 0.35²)`` with ``b_L = −2.0 + 0.75 (L − 1)`` (level 1 at −2.0 … level 6 at +1.75 on a scale
  where the pilot population is N(0, 1));
* single choice and ordering: 2PL, ``a ~ lognormal(log 1.3, 0.25)``; true/false: 2PL, ``a ~ lognormal(log 0.9,
  0.25)`` (weaker items);
* multiple response (partial credit, ``len(key) + 1`` categories): GPCM, ``a ~ lognormal(log 1.0, 0.2)``, steps
  ``b + linspace(−0.8, 0.8, K − 1) + N(0, 0.2²)``.

Guessing is not simulated (2PL, not 3PL): the provisional calibration is a 2PL/GPCM calibration, and whether real
data need a lower asymptote is a question for the real pilot.

**Design** (linked booklets): in each area, 8 anchor items spread over the levels appear in every form, and the
other items are split over 3 forms (13–14 items each with the 48 items per area of the default bank), so a form has
21–22 items. A simulee answers one form in each of two areas (42–44 items): the areas are paired in a cycle (1–2,
2–3, …, 6–1), so every area is answered by
``2 × n_per_booklet`` simulees. Abilities on the six areas are multivariate normal with mean 0, SD 1 and
correlation ``rho`` (0.6) between every pair of areas.

**Correlation pilot** (:func:`correlation_form`, :func:`simulate_correlation_pilot`). The cycle of area pairs above
puts only 6 of the 15 pairs of areas in front of the same persons, so the correlations of non-adjacent areas are not
identified by it. A second, simulated form fixes that: ``N_CORRELATION`` (5,000) simulees answer the
``N_CORRELATION_ITEMS`` (11) most informative items of every area (66 items; the items with the largest Fisher
information averaged over N(0, 1), by the calibrated parameters), with abilities ``N(0, R)``, ``R`` the pilot's (every
pair ``rho`` = 0.6), responses drawn from the generating parameters (seed ``CORRELATION_SEED``). ``correlation.py``
estimates ``R`` from it with the items fixed at the bank's calibrated parameters (``digiskill calibrate
--multidimensional``). Every person answers every area because a pair's correlation is only as precise as the persons
who answered both areas allow (a block design with 3 of 6 areas a person leaves 1,000 of 5,000 per pair, whose true
abilities alone scatter the correlation by 0.02), and the items are the most informative ones because measurement
error, not the persons' number, dominates the error: the 8 anchor items of every area (spread over the levels,
reliability 0.65–0.71) missed 0.6 by 0.03–0.06 in every one of 4 seeds, these 11 (reliability 0.83–0.85) by
0.015–0.035 over 16 seeds (``calibration/README.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digiskill.bank.content import BankContent, Item, MultipleResponseItem, TrueFalseItem, item_categories
from digiskill.irt.items import PARTIAL_CREDIT, ItemArrays
from digiskill.irt.response import item_information, probability
from digiskill.irt.sampling import draw_categories

LEVEL_LOCATION = {level: -2.0 + 0.75 * (level - 1) for level in range(1, 9)}
N_ANCHORS = 8
N_FORMS = 3
N_CORRELATION = 5000
N_CORRELATION_ITEMS = 11
CORRELATION_SEED = 2027


@dataclass(frozen=True, eq=False)
class AreaPilot:
    """Simulated pilot data of one area."""

    area: str
    items: ItemArrays  # generating parameters, in bank order
    item_models: list[str]  # "2pl" or "gpcm" per item
    anchors: list[str]
    forms: list[list[str]]  # item ids per form (anchors included)
    person_ids: list[str]
    responses: np.ndarray  # (n, J) float, NaN = not presented
    theta: np.ndarray  # (n,) true abilities


@dataclass(frozen=True, eq=False)
class Pilot:
    seed: int
    rho: float
    areas: list[AreaPilot]


def generating_parameters(items: list[Item], rng: np.random.Generator) -> tuple[ItemArrays, list[str]]:
    """Draw generating parameters for ``items`` (see module notes)."""
    dich_idx = [n for n, it in enumerate(items) if not isinstance(it, MultipleResponseItem)]
    poly_idx = [n for n, it in enumerate(items) if isinstance(it, MultipleResponseItem)]
    b = np.array([rng.normal(LEVEL_LOCATION[it.level], 0.35) for it in items])
    a = np.array(
        [
            rng.lognormal(np.log(1.0), 0.2)
            if isinstance(it, MultipleResponseItem)
            else rng.lognormal(np.log(0.9 if isinstance(it, TrueFalseItem) else 1.3), 0.25)
            for it in items
        ]
    )
    parts = [ItemArrays.dichotomous(a[dich_idx], b[dich_idx], ids=[items[n].id for n in dich_idx])]
    if poly_idx:
        steps = []
        for n in poly_idx:
            k = item_categories(items[n])
            steps.append(b[n] + np.linspace(-0.8, 0.8, k - 1) + rng.normal(0, 0.2, k - 1))
        parts.append(ItemArrays.polytomous(PARTIAL_CREDIT, a[poly_idx], steps, ids=[items[n].id for n in poly_idx]))
    joined = ItemArrays.concat(parts)
    order = [joined.index[it.id] for it in items]
    models = ["gpcm" if isinstance(it, MultipleResponseItem) else "2pl" for it in items]
    return joined.subset(order), models


def booklet_forms(items: list[Item], rng: np.random.Generator) -> tuple[list[str], list[list[str]]]:
    """Anchors (spread over levels) and ``N_FORMS`` forms of one area."""
    by_level = sorted(items, key=lambda it: (it.level, it.id))
    picks = np.linspace(0, len(by_level) - 1, N_ANCHORS).round().astype(int)
    anchors = [by_level[i].id for i in picks]
    rest = [it.id for it in by_level if it.id not in anchors]
    rest = [rest[i] for i in rng.permutation(len(rest))]
    forms = [anchors + sorted(rest[f::N_FORMS]) for f in range(N_FORMS)]
    return anchors, forms


def simulate_pilot(content: BankContent, *, n_per_area: int = 6000, rho: float = 0.6, seed: int = 2026) -> Pilot:
    """Simulate the linked-booklet pilot for every area of ``content`` (see module notes)."""
    rng = np.random.default_rng(seed)
    area_ids = list(content.framework.area_ids)
    n_areas = len(area_ids)
    items_by_area = {af.content.area: list(af.content.items) for af in content.area_files}
    per_booklet = n_per_area // 2
    n_total = per_booklet * n_areas
    cov = np.full((n_areas, n_areas), rho) + (1 - rho) * np.eye(n_areas)
    theta = rng.multivariate_normal(np.zeros(n_areas), cov, size=n_total)
    person_ids = [f"SIM{n + 1:05d}" for n in range(n_total)]
    booklet = np.repeat(np.arange(n_areas), per_booklet)  # booklet b covers areas b and b + 1 (cyclic)
    out = []
    for a_idx, area in enumerate(area_ids):
        items = items_by_area[area]
        params, models = generating_parameters(items, rng)
        anchors, forms = booklet_forms(items, rng)
        takers = np.flatnonzero((booklet == a_idx) | (booklet == (a_idx - 1) % n_areas))
        form_of = rng.integers(0, N_FORMS, size=takers.size)
        th = theta[takers, a_idx]
        p = probability(th, params)  # (n, J, K)
        x = draw_categories(p, rng, params.n_cat).astype(float)
        in_form = np.zeros((N_FORMS, params.n_items), dtype=bool)
        for f, form in enumerate(forms):
            in_form[f, [params.index[i] for i in form]] = True
        x[~in_form[form_of]] = np.nan
        out.append(AreaPilot(area, params, models, anchors, forms, [person_ids[t] for t in takers], x, th))
    return Pilot(seed, rho, out)


def correlation_form(items: ItemArrays, n_items: int = N_CORRELATION_ITEMS) -> list[str]:
    """The ``n_items`` ids of ``items`` (one area, calibrated parameters) with the largest Fisher information averaged
    over N(0, 1) (241 points on [−6, 6]), most informative first (ties in bank order)."""
    points = np.linspace(-6.0, 6.0, 241)
    weights = np.exp(-0.5 * points**2)
    mean_info = (weights / weights.sum()) @ item_information(points, items)
    return [items.ids[j] for j in np.argsort(-mean_info, kind="stable")[:n_items]]


def simulate_correlation_pilot(
    items: list[ItemArrays], cov: np.ndarray, *, n: int = N_CORRELATION, seed: int = CORRELATION_SEED
) -> tuple[list[np.ndarray], np.ndarray]:
    """Every simulee answers every item of ``items`` (one block per area): abilities ``N(0, cov)``, responses drawn
    from the given (generating) parameters.

    Returns:
        Per area the ``(n, J_d)`` category codes, and the ``(n, D)`` true abilities.
    """
    rng = np.random.default_rng(seed)
    theta = rng.multivariate_normal(np.zeros(len(items)), cov, size=n)
    codes = [draw_categories(probability(theta[:, d], it), rng, it.n_cat) for d, it in enumerate(items)]
    return codes, theta
