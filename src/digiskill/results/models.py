"""The assessment result: one schema for adaptive sessions and for batch scoring.

An :class:`AssessmentResult` says, per competence area, what was estimated (θ, SE, number of items, the items), the
posterior probability of reaching each level and the certified level (highest ``L`` with ``P(θ ≥ c_L) ≥ 0.8``),
and everything needed to explain and reproduce it: the estimator, the bank version (framework version, a digest of
the item content, parameter-set id and its provisional mark), the engine version, the time, the seed of an adaptive
session and its step log.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from pydantic import ConfigDict, Field

from ..bank.content import unreviewed_items
from ..bank.default import Bank
from ..bank.frozen import FrozenModel
from ..cat.arrays import CatBank
from ..cat.config import CatConfig
from ..cat.session import Session, StepRecord
from ..irt.estimation import log_posterior
from ..irt.likelihood import encode_responses
from ..irt.numbers import finite_or_none
from ..irt.quadrature import Quadrature
from .levels import CERTIFY_PROBABILITY, SUPPORT_PROBABILITY, certified_level, prob_at_least

RESULT_SCHEMA = "digiskill.result/1"


class Localized(FrozenModel):
    da: str
    en: str


class BankVersion(FrozenModel):
    """Which bank produced a result: enough to reproduce it."""

    framework_version: str
    content_digest: str = Field(description="SHA-256 over the item-content files (framework, areas, profiles)")
    parameter_set: str
    parameter_digest: str = Field(description="SHA-256 over the parameter set's canonical JSON")
    provisional: bool = Field(description="true while the parameters do not come from real response data")


class OwnAnswers(FrozenModel):
    """A multidimensional test: what the area's own answers say alone (as a unidimensional test would)."""

    theta: float | None = Field(description="estimate from the area's own answers under its N(0, 1) prior")
    se: float | None
    level_probabilities: dict[int, float] = Field(description="level -> P(θ ≥ cut | the area's own answers)")
    proven_level: int | None = Field(description=f"highest level with own probability ≥ {CERTIFY_PROBABILITY}")
    supported_level: int | None = Field(description=f"highest level with own probability ≥ {SUPPORT_PROBABILITY}")


class AreaResult(FrozenModel):
    """The result in one competence area."""

    area: str
    theta: float | None = Field(description="ability estimate on the area's scale (null: not estimable)")
    se: float | None
    n_items: int = Field(ge=0)
    items: list[str] = Field(default_factory=list, description="the items answered, in order")
    responses: list[int] = Field(
        default_factory=list,
        description="the response category (0..K−1) to each item of `items`, in the same order: the issuer "
        "recomputes θ, SE and the levels from them before signing",
    )
    level_probabilities: dict[int, float] = Field(
        description="level -> P(θ ≥ cut of the level | responses), from the posterior on the grid"
    )
    certified_level: int | None = Field(
        description=f"highest level with probability ≥ {CERTIFY_PROBABILITY}; a multidimensional test: "
        "`joint_level` kept within the own evidence, min(max(joint_level, own_answers.proven_level), "
        "own_answers.supported_level)"
    )
    joint_level: int | None = Field(
        None,
        description=f"a multidimensional test: highest level with P(θ ≥ cut | all the test's answers) ≥ "
        f"{CERTIFY_PROBABILITY} (θ, SE and level_probabilities are then the joint posterior's)",
    )
    own_answers: OwnAnswers | None = Field(
        None, description="a multidimensional test: the estimate and levels from the area's own answers alone"
    )
    level_name: Localized | None = None
    cut_scores: dict[int, float] = Field(description="the cut scores used")
    unreviewed_items: int = Field(
        0, ge=0, description="how many of the items answered are drafts, not yet reviewed by a content expert"
    )


class AssessmentResult(FrozenModel):
    """One person's result (adaptive test or batch scoring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_id: Literal["digiskill.result/1"] = Field(RESULT_SCHEMA, alias="schema")
    result_id: str = Field(description="unique id of this result")
    person: str = Field(description="pseudonymous person reference (never a name or CPR number)")
    mode: Literal["adaptive", "batch"]
    created: datetime
    engine: str
    estimator: str
    bank: BankVersion
    seed: int | None = Field(None, description="seed of the adaptive session (reproduces its random choices)")
    config: CatConfig | None = Field(
        None, description="the configuration of an adaptive session (its estimator and θ grid reproduce the result)"
    )
    areas: list[AreaResult]
    steps: list[StepRecord] | None = Field(None, description="the adaptive step log")
    steps_ref: str | None = Field(None, description="where the step log is kept, when not included")

    @property
    def provisional(self) -> bool:
        return self.bank.provisional

    @property
    def multidimensional(self) -> bool:
        """True for a multidimensional test: its levels follow the joint rule (``AreaResult.certified_level``)."""
        return self.config is not None and self.config.dimensionality == "multidimensional"

    def area(self, area: str) -> AreaResult:
        for a in self.areas:
            if a.area == area:
                return a
        raise KeyError(area)

    def dump_json(self) -> str:
        return self.model_dump_json(by_alias=True)


_PARAM_DIGESTS: dict[int, tuple[object, str]] = {}


def parameter_digest(bank: Bank) -> str:
    """SHA-256 (hex) of the bank's parameter set as canonical JSON (computed once per parameter-set object)."""
    cached = _PARAM_DIGESTS.get(id(bank.params))
    if cached is not None and cached[0] is bank.params:
        return cached[1]
    digest = hashlib.sha256(bank.params.model_dump_json().encode("utf-8")).hexdigest()
    if len(_PARAM_DIGESTS) > 16:
        _PARAM_DIGESTS.clear()
    _PARAM_DIGESTS[id(bank.params)] = (bank.params, digest)
    return digest


