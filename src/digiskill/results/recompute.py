"""The issuer recomputes: every number of a result is derived again from its logged responses before it is signed.

A result file is input like any other: a person or a script can edit it. :func:`recompute_result` therefore takes
only the *responses* as evidence (per area: the items, in order, and the category ``0..K−1`` chosen for each), checks
that the result names this installation's bank (framework version, content digest, parameter-set id and digest), and
estimates θ and SE again with the estimator and prior the result names:

* a batch result (``score --results``): ``estimator`` (eap/map/ml/wle) with the parameter set's latent N(mean, sd)
  prior, on the default grid, as :func:`digiskill.results.batch.batch_results` does;
* an adaptive result (``take`` / a session): the session's :class:`~digiskill.cat.CatConfig`, i.e. its estimator
  (with the EAP fallback of ML/WLE before a mixed pattern) and its θ grid and prior; a multidimensional session's
  areas jointly, with the own-answers evidence and the bounded level of :mod:`digiskill.results.adaptive`.

The level probabilities ``P(θ ≥ c_L | responses)`` and the certified level (highest ``L`` with probability ≥ 0.8)
follow from the posterior on that grid. Any stored value that differs from the recomputation (θ, SE relative
tolerance 1e-6; probabilities 2e-6 absolute, as they are stored rounded to 6 decimals), a level outside the framework,
an unknown or repeated area, an item of another area, or a response outside an item's categories is an
:class:`~digiskill.errors.InputError` naming the area and the difference. What is signed is the recomputed result.
"""

from __future__ import annotations

import math
from typing import get_args

import numpy as np

from ..bank.default import Bank
from ..errors import InputError, Problem
from ..irt.estimation import Method, estimate
from ..irt.quadrature import Quadrature
from .adaptive import adaptive_area_results
from .models import AreaResult, AssessmentResult, area_results, bank_version

REL_TOL = 1e-6
PROB_TOL = 2e-6


def _close(stored: float | None, recomputed: float | None, tol: float = REL_TOL) -> bool:
    if stored is None or recomputed is None:
        return stored is None and recomputed is None
    if not (math.isfinite(stored) and math.isfinite(recomputed)):
        return False
    return abs(stored - recomputed) <= tol * max(1.0, abs(recomputed))


def _fmt(x: float | None) -> str:
    return "null" if x is None else f"{x:.6g}"


def check_bank(result: AssessmentResult, bank: Bank, source: str | None = None) -> None:
    """Raise :class:`InputError` unless ``result`` names exactly this bank (which bank it needs, otherwise)."""
    have, need = bank_version(bank), result.bank
    diffs = [
        f"{label} {getattr(need, field)!r} (installed: {getattr(have, field)!r})"
        for field, label in (
            ("framework_version", "framework version"),
            ("parameter_set", "parameter set"),
            ("content_digest", "content digest"),
            ("parameter_digest", "parameter digest"),
            ("provisional", "provisional mark"),
        )
        if getattr(need, field) != getattr(have, field)
    ]
    if diffs:
        raise InputError(
            Problem(
                "the result was made with another bank than the installed one; it needs "
                + "; ".join(diffs)
                + ". Certify it with the bank it names, or score the responses again with this bank",
                source,
            )
        )


