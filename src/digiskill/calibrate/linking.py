"""Linking two sets of items through their common items: mean-mean, mean-sigma, Haebara and Stocking–Lord.

This module works on arrays (:func:`link_items`, :func:`transform_arrays`); :mod:`digiskill.bank.linking` links
parameter-set files and writes the transformed set.

Direction. Set X (``from``) is put on the scale of set Y (``to``): an ability on X's scale becomes
``θ_Y = A·θ_X + B``, and every item of X becomes ``a* = a / A``, ``b* = A·b + B`` (thresholds and steps alike),
with ``c`` and ``d`` unchanged, so that ``P(θ_Y; a*, b*) = P(θ_X; a, b)``. Standard errors of the transformed
parameters are scaled the same way (``SE(a)/A``, ``A·SE(b)``); they do not include the error of the linking itself.

Methods (Kolen & Brennan, 2014, *Test Equating, Scaling, and Linking*, 3rd ed., ch. 6):

* ``mean-sigma`` (Marco, 1977): ``A = sd(b_Y) / sd(b_X)``, ``B = mean(b_Y) − A·mean(b_X)``;
* ``mean-mean`` (Loyd & Hoover, 1980): ``A = mean(a_X) / mean(a_Y)``, same ``B``;
  both pool every threshold/step of the common polytomous items with the dichotomous difficulties, and mean-mean
  uses one slope per item;
* ``haebara`` (Haebara, 1980): minimise ``Σ_q w_q Σ_j Σ_k (P_Yjk(θ_q) − P*_Xjk(θ_q))²`` over all categories of the
  common items (for a 0/1 item both categories count, which doubles its term and leaves the minimum unchanged);
* ``stocking-lord`` (Stocking & Lord, 1983): minimise ``Σ_q w_q (Σ_j E_Yj(θ_q) − Σ_j E*_Xj(θ_q))²`` with the
  expected item scores ``E = Σ_k k P_k``.

The characteristic-curve criteria are the non-symmetric versions, evaluated on Y's scale: by default 61 equally
spaced points on [−4, 4] with N(0, 1) weights normalised to sum to 1 (``grid_weights="uniform"`` gives equal
weights). They are minimised over ``(A, B)`` by ``scipy.optimize.least_squares`` (trust-region reflective, with the
analytic Jacobian from ``∂P/∂θ``; ``A`` bounded to be positive), started from the mean-sigma solution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import least_squares

from ..errors import InputError, Problem
from ..irt.items import ItemArrays
from ..irt.quadrature import Quadrature
from ..irt.response import category_terms

LinkMethod = Literal["mean-mean", "mean-sigma", "haebara", "stocking-lord"]
LINK_METHODS: tuple[str, ...] = ("mean-mean", "mean-sigma", "haebara", "stocking-lord")
GridWeights = Literal["normal", "uniform"]
DEFAULT_GRID_POINTS = 61
DEFAULT_GRID_RANGE = (-4.0, 4.0)
SLOPE_BOUNDS = (1e-3, 1e3)  # admissible A for the characteristic-curve methods
_XTOL = 1e-14


@dataclass(frozen=True, eq=False)
class LinkingResult:
    """The linear transformation ``θ_Y = A·θ_X + B`` that puts set X (``from``) on the scale of set Y (``to``).

    Attributes:
        method: ``mean-mean``, ``mean-sigma``, ``haebara`` or ``stocking-lord``.
        A, B: slope and intercept of the transformation.
        common_items: the item ids used for linking, in X's order.
        from_id, to_id: ids of the parameter sets (None when linking bare arrays; see
            :func:`digiskill.bank.linking.link`).
        area: the competence area linked (None = the whole set).
        criterion: the characteristic-curve criterion at ``(A, B)`` (None for the moment methods).
        converged: whether the optimiser reported success (always True for the moment methods).
        n_evaluations: criterion evaluations of the optimiser (0 for the moment methods).
        grid: description of the θ grid of the characteristic-curve methods.
    """

    method: str
    A: float
    B: float
    common_items: tuple[str, ...]
    from_id: str | None = None
    to_id: str | None = None
    area: str | None = None
    criterion: float | None = None
    converged: bool = True
    n_evaluations: int = 0
    grid: str | None = None

    def transform_theta(self, theta: np.ndarray | float) -> np.ndarray:
        """Abilities on X's scale to Y's scale, ``A·θ + B``."""
        return self.A * np.asarray(theta, dtype=float) + self.B

    def transform_arrays(self, items: ItemArrays) -> ItemArrays:
        """X's items (all of them) on Y's scale."""
        return transform_arrays(items, self.A, self.B)

    def summary(self) -> str:
        lines = [
            f"{self.method}: theta_to = {self.A:.6f} * theta_from + {self.B:.6f} "
            f"({len(self.common_items)} common items{'' if self.area is None else f', area {self.area}'})"
        ]
        if self.criterion is not None:
            state = "converged" if self.converged else "NOT converged"
            lines.append(f"criterion {self.criterion:.6g} on {self.grid}; {state} ({self.n_evaluations} evaluations)")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------- transformations
def transform_arrays(items: ItemArrays, A: float, B: float) -> ItemArrays:
    """``a / A``, ``A·b + B`` (NaN padding kept), ``c`` and ``d`` unchanged."""
    check_slope(A)
    return ItemArrays(
        family=items.family.copy(),
        a=items.a / A,
        b=A * items.b + B,
        c=items.c.copy(),
        d=items.d.copy(),
        n_cat=items.n_cat.copy(),
        ids=items.ids,
    )


def check_slope(A: float) -> None:
    """Raise ValueError unless the linking slope ``A`` is positive and finite."""
    if not (np.isfinite(A) and A > 0):
        raise ValueError(f"the linking slope A must be positive and finite, got {A}")


# ------------------------------------------------------------------------------------------------------ linking
def link_items(
    x: ItemArrays,
    y: ItemArrays,
    method: LinkMethod = "stocking-lord",
    *,
    grid_points: int = DEFAULT_GRID_POINTS,
    grid_range: tuple[float, float] = DEFAULT_GRID_RANGE,
    grid_weights: GridWeights = "normal",
    start: tuple[float, float] | None = None,
) -> LinkingResult:
    """Link the common items ``x`` (on X's scale) to ``y`` (the same items, in the same order, on Y's scale).

    ``start``: initial ``(A, B)`` of the characteristic-curve methods (default: the mean-sigma solution, or
    ``(1, 0)`` when mean-sigma is not defined)."""
    if method not in LINK_METHODS:
        raise ValueError(f"unknown linking method {method!r}; expected one of {', '.join(LINK_METHODS)}")
    _check_common(x, y)
    if method in ("mean-mean", "mean-sigma"):
        A, B = _moments(x, y, method)
        return LinkingResult(method, A, B, x.ids)
    grid = _grid(grid_points, grid_range, grid_weights)
    if start is None:
        try:
            start = _moments(x, y, "mean-sigma")
        except InputError:  # e.g. one common item: start from the identity
            start = (1.0, 0.0)
    start = (float(np.clip(start[0], *SLOPE_BOUNDS)), start[1])
    fun = _HaebaraResiduals(x, y, grid) if method == "haebara" else _StockingLordResiduals(x, y, grid)
    sol = least_squares(
        fun.residuals,
        np.array(start),
        jac=fun.jacobian,
        bounds=([SLOPE_BOUNDS[0], -np.inf], [SLOPE_BOUNDS[1], np.inf]),
        method="trf",
        xtol=_XTOL,
        ftol=_XTOL,
        gtol=_XTOL,
    )
    A, B = (float(v) for v in sol.x)
    desc = f"{grid_points} points on [{grid_range[0]:g}, {grid_range[1]:g}], {grid_weights} weights"
    return LinkingResult(
        method,
        A,
        B,
        x.ids,
        criterion=float(2.0 * sol.cost),
        converged=bool(sol.success),
        n_evaluations=int(sol.nfev),
        grid=desc,
    )


def _check_common(x: ItemArrays, y: ItemArrays) -> None:
    if x.ids != y.ids:
        raise ValueError("x and y must hold the same items in the same order")
    if not x.n_items:
        raise InputError(Problem("no common items: nothing to link"))
    bad = np.flatnonzero((x.family != y.family) | (x.n_cat != y.n_cat))
    if bad.size:
        raise InputError(
            [
                Problem(
                    f"common item differs between the sets: {int(x.n_cat[j])} vs {int(y.n_cat[j])} categories, "
                    "or a different model family; it cannot link",
                    item_id=x.ids[j],
                )
                for j in bad
            ]
        )


def _locations(items: ItemArrays) -> np.ndarray:
    """All difficulties, thresholds and steps of the items, pooled (NaN padding dropped)."""
    mask = np.arange(items.b.shape[1])[None, :] < (items.n_cat - 1)[:, None]
    return items.b[mask]


def _moments(x: ItemArrays, y: ItemArrays, method: str) -> tuple[float, float]:
    bx, by = _locations(x), _locations(y)
    if method == "mean-sigma":
        sx, sy = float(bx.std()), float(by.std())
        if not (sx > 0 and sy > 0):
            raise InputError(
                Problem(
                    "mean-sigma needs at least two different difficulties/thresholds among the common items in both "
                    f"sets (sd {sx:.3g} and {sy:.3g}); use mean-mean or a characteristic-curve method"
                )
            )
        A = sy / sx
    else:
        A = float(x.a.mean() / y.a.mean())
    return A, float(by.mean() - A * bx.mean())


def _grid(n: int, bounds: tuple[float, float], weights: str) -> Quadrature:
    if weights == "normal":
        return Quadrature.normal(n, bounds)
    if weights == "uniform":
        points = np.linspace(bounds[0], bounds[1], n)
        return Quadrature(points, np.full(n, -np.log(n)))
    raise ValueError(f"grid weights must be 'normal' or 'uniform', got {weights!r}")


class _CurveResiduals:
    """Weighted residuals ``√w_q (target − transformed X)`` of a characteristic-curve criterion and their Jacobian
    in ``(A, B)``. The transformed X item at ``θ`` is the X item at ``u = (θ − B)/A``, so
    ``∂/∂A = −(u/A) ∂/∂u`` and ``∂/∂B = −(1/A) ∂/∂u``."""

    def __init__(self, x: ItemArrays, y: ItemArrays, grid: Quadrature) -> None:
        self.x = x
        self.theta = grid.points
        self.root_w = np.sqrt(grid.weights)
        self.target = self._curves(category_terms(self.theta, y, with_logp=False))[0]
        self._cache: tuple[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def _curves(self, terms) -> tuple[np.ndarray, np.ndarray]:  # (Q, …) values and θ-derivatives
        raise NotImplementedError

    def _at(self, ab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = ab.tobytes()
        if self._cache is None or self._cache[0] != key:
            u = (self.theta - ab[1]) / ab[0]
            value, slope = self._curves(category_terms(u, self.x, with_logp=False))
            self._cache = (key, (u, value, slope))
        return self._cache[1]

    def _weighted(self, v: np.ndarray) -> np.ndarray:
        return (self.root_w.reshape((-1,) + (1,) * (v.ndim - 1)) * v).ravel()

    def residuals(self, ab: np.ndarray) -> np.ndarray:
        _, value, _ = self._at(ab)
        return self._weighted(self.target - value)

    def jacobian(self, ab: np.ndarray) -> np.ndarray:
        u, _, slope = self._at(ab)
        u = u.reshape((-1,) + (1,) * (slope.ndim - 1))
        d_a = self._weighted(slope * u / ab[0])  # −∂value/∂A = slope·u/A
        d_b = self._weighted(slope / ab[0])
        return np.column_stack([d_a, d_b])


class _HaebaraResiduals(_CurveResiduals):
    def _curves(self, terms) -> tuple[np.ndarray, np.ndarray]:
        return terms.prob, terms.prob * terms.dlogp  # (Q, J, K); absent categories are 0 in both sets


class _StockingLordResiduals(_CurveResiduals):
    def _curves(self, terms) -> tuple[np.ndarray, np.ndarray]:
        k = np.arange(terms.prob.shape[-1], dtype=float)
        return (terms.prob @ k).sum(axis=-1), ((terms.prob * terms.dlogp) @ k).sum(axis=-1)  # (Q,)
