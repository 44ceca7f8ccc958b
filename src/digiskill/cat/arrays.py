"""A parameter set prepared for adaptive testing: per area, the items and everything a step needs, as arrays.

Built once per (parameter set, configuration) by :meth:`CatBank.from_parameters`: the log-probabilities and
probabilities of every item and category on the quadrature grid (so a step never evaluates the response model on the
grid again), information at the cut score, a-strata, difficulty centres, Sympson–Hetter parameters and the
log-probabilities at the two SPRT points. Nothing here changes during a test.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..bank.parameters import ParameterSet
from ..errors import InputError
from ..irt.items import DICHOTOMOUS, ItemArrays
from ..irt.likelihood import finite_logp
from ..irt.response import category_terms
from .config import CatConfig, QuadratureConfig


@dataclass(frozen=True, eq=False)
class Grid:
    """Quadrature points, normalised log weights (prior × integration rule) and the integration rule alone."""

    points: np.ndarray
    log_weights: np.ndarray
    log_integration: np.ndarray  # 0, or log ½ at both ends for the trapezoid rule (unnormalised)
    bounds: tuple[float, float]
    prior_mean: float
    prior_sd: float

    @classmethod
    def from_config(cls, q: QuadratureConfig) -> Grid:
        quad = q.quadrature()
        log_int = np.zeros(q.n_points)
        if q.rule == "trapezoid":
            log_int[[0, -1]] = np.log(0.5)
        return cls(quad.points, quad.log_weights, log_int, (q.bounds[0], q.bounds[1]), q.prior_mean, q.prior_sd)


@dataclass(frozen=True, eq=False)
class AreaBank:
    """The items of one area (its own θ scale), in parameter-set order.

    Attributes:
        area: area id (None when the items carry no area).
        index: ``(J_a,)`` positions of the items in the parameter set.
        items: the items as :class:`~digiskill.irt.ItemArrays`.
        logp: ``(Q, J_a, K)`` log P on the grid, 0 for categories an item lacks.
        prob: ``(Q, J_a, K)`` P on the grid.
        b_center: ``(J_a,)`` difficulty, or mean threshold/step of a polytomous item (a-stratified selection).
        stratum: ``(J_a,)`` a-stratum 0..S−1 by ascending slope (equal sizes, ties by bank order).
        sh: ``(J_a,)`` Sympson–Hetter parameters (1 = always given when chosen).
        cut: the area's cut score or None.
        cut_info: ``(J_a,)`` information at the cut, or None.
        sprt_logp: ``(2, J_a, K)`` log P at cut − δ and cut + δ, or None.
        competence: ``(J_a,)`` index into ``competences`` of each item's DigComp competence (−1: none given).
        competences: the competence ids present in the area.
    """

    area: str | None
    index: np.ndarray
    items: ItemArrays
    logp: np.ndarray
    prob: np.ndarray
    b_center: np.ndarray
    stratum: np.ndarray
    sh: np.ndarray
    cut: float | None
    cut_info: np.ndarray | None
    sprt_logp: np.ndarray | None
    competence: np.ndarray | None = None
    competences: tuple[str, ...] = ()

    @cached_property
    def dichotomous(self) -> bool:
        """True when every item of the area is dichotomous (the fast information path applies)."""
        return bool((self.items.family == DICHOTOMOUS).all())

    @cached_property
    def two_parameter(self) -> bool:
        """True when every item is dichotomous with asymptotes 0 and 1 (information ``a² P (1 − P)``)."""
        return self.dichotomous and bool((self.items.c == 0).all() and (self.items.d == 1).all())

    @property
    def n_items(self) -> int:
        return self.index.size

    @cached_property
    def strata_order(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The items sorted by a-stratum, where each non-empty stratum starts in that order, and its number (for
        per-stratum counts)."""
        order = np.argsort(self.stratum, kind="stable")
        present = np.unique(self.stratum)
        return order, np.searchsorted(self.stratum[order], present), present