def _structure_problems(result: AssessmentResult, bank: Bank, source: str | None) -> list[Problem]:
    """Everything that makes a result impossible to recompute: areas, items, responses, levels."""
    problems: list[Problem] = []
    by_id = bank.params.items_by_id()
    n_cat = dict(zip(bank.params.to_arrays().ids, bank.params.to_arrays().n_cat.tolist(), strict=True))
    framework_levels = sorted(lv.level for lv in bank.content.framework.levels)
    seen: set[str] = set()
    if not result.areas:
        problems.append(Problem("the result has no area: nothing to certify", source))
    for k, a in enumerate(result.areas):
        where = f"areas[{k}] ({a.area!r})"

        def add(message: str, item: str | None = None, where: str = where) -> None:
            problems.append(Problem(f"{where}: {message}", source, item_id=item))

        if a.area not in bank.areas:
            add(f"unknown area; the bank has: {', '.join(bank.areas)}")
            continue
        if a.area in seen:
            add("the area appears twice in the result")
            continue
        seen.add(a.area)
        if not a.items:
            add("no items answered: an area without responses cannot be certified")
        if len(a.responses) != len(a.items):
            add(f"{len(a.items)} items but {len(a.responses)} responses: every item needs its response")
        if a.n_items != len(a.items):
            add(f"n_items is {a.n_items} but {len(a.items)} items are listed")
        if len(set(a.items)) != len(a.items):
            dup = next(i for i in a.items if a.items.count(i) > 1)
            add("an item is listed twice; an item is given once", dup)
        for item, resp in zip(a.items, a.responses, strict=False):
            if item not in by_id:
                add("unknown item (not in the parameter set)", item)
            elif by_id[item].area != a.area:
                add(f"the item belongs to area {by_id[item].area!r}", item)
            elif not 0 <= resp < n_cat[item]:
                add(f"response {resp} is not a category of the item (0..{n_cat[item] - 1})", item)
        if a.certified_level is not None and a.certified_level not in framework_levels:
            add(
                f"certified level {a.certified_level} is not a level of the framework "
                f"({framework_levels[0]}..{framework_levels[-1]})"
            )
        if bad := sorted(set(a.level_probabilities) - set(framework_levels)):
            add(f"level probabilities for level(s) {bad} that the framework does not have")
    if result.mode == "adaptive" and result.config is None:
        problems.append(Problem("an adaptive result must carry its session configuration (config)", source))
    if result.mode == "batch" and result.estimator not in get_args(Method):
        problems.append(
            Problem(f"unknown estimator {result.estimator!r}; expected one of {', '.join(get_args(Method))}", source)
        )
    if result.mode == "adaptive" and result.config is not None and result.estimator != result.config.estimator:
        problems.append(
            Problem(f"estimator {result.estimator!r} differs from the session's {result.config.estimator!r}", source)
        )
    if result.steps is not None and not problems:
        problems += _step_log_problems(result, source)
    return problems


def _step_log_problems(result: AssessmentResult, source: str | None) -> list[Problem]:
    steps = result.steps or []
    problems = []
    if [s.step for s in steps] != list(range(1, len(steps) + 1)):
        problems.append(Problem("the step log is not numbered 1, 2, 3, …", source))
    for a in result.areas:
        logged = [(s.item, s.response) for s in steps if s.area == a.area]
        if logged != list(zip(a.items, a.responses, strict=True)):
            problems.append(Problem(f"area {a.area!r}: the step log and the area's items/responses differ", source))
    if extra := sorted({str(s.area) for s in steps} - {a.area for a in result.areas}):
        problems.append(Problem(f"the step log has answers in area(s) {extra} that the result leaves out", source))
    return problems


def _recompute_batch_area(result: AssessmentResult, bank: Bank, a: AreaResult) -> AreaResult:
    codes = np.array([a.responses], dtype=np.int16)
    latent = bank.params.calibration.latent if bank.params.calibration else None
    mean, sd = (latent.mean, latent.sd) if latent else (0.0, 1.0)
    est = estimate(codes, bank.params.to_arrays(a.items), result.estimator, prior_mean=mean, prior_sd=sd)  # type: ignore[arg-type]
    return area_results(bank, a.area, codes, list(a.items), est.theta, est.se, Quadrature.normal(mean=mean, sd=sd))[0]


def _recompute_areas(result: AssessmentResult, bank: Bank) -> list[AreaResult]:
    if result.mode == "batch":
        return [_recompute_batch_area(result, bank, a) for a in result.areas]
    assert result.config is not None  # checked by _structure_problems
    answers = [(a.area, list(a.items), list(a.responses)) for a in result.areas]
    return adaptive_area_results(bank, result.config, answers)