def bank_version(bank: Bank) -> BankVersion:
    return BankVersion(
        framework_version=bank.content.framework.version,
        content_digest=bank.content_digest,
        parameter_set=bank.params.id,
        parameter_digest=parameter_digest(bank),
        provisional=bank.provisional,
    )


def area_results(
    bank: Bank,
    area: str,
    codes: np.ndarray,
    item_ids: list[str],
    theta: np.ndarray,
    se: np.ndarray,
    quadrature: Quadrature,
) -> list[AreaResult]:
    """Area results for ``N`` persons at once: posteriors ``(N, Q)`` on the grid, level probabilities ``(N, L)``."""
    items = bank.params.to_arrays(item_ids)
    post = np.exp(log_posterior(codes, items, quadrature))
    cuts = bank.cut_scores.areas[area].cuts
    levels = sorted(cuts)
    probs = prob_at_least(quadrature.points, post, np.array([cuts[level] for level in levels]))
    names = {lv.level: Localized(da=lv.name.da, en=lv.name.en) for lv in bank.content.framework.levels}
    seen = codes >= 0
    unreviewed = np.isin(item_ids, unreviewed_items(bank.content.items, item_ids))  # (J,)
    out = []
    for n in range(codes.shape[0]):  # building the boundary objects, once per person
        by_level = {level: round(float(p), 6) for level, p in zip(levels, probs[n], strict=True)}
        cert = certified_level(by_level)
        out.append(
            AreaResult(
                area=area,
                theta=finite_or_none(theta[n]),
                se=finite_or_none(se[n]),
                n_items=int(seen[n].sum()),
                items=[item_ids[j] for j in np.flatnonzero(seen[n])],
                responses=[int(codes[n, j]) for j in np.flatnonzero(seen[n])],
                level_probabilities=by_level,
                certified_level=cert,
                level_name=names.get(cert) if cert is not None else None,
                cut_scores=dict(cuts),
                unreviewed_items=int((seen[n] & unreviewed).sum()),
            )
        )
    return out


def result_from_session(session: Session, bank: Bank, person: str, cat: CatBank | None = None) -> AssessmentResult:
    """The result of a finished (or stopped) adaptive session (a multidimensional one: computed jointly from its
    answers, :func:`digiskill.results.adaptive.joint_area_results`, with ``cat`` when it is the bank prepared for the
    session's configuration, else one prepared now)."""
    if session.config.dimensionality == "multidimensional":
        from .adaptive import adaptive_area_results

        answers = []
        for state in session.areas:
            steps = [s for s in session.steps if s.area == state.area]
            if steps:
                ids = [s.item for s in steps]
                codes = encode_responses(
                    np.array([[s.response for s in steps]], dtype=float), bank.params.to_arrays(ids)
                )
                answers.append((state.area, ids, [int(c) for c in codes[0]]))
        if cat is not None and cat.config != session.config:
            cat = None
        return _adaptive_result(session, bank, person, adaptive_area_results(bank, session.config, answers, cat))
    quad = session.config.quadrature.quadrature()
    areas = []
    for state in session.areas:
        steps = [s for s in session.steps if s.area == state.area]
        ids = [s.item for s in steps]
        if not ids:
            continue
        items = bank.params.to_arrays(ids)
        codes = encode_responses(np.array([[s.response for s in steps]], dtype=float), items)
        theta = np.array([np.nan if state.theta is None else state.theta])
        se = np.array([np.nan if state.se is None else state.se])
        areas += area_results(bank, state.area, codes, ids, theta, se, quad)
    return _adaptive_result(session, bank, person, areas)


def _adaptive_result(session: Session, bank: Bank, person: str, areas: list[AreaResult]) -> AssessmentResult:
    return AssessmentResult(
        result_id=str(uuid.uuid4()),
        person=person,
        mode="adaptive",
        created=datetime.now(UTC).replace(microsecond=0),
        engine=session.engine,
        estimator=session.config.estimator,
        bank=bank_version(bank),
        seed=session.seed,
        config=session.config,
        areas=areas,
        steps=list(session.steps),
    )
