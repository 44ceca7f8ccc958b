"""The area results of an adaptive test, computed from its answers: one area at a time, or all areas jointly.

**Unidimensional test** (:func:`own_area_result`): each area's θ and SE with the session's estimator on its grid
(:func:`digiskill.cat.estimate.fit_area`), and ``P(θ ≥ c_L | the area's answers)`` from the posterior on the grid.

**Multidimensional test** (:func:`joint_area_results`, ``CatConfig.dimensionality = "multidimensional"``). The areas'
abilities are ``θ ~ N(0, Σ)`` with the correlation ``Σ`` of the session (its ``latent``, else the parameter set's),
and every answer informs every area. The result per area states:

* ``theta``, ``se``: the joint estimate from all the test's answers (the session's estimator: MAP, Newton with the
  observed-information SE; or EAP by quasi-Monte Carlo, seed 0, ``config.joint.qmc_points``);
* ``level_probabilities``: ``P(θ_d ≥ c_L | all answers)`` from the joint posterior (quasi-Monte Carlo importance
  sampling around the mode, seed 0, the same points; ``joint_level`` is the highest ``L`` where it is ≥ 0.8);
* ``own_answers``: what the area's own answers say alone, as in a unidimensional test (θ, SE, level probabilities
  under the area's N(0, 1) prior on the session's grid); ``proven_level`` = highest ``L`` with probability ≥ 0.8,
  ``supported_level`` = highest ``L`` with probability ≥ 0.5;
* ``certified_level``: the **joint level kept within the own evidence**,
  ``min(max(joint_level, proven_level), supported_level)`` (no level counts as 0).

Why this rule. The joint posterior is the more accurate estimate for most people, because the areas are correlated;
but a certificate says what a person showed in *this* area. Someone strong in five areas and weak in security would
otherwise be certified in security on the strength of the other five, and someone strong only in security would be
pulled down by the others. The rule never certifies a level the area's own answers make less likely than not
(``supported_level``), and never less than its own answers prove at the certification threshold (``proven_level``,
what a unidimensional test would certify). ``benchmarks/mcat_study.py`` measures what each choice does to level
accuracy, over everyone and over people whose areas differ a lot (README, "Multidimensional adaptive test").

Everything is a deterministic function of the answers, so the issuer recomputes it before signing
(:mod:`digiskill.results.recompute`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..bank.default import Bank
from ..cat.config import CatConfig
from ..irt.numbers import finite_or_none
from .levels import SUPPORT_PROBABILITY, bounded_level, certified_level
from .models import AreaResult, Localized, OwnAnswers, area_results


def own_area_result(
    bank: Bank, cat: Any, config: CatConfig, area: str, items: list[str], codes: list[int]
) -> AreaResult:
    """One area's result from its own answers alone (``codes``: categories ``0..K−1`` of ``items``, in order);
    ``cat`` is the session's :class:`~digiskill.cat.arrays.CatBank`."""
    from ..cat.estimate import fit_area

    local = cat.local[[cat.index[i] for i in items]]
    fit = fit_area(cat.areas[area], cat.grid, local, np.asarray(codes, dtype=np.int64), config.estimator)
    x = np.array([codes], dtype=np.int16)
    return area_results(
        bank, area, x, list(items), np.array([fit.theta]), np.array([fit.se]), config.quadrature.quadrature()
    )[0]


def _joint_prior(cat: Any, areas: Sequence[str]):
    from ..irt.multidim import LatentNormal

    assert cat.latent is not None, "the bank was prepared for a unidimensional configuration"
    pos = [cat.area_names.index(a) for a in areas]
    return LatentNormal(cat.latent[np.ix_(pos, pos)])


def joint_area_results(
    bank: Bank, cat: Any, config: CatConfig, answers: Sequence[tuple[str, list[str], list[int]]]
) -> list[AreaResult]:
    """The results of a multidimensional test's areas (see the module docstring).

    Args:
        bank: the installed bank (cut scores, level names).
        cat: the session's :class:`~digiskill.cat.arrays.CatBank` (its ``latent`` correlation).
        config: the session's configuration (estimator, grid, ``joint.qmc_points``).
        answers: per area with answers: ``(area, items, categories 0..K−1)``; the joint model is over these areas
            (areas without an answer have no likelihood, so leaving them out is exact).
    """
    from ..cat.joint import EAP_SEED
    from ..irt.multidim import joint_eap, joint_map

    areas = [a for a, _, _ in answers]
    prior = _joint_prior(cat, areas)
    items = [bank.params.to_arrays(ids) for _, ids, _ in answers]
    codes = [np.array([c], dtype=np.int64) for _, _, c in answers]
    cuts = [bank.cut_scores.areas[a].cuts for a in areas]
    levels = [sorted(c) for c in cuts]
    post = joint_eap(
        codes,
        items,
        prior,
        n_points=config.joint.qmc_points,
        seed=EAP_SEED,
        cuts=[np.array([c[lv] for lv in ls]) for c, ls in zip(cuts, levels, strict=True)],
    )
    est = post if config.estimator == "eap" else joint_map(codes, items, prior)
    assert post.tails is not None
    names = {lv.level: Localized(da=lv.name.da, en=lv.name.en) for lv in bank.content.framework.levels}
    out = []
    for d, (area, ids, c) in enumerate(answers):
        own = own_area_result(bank, cat, config, area, ids, c)
        joint_probs = {lv: round(float(p), 6) for lv, p in zip(levels[d], post.tails[d][0], strict=True)}
        joint = certified_level(joint_probs)
        proven = own.certified_level
        supported = certified_level(own.level_probabilities, SUPPORT_PROBABILITY)
        level = bounded_level(joint, proven, supported)
        out.append(
            own.model_copy(
                update={
                    "theta": finite_or_none(est.theta[0, d]),
                    "se": finite_or_none(est.se[0, d]),
                    "level_probabilities": joint_probs,
                    "certified_level": level,
                    "level_name": names.get(level) if level is not None else None,
                    "joint_level": joint,
                    "own_answers": OwnAnswers(
                        theta=own.theta,
                        se=own.se,
                        level_probabilities=own.level_probabilities,
                        proven_level=proven,
                        supported_level=supported,
                    ),
                }
            )
        )
    return out


def adaptive_area_results(
    bank: Bank, config: CatConfig, answers: Sequence[tuple[str, list[str], list[int]]], cat: Any = None
) -> list[AreaResult]:
    """The area results of an adaptive test from its answers ``(area, items, categories)``, per the configuration's
    dimensionality; ``cat``: the session's prepared bank when the caller has it."""
    if cat is None:
        from ..cat.arrays import CatBank

        cat = CatBank.from_parameters(bank.params, config)
    if config.dimensionality == "multidimensional":
        return joint_area_results(bank, cat, config, answers)
    return [own_area_result(bank, cat, config, a, ids, c) for a, ids, c in answers]


__all__ = ["adaptive_area_results", "joint_area_results", "own_area_result"]