def _differences(stored: AreaResult, new: AreaResult) -> list[str]:
    out = []
    if stored.certified_level != new.certified_level:
        out.append(
            f"certified level {stored.certified_level} stored, {new.certified_level} recomputed "
            f"(P(θ ≥ cut) per level: {', '.join(f'L{k} {v:.4f}' for k, v in sorted(new.level_probabilities.items()))})"
        )
    if not _close(stored.theta, new.theta):
        out.append(f"θ {_fmt(stored.theta)} stored, {_fmt(new.theta)} recomputed")
    if not _close(stored.se, new.se):
        out.append(f"SE {_fmt(stored.se)} stored, {_fmt(new.se)} recomputed")
    if set(stored.level_probabilities) != set(new.level_probabilities):
        out.append(
            f"probabilities for levels {sorted(stored.level_probabilities)} stored, "
            f"{sorted(new.level_probabilities)} expected"
        )
    else:
        for level, p in sorted(new.level_probabilities.items()):
            if not abs(stored.level_probabilities[level] - p) <= PROB_TOL:
                out.append(f"P(level {level}) {stored.level_probabilities[level]:.6g} stored, {p:.6g} recomputed")
    if stored.joint_level != new.joint_level:
        out.append(f"joint level {stored.joint_level} stored, {new.joint_level} recomputed")
    if (stored.own_answers is None) != (new.own_answers is None):
        out.append(
            "the own-answers evidence of a multidimensional test is missing"
            if stored.own_answers is None
            else "own-answers evidence is stored for a test that is not multidimensional"
        )
    elif stored.own_answers is not None and new.own_answers is not None:
        own, fresh = stored.own_answers, new.own_answers
        if own.proven_level != fresh.proven_level or own.supported_level != fresh.supported_level:
            out.append(
                f"own-answers levels (proven {own.proven_level}, supported {own.supported_level}) stored, "
                f"(proven {fresh.proven_level}, supported {fresh.supported_level}) recomputed"
            )
        if not (_close(own.theta, fresh.theta) and _close(own.se, fresh.se)):
            out.append(
                f"own-answers θ {_fmt(own.theta)} (SE {_fmt(own.se)}) stored, {_fmt(fresh.theta)} "
                f"(SE {_fmt(fresh.se)}) recomputed"
            )
        if set(own.level_probabilities) != set(fresh.level_probabilities) or any(
            abs(own.level_probabilities[k] - p) > PROB_TOL for k, p in fresh.level_probabilities.items()
        ):
            out.append("the own-answers level probabilities differ from the recomputed ones")
    if stored.cut_scores != new.cut_scores:
        out.append("cut scores differ from the bank's")
    if stored.level_name != new.level_name:
        out.append("the level name differs from the framework's")
    return out


def recompute_result(result: AssessmentResult, bank: Bank, *, source: str | None = None) -> AssessmentResult:
    """``result`` with every area recomputed from its responses; :class:`InputError` when anything stored differs.

    Args:
        result: a result as read from a file or made by :func:`~digiskill.results.models.result_from_session`.
        bank: the installed bank; it must be the one the result names.
        source: the file the result came from (named in the messages).
    """
    check_bank(result, bank, source)
    if problems := _structure_problems(result, bank, source):
        raise InputError(problems)
    new_areas = _recompute_areas(result, bank)
    for a, new in zip(result.areas, new_areas, strict=True):
        if diffs := _differences(a, new):
            problems += [Problem(f"area {a.area!r}: {d}", source) for d in diffs]
    if problems:
        problems.append(
            Problem("the result does not follow from its own responses; it was changed after scoring", source)
        )
        raise InputError(problems)
    return result.model_copy(update={"areas": new_areas})


__all__ = ["check_bank", "recompute_result"]