@dataclass(frozen=True, eq=False)
class CatBank:
    """A parameter set prepared for one CAT configuration.

    Attributes:
        parameter_set: id of the parameter set.
        provisional: whether the parameter set is provisional (results from it must say so).
        config: the configuration the bank was prepared for.
        ids: item ids in parameter-set order.
        index: item id → position.
        n_cat: ``(J,)`` categories per item.
        area_code: ``(J,)`` position of each item's area in ``area_names``.
        local: ``(J,)`` position of each item within its area.
        area_names: areas in order of first appearance.
        areas: area → :class:`AreaBank`.
        grid: the quadrature grid.
        latent: multidimensional tests: ``(A, A)`` the areas' correlation matrix in ``area_names`` order.
        whole: multidimensional tests: the whole bank as one :class:`AreaBank` (bank order; exposure control picks
            among the items of several areas at once).
    """

    parameter_set: str
    config: CatConfig
    ids: tuple[str, ...]
    index: dict[str, int]
    n_cat: np.ndarray
    area_code: np.ndarray
    local: np.ndarray
    area_names: tuple[str | None, ...]
    areas: dict[str | None, AreaBank]
    grid: Grid
    provisional: bool = False
    latent: np.ndarray | None = None
    whole: AreaBank | None = None

    @classmethod
    def from_parameters(cls, params: ParameterSet, config: CatConfig | None = None) -> CatBank:
        """Prepare ``params`` for ``config``.

        Raises:
            InputError: a multidimensional configuration without a latent correlation for every area of the bank
                (neither ``config.latent`` nor the parameter set's ``calibration.latent.correlation``), or one that is
                not a symmetric positive definite matrix.
        """
        config = config or CatConfig()
        grid = Grid.from_config(config.quadrature)
        items = params.to_arrays()
        names = tuple(params.areas)
        code_of = {a: i for i, a in enumerate(names)}
        area_code = np.array([code_of[it.area] for it in params.items], dtype=np.int64)
        local = np.empty(items.n_items, dtype=np.int64)
        sh_all = np.ones(items.n_items)
        for item_id, k in config.exposure.sh_parameters.items():
            if item_id in items.index:  # parameters of items outside this bank are ignored
                sh_all[items.index[item_id]] = k
        areas = {}
        for code, name in enumerate(names):
            idx = np.flatnonzero(area_code == code)
            local[idx] = np.arange(idx.size)
            comps = [params.items[i].competence for i in idx]
            names_c = tuple(sorted({c for c in comps if c is not None}))
            code_c = np.array([names_c.index(c) if c is not None else -1 for c in comps], dtype=np.int64)
            area_bank = _area_bank(name, idx, items.subset(idx), grid, config, sh_all[idx])
            areas[name] = dataclasses.replace(area_bank, competence=code_c, competences=names_c)
        joint = config.dimensionality == "multidimensional"
        return cls(
            latent=_latent(params, config, names) if joint else None,
            whole=_area_bank(None, np.arange(items.n_items), items, grid, config, sh_all) if joint else None,
            parameter_set=params.id,
            provisional=params.provisional,
            config=config,
            ids=items.ids,
            index=dict(items.index),
            n_cat=items.n_cat.copy(),
            area_code=area_code,
            local=local,
            area_names=names,
            areas=areas,
            grid=grid,
        )

    def area_of(self, item: int) -> str | None:
        return self.area_names[int(self.area_code[item])]


def _latent(params: ParameterSet, config: CatConfig, names: tuple[str | None, ...]) -> np.ndarray:
    """The areas' correlation matrix in ``names`` order: ``config.latent``, else the parameter set's."""
    spec = config.latent
    where = "config.latent"
    if spec is None:  # read defensively: older parameter sets (and schemas) have no latent correlation
        calibration = getattr(params, "calibration", None)
        spec = getattr(getattr(calibration, "latent", None), "correlation", None)
        where = f"parameter set {params.id!r}: calibration.latent.correlation"
    if spec is None:
        raise InputError(
            f"parameter set {params.id!r}: the parameter set has no latent correlation; run digiskill calibrate "
            "--multidimensional or give config.latent"
        )
    missing = [str(a) for a in names if a not in spec.areas]
    if missing:
        raise InputError(f"{where}: no row for area(s) {', '.join(missing)}")
    full = np.array(spec.matrix, dtype=float)
    pos = [spec.areas.index(a) for a in names]  # type: ignore[arg-type]
    matrix = full[np.ix_(pos, pos)]
    if not np.allclose(matrix, matrix.T, rtol=0, atol=1e-12) or np.linalg.eigvalsh(matrix).min() <= 1e-10:
        raise InputError(f"{where}: the matrix is not symmetric positive definite")
    matrix.flags.writeable = False
    return matrix


def _area_bank(
    name: str | None, idx: np.ndarray, items: ItemArrays, grid: Grid, config: CatConfig, sh: np.ndarray
) -> AreaBank:
    terms = category_terms(grid.points, items)
    logp = np.ascontiguousarray(finite_logp(terms.logp))
    prob = np.ascontiguousarray(terms.prob)
    prob[prob < np.finfo(float).tiny] = 0.0  # no subnormals in the MEPV matrix product
    with np.errstate(all="ignore"):
        b_center = np.nanmean(items.b, axis=1)
    n_strata = config.selection.strata
    order = np.argsort(items.a, kind="stable")
    stratum = np.empty(idx.size, dtype=np.int64)
    stratum[order] = (np.arange(idx.size) * n_strata) // max(idx.size, 1)
    cut = config.cut_for(name)
    cut_info = sprt_logp = None
    if cut is not None:
        cut_info = category_terms(cut, items, with_logp=False).information()
        delta = config.stopping.sprt_delta
        sprt_logp = finite_logp(category_terms(np.array([cut - delta, cut + delta]), items).logp)
    return AreaBank(name, idx, items, logp, prob, b_center, stratum, sh, cut, cut_info, sprt_logp)
