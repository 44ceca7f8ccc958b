"""Configuration of an adaptive test: one validated, JSON-able :class:`CatConfig` made of small rule blocks.

Every block is a frozen pydantic model with ``extra="forbid"`` (a typo in a configuration file is an error, not a
silently ignored key). The configuration is checked when it is built, naming the bad value; the CAT step itself never
sees pydantic objects (:class:`~digiskill.cat.arrays.CatBank` turns the parts it needs into arrays once).

Defaults and why:

* **start** at θ = −0.5: the first item of each area is a little easier than average, because the population served
  includes adults who fear IT and a first item they can answer keeps them in the test. With a one-item start the
  choice barely affects the final estimate.
* **selection** by maximum Fisher information (MFI): the classical rule, the one catR and catsim default to, fast
  and explainable ("the question that tells most about you at your current estimate").
* **estimator** EAP with the N(0, 1) prior of the calibration population: finite from the first answer (ML and WLE
  are not finite before both a right and a wrong answer), stable on short tests, and its SE (the posterior SD) is what
  the SE stopping rule and the classification rules use.
* **quadrature** 61 points on [−6, 6] (R mirt's grid, the project default); :meth:`CatConfig.catr` gives catR's 33
  points on [−4, 4] with the trapezoid rule.
* **exposure control** none: choices are then deterministic and identical to catR's and to the stateless step. A live
  test should switch on randomesque or Sympson–Hetter once the bank is large enough; see :class:`ExposureControl`.
* **stopping**: SE ≤ 0.4 per area (reliability ≈ 1 − 0.4² = 0.84, enough to place a person among DigComp levels that
  are about one SD apart), at least 4 and at most 20 items per area. Six areas then take roughly 40–70 items, which
  is about the length adults in employment services sit through without fatigue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from ..bank.frozen import FrozenModel

Rule = Literal["mfi", "kl", "klp", "mepv", "astrat", "cut_info", "drule", "dprule", "trule", "arule"]
RULES: tuple[str, ...] = ("mfi", "kl", "klp", "mepv", "astrat", "cut_info")
JOINT_RULES: tuple[str, ...] = ("drule", "dprule", "trule", "arule")
"""The selection rules of a multidimensional test (:mod:`~digiskill.cat.joint`); :data:`RULES` are the others."""
JOINT_ESTIMATORS: tuple[str, ...] = ("eap", "map")
EstimatorName = Literal["eap", "map", "ml", "wle"]
ESTIMATORS: tuple[str, ...] = ("eap", "map", "ml", "wle")

Finite = Annotated[float, Field(allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(gt=0, lt=0.5, allow_inf_nan=False)]
ExposureParameter = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


if TYPE_CHECKING:
    from ..irt.quadrature import Quadrature


class StartRule(FrozenModel):
    """How the first item of each area is chosen.

    While an area has no answer, its items are chosen at ``theta`` (the gentle start, −0.5, by default). The
    θ-dependent rules that need a likelihood (KL, KLP, MEPV) use maximum information there, as catR's
    ``startSelect = "MFI"``; MFI, a-stratified and cut-information selection apply their own criterion at ``theta``.
    ``first_item`` fixes the very first item of the session instead.
    """

    theta: Finite = Field(-0.5, description="θ at which the first item of each area is chosen")
    first_item: str | None = Field(None, description="id of the first item of the session (overrides theta for it)")


class QuadratureConfig(FrozenModel):
    """The θ grid of EAP, KL/KLP/MEPV and the prior; MAP/ML/WLE search θ within ``bounds``."""

    n_points: int = Field(61, ge=5, le=1001)
    bounds: tuple[Finite, Finite] = (-6.0, 6.0)
    rule: Literal["rectangular", "trapezoid"] = "rectangular"
    prior_mean: Finite = 0.0
    prior_sd: Positive = 1.0

    @model_validator(mode="after")
    def _increasing(self) -> QuadratureConfig:
        if not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"quadrature bounds must be increasing, got {list(self.bounds)}")
        return self

    def quadrature(self) -> Quadrature:
        """The grid and its N(prior_mean, prior_sd) weights."""
        from ..irt.quadrature import Quadrature

        return Quadrature.normal(self.n_points, self.bounds, self.prior_mean, self.prior_sd, rule=self.rule)


class SelectionRule(FrozenModel):
    """Which criterion chooses the next item.

    * ``mfi``: maximum Fisher information at θ̂.
    * ``kl``: catR's Kullback–Leibler index, ``Σ_q w_q L(θ_q) Σ_k P_k(θ̂) log(P_k(θ̂)/P_k(θ_q))`` with the grid's
      integration weights ``w_q`` and the likelihood ``L`` of the area's answers (logged normalised by ``Σ w_q L``).
    * ``klp``: the same weighted by the posterior ``L · prior``.
    * ``mepv``: minimum expected posterior variance after the item's response, ``Σ_k P_k(θ̂) Var(θ | answers, k)``
      (catR's ``MEPV``: category probabilities at θ̂, EAP posterior on the grid).
    * ``astrat``: Chang & Ying's a-stratified design: ``strata`` strata of equal size by ascending slope, the stage
      follows the area's progress (``stage = ⌊strata · n / max_items_per_area⌋``), and within the stratum the item
      whose difficulty (mean threshold for polytomous items) is closest to θ̂. Low slopes early save the best items
      for when θ̂ is good.
    * ``cut_info``: maximum information at the area's cut score (classification tests).

    Multidimensional tests (``CatConfig.dimensionality = "multidimensional"``, :mod:`~digiskill.cat.joint`) use one of
    four rules on the matrix ``M = T`` (``drule``, ``trule``) or ``M = Σ⁻¹ + T`` (``dprule``, ``arule``), ``T`` the
    diagonal test information of the answered items per area at the joint θ̂ and ``Σ`` the latent correlation;
    candidate ``j`` of area ``d`` with information ``I_j`` at θ̂_d adds ``I_j e_d e_dᵀ``:

    * ``drule``: maximise ``det(T + I_j e_d e_dᵀ)`` (D-optimality without the prior; 0 for every item while an area
      has no answer, so the lowest bank index is taken, as mirtCAT's ``Drule``).
    * ``dprule``: maximise ``det(Σ⁻¹ + T + I_j e_d e_dᵀ)`` (mirtCAT's ``DPrule``; Segall 1996's rule).
    * ``trule``: maximise ``trace(T + I_j e_d e_dᵀ)``, i.e. the most informative item of any area.
    * ``arule``: minimise ``trace((Σ⁻¹ + T + I_j e_d e_dᵀ)⁻¹)``, the sum of the approximate posterior variances
      (the logged value is that trace).
    """

    rule: Rule = "mfi"
    strata: int = Field(4, ge=2, le=50, description="number of a-strata (astrat)")
    candidates_logged: int = Field(5, ge=1, le=50, description="top candidates written to the step log")


class ExposureControl(FrozenModel):
    """Exposure control, wrapped around the selection criterion.

    * ``none``: the best item.
    * ``randomesque``: a uniform choice among the ``top_k`` best available items (Kingsbury & Zara 1989).
      ``top_k = 5`` is the common choice: it spreads exposure at a small cost in information.
    * ``sympson_hetter``: items are considered best first; item ``j`` is given with probability ``k_j`` (its
      Sympson–Hetter parameter, 1 when absent) and otherwise set aside for the rest of the session.
    """

    method: Literal["none", "randomesque", "sympson_hetter"] = "none"
    top_k: int = Field(5, ge=1)
    sh_parameters: dict[str, ExposureParameter] = Field(
        default_factory=dict, description="Sympson–Hetter parameter per item id (default 1)"
    )


class ContentBalancing(FrozenModel):
    """Kingsbury–Zara balancing across the session's areas: the next area is the one with the largest target minus
    observed proportion of items (ties: the first in session order). ``targets`` need not sum to 1; missing areas get
    the mean of the given ones. ``None`` means equal targets, i.e. the areas take turns.

    ``areas`` matters for multidimensional tests only: True (default), Kingsbury–Zara picks the area and the joint
    rule the item within it; False, the joint rule alone chooses among the items of every open area (mirtCAT without
    content balancing). A unidimensional test always balances its areas."""

    areas: bool = Field(True, description="multidimensional tests: Kingsbury–Zara picks the area (False: the rule)")

    targets: dict[str, Positive] | None = None
    competences: bool = Field(
        False,
        description="also balance DigComp competences within an area (Kingsbury–Zara on the items' `competence`)",
    )
    competence_targets: dict[str, Positive] | None = Field(
        None, description="target weight per competence id (missing: the mean of the given ones; None: equal)"
    )


class StoppingRules(FrozenModel):
    """When an area, and the session, end.

    An area ends when it reaches ``max_items_per_area``, or, once it has ``min_items_per_area`` answers, when its SE
    is at most ``se_target`` or the classification rule has decided; or when it has no item left. The session ends
    when every area has ended or after ``max_total_items``. Classification needs a cut score (``CatConfig.cut_score``):

    * ``ci``: decided when the ``1 − alpha`` confidence interval ``θ̂ ± z·SE`` excludes the cut (catR's
      ``"classification"`` rule).
    * ``sprt``: Wald's SPRT of θ = cut − δ against θ = cut + δ (Eggen 1999), decided when the log-likelihood ratio
      leaves ``[log(β/(1−α)), log((1−β)/α)]``. δ = 0.2 is a narrow indifference region on the N(0, 1) scale.
    """

    se_target: Positive | None = 0.4
    min_items_per_area: int = Field(4, ge=0)
    max_items_per_area: int | None = Field(20, ge=1)
    max_total_items: int | None = Field(None, ge=1)
    classification: Literal["none", "ci", "sprt"] = "none"
    alpha: Probability = 0.05
    beta: Probability = 0.05
    sprt_delta: Positive = 0.2

    @model_validator(mode="after")
    def _consistent(self) -> StoppingRules:
        if self.max_items_per_area is not None and self.min_items_per_area > self.max_items_per_area:
            raise ValueError(
                f"min_items_per_area = {self.min_items_per_area} exceeds max_items_per_area = {self.max_items_per_area}"
            )
        return self

    @classmethod
    def exhaustion_only(cls) -> StoppingRules:
        """No stopping rule: a test ends only when no item is left (the stateless step's default)."""
        return cls(se_target=None, min_items_per_area=0, max_items_per_area=None)


class LatentCorrelation(FrozenModel):
    """The correlation matrix of the areas' abilities (the ``N(0, Σ)`` prior of a multidimensional test)."""

    areas: list[str] = Field(min_length=1, description="area ids, the order of the rows and columns")
    matrix: list[list[Finite]] = Field(description="symmetric positive definite matrix, one row per area")

    @model_validator(mode="after")
    def _square(self) -> LatentCorrelation:
        d = len(self.areas)
        if len(set(self.areas)) != d:
            raise ValueError(f"latent areas are listed twice: {self.areas}")
        if len(self.matrix) != d or any(len(row) != d for row in self.matrix):
            raise ValueError(f"latent matrix must be {d} x {d} (one row and column per area)")
        return self


class MultidimensionalConfig(FrozenModel):
    """Settings of the joint estimate of a multidimensional test: EAP integrates over the areas with ``qmc_points``
    scrambled Sobol points (a power of 2; seed 0, so the same answers give the same estimate)."""

    qmc_points: int = Field(2048, ge=64, le=65536, description="quasi-Monte Carlo points of the joint EAP")

    @model_validator(mode="after")
    def _power_of_two(self) -> MultidimensionalConfig:
        if self.qmc_points & (self.qmc_points - 1):
            raise ValueError(f"qmc_points must be a power of 2, got {self.qmc_points}")
        return self


class CatConfig(FrozenModel):
    """The whole configuration of an adaptive test (see the module notes for the defaults).

    ``dimensionality = "multidimensional"`` makes the session's areas one test with a joint ``N(0, Σ)`` prior
    (:mod:`~digiskill.cat.joint`): every answer updates every area's estimate. It needs a joint selection rule
    (``drule``, ``dprule``, ``trule``, ``arule``), the ``eap`` or ``map`` estimator, no SPRT and no competence
    balancing; ``Σ`` comes from
    ``latent`` when given, else from the parameter set's ``calibration.latent.correlation``.
    """

    dimensionality: Literal["unidimensional", "multidimensional"] = Field(
        "unidimensional", description="multidimensional: one joint estimate of all areas under a correlated prior"
    )
    latent: LatentCorrelation | None = Field(
        None, description="multidimensional: the areas' correlation matrix (default: the parameter set's)"
    )
    joint: MultidimensionalConfig = MultidimensionalConfig()

    start: StartRule = StartRule()
    selection: SelectionRule = SelectionRule()
    estimator: EstimatorName = Field(
        "eap",
        description="eap, map, ml or wle; ML and WLE fall back to EAP until the area's answers are neither all in "
        "the lowest nor all in the highest category (before both a right and a wrong answer, for 0/1 items)",
    )
    quadrature: QuadratureConfig = QuadratureConfig()
    exposure: ExposureControl = ExposureControl()
    balancing: ContentBalancing = ContentBalancing()
    stopping: StoppingRules = StoppingRules()
    cut_score: Finite | dict[str, Finite] | None = Field(
        None, description="cut score on the θ scale, one for all areas or one per area id"
    )

    @model_validator(mode="after")
    def _needs(self) -> CatConfig:
        if self.selection.rule == "cut_info" and self.cut_score is None:
            raise ValueError("selection rule 'cut_info' needs a cut_score")
        if self.stopping.classification != "none" and self.cut_score is None:
            raise ValueError(f"classification stopping {self.stopping.classification!r} needs a cut_score")
        if self.selection.rule == "astrat" and self.stopping.max_items_per_area is None:
            raise ValueError("selection rule 'astrat' needs stopping.max_items_per_area (its stages follow progress)")
        joint = self.dimensionality == "multidimensional"
        if joint != (self.selection.rule in JOINT_RULES):
            raise ValueError(
                f"a multidimensional test needs selection rule {', '.join(JOINT_RULES)}; got {self.selection.rule!r}"
                if joint
                else f"selection rule {self.selection.rule!r} needs dimensionality: multidimensional"
            )
        if joint and self.estimator not in JOINT_ESTIMATORS:
            raise ValueError(f"a multidimensional test estimates with eap or map, not {self.estimator!r}")
        if joint and self.balancing.competences:
            raise ValueError("competence balancing is not available in a multidimensional test (areas only)")
        if joint and self.stopping.classification == "sprt":
            raise ValueError("sprt classification is per area; a multidimensional test can use classification 'ci'")
        return self

    def cut_for(self, area: str | None) -> float | None:
        """The cut score of ``area`` (None when there is none)."""
        if isinstance(self.cut_score, dict):
            return self.cut_score.get(area) if area is not None else None
        return self.cut_score

    @classmethod
    def catr(cls, **blocks: object) -> CatConfig:
        """catR's conventions: 33 points on [−4, 4] with the trapezoid rule, N(0, 1) prior, first item by MFI at
        θ = 0 (``startItems`` defaults), ML/WLE/MAP searched on [−4, 4]; other blocks as given."""
        base: dict[str, object] = {
            "quadrature": QuadratureConfig(n_points=33, bounds=(-4.0, 4.0), rule="trapezoid"),
            "start": StartRule(theta=0.0),
        }
        base.update(blocks)
        return cls.model_validate(base)
