"""The result of a calibration: one immutable object that answers the usual questions (estimates, SEs, fit indices,
convergence). :meth:`digiskill.bank.ParameterSet.from_calibration` writes it as a parameter-set file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..irt.items import ItemArrays
from .fixed import FixedItems


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """Marginal maximum-likelihood (or MAP, with item priors) estimates from :func:`~digiskill.calibrate.calibrate`.

    Attributes:
        params: the items in IRT form (``a``, ``b``, lower ``c``, upper ``d``), in the order of the response columns.
        models: model name per item (``rasch``, ``1pl``, ``2pl``, ``3pl``, ``4pl``, ``grm``, ``gpcm``, ``pcm``).
        intercepts: ``(J, K_max − 1)`` slope–intercept intercepts (mirt's ``d``/``d1..``), NaN padded.
        loglik: marginal log-likelihood on the quadrature grid (61 rectangular points on [−6, 6] by default, as
            mirt), without the log prior.
        log_prior: log prior density of the item parameters at the estimates (0 without priors).
        n_parameters: number of free parameters (a common 1PL slope counts once; an estimated latent variance once).
        n_persons: persons used (sum of frequency weights).
        n_persons_dropped: rows left out because they answered no item (or had weight 0).
        iterations: EM cycles (E-step + M-step evaluations, including accelerated ones).
        converged: whether the largest parameter change of a plain EM cycle fell below ``tol``.
        max_change: that largest change at the end.
        loglik_history: log-likelihood at the start of every EM cycle.
        latent_mean, latent_sd: the latent N(mean, sd²) (mean 0; sd 1 unless estimated; with anchors both are
            estimated, on the anchors' scale).
        parameter_names: names of the free parameters (``item.a``, ``item.d``, ``item.d2``, ``item.logit_c``,
            ``1pl.a``, ``latent.mean``, ``latent.var``), in the order of ``estimates`` and ``cov``.
        estimates: the free parameters in the internal slope–intercept form.
        se_method: ``"oakes"``, ``"crossprod"``, ``"sandwich"`` or None.
        cov: covariance of ``estimates`` (inverse information), None when not computed or not positive definite.
        condition_number: largest / smallest eigenvalue of the information matrix (mirt's ``condnum``).
        information_positive_definite: whether the information matrix is positive definite.
        se: IRT-form standard errors as arrays shaped like ``params`` (NaN for fixed parameters).
        se_intercepts: standard errors of ``intercepts``; ``se_latent_var`` of the latent variance and
            ``se_latent_mean`` of the latent mean when estimated.
        anchored: ``(J,)`` whether each item was an anchor (parameters given, not estimated); None without anchors.
        anchors: the anchors as given, in column order (a parameter set writes its own anchor items unchanged, see
            :meth:`~digiskill.bank.ParameterSet.from_calibration`); None without anchors.
        group_labels: the groups of a multiple-group calibration, reference group first (empty otherwise).
        group_latent_mean, group_latent_sd: ``(G,)`` each group's latent mean and SD (None without groups);
            ``se_group_latent_mean``, ``se_group_latent_var`` their SEs (NaN where fixed, None when not computed).
    """

    params: ItemArrays
    models: tuple[str, ...]
    intercepts: np.ndarray
    loglik: float
    log_prior: float
    n_parameters: int
    n_persons: float
    n_persons_dropped: int
    iterations: int
    converged: bool
    max_change: float
    loglik_history: np.ndarray
    latent_mean: float
    latent_sd: float
    parameter_names: tuple[str, ...]
    estimates: np.ndarray
    quadrature_points: int
    quadrature_range: tuple[float, float]
    se_method: str | None = None
    cov: np.ndarray | None = None
    condition_number: float | None = None
    information_positive_definite: bool | None = None
    se: ItemArrays | None = None
    se_intercepts: np.ndarray | None = None
    se_latent_var: float | None = None
    se_latent_mean: float | None = None
    anchored: np.ndarray | None = None
    anchors: FixedItems | None = None
    group_labels: tuple[str, ...] = ()
    group_latent_mean: np.ndarray | None = None
    group_latent_sd: np.ndarray | None = None
    se_group_latent_mean: np.ndarray | None = None
    se_group_latent_var: np.ndarray | None = None

    # ------------------------------------------------------------------ fit indices
    @property
    def aic(self) -> float:
        """Akaike's information criterion ``−2 logL + 2p``."""
        return -2.0 * self.loglik + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        """Schwarz's criterion ``−2 logL + p log N``."""
        return -2.0 * self.loglik + self.n_parameters * float(np.log(self.n_persons))

    @property
    def model_name(self) -> str:
        """The common model of all items, or ``"mixed"``."""
        return self.models[0] if len(set(self.models)) == 1 else "mixed"

    # ------------------------------------------------------------------ views
    def coef(self, *, form: Literal["irt", "slope_intercept"] = "irt", with_se: bool = False) -> dict[str, np.ndarray]:
        """Item parameters as arrays in IRT form (``a``, ``b``, ``c``, ``d``) or slope–intercept form (mirt's
        ``a1``, ``d``, ``g``, ``u``); with ``with_se`` also ``<name>_se`` (NaN for fixed parameters)."""
        p = self.params
        if form == "irt":
            out = {"a": p.a, "b": p.b, "c": p.c, "d": p.d}
        elif form == "slope_intercept":
            out = {"a1": p.a, "d": self.intercepts, "g": p.c, "u": p.d}
        else:
            raise ValueError(f"form must be 'irt' or 'slope_intercept', got {form!r}")
        if with_se:
            if self.se is None:
                raise ValueError("no standard errors were computed (calibrate(..., se='oakes' or 'crossprod'))")
            s = self.se
            extra = {"a": s.a, "b": s.b, "c": s.c, "d": s.d}
            if form == "slope_intercept":
                extra = {"a1": s.a, "d": self.se_intercepts, "g": s.c, "u": s.d}
            out |= {f"{k}_se": v for k, v in extra.items()}
        return out

    def summary(self) -> str:
        """A short plain-text report: fit, convergence and one line per item."""
        lines = [
            f"model {self.model_name}: {self.params.n_items} items, {self.n_persons:g} persons, "
            f"{self.n_parameters} parameters",
            f"log-likelihood {self.loglik:.4f}  AIC {self.aic:.3f}  BIC {self.bic:.3f}",
            f"EM: {self.iterations} cycles, {'converged' if self.converged else 'NOT converged'} "
            f"(max change {self.max_change:.2e}); latent N({self.latent_mean:g}, {self.latent_sd:.4f}²)",
        ]
        if self.se_method:
            lines.append(
                f"SE: {self.se_method}, condition number {self.condition_number:.4g}, "
                f"{'positive definite' if self.information_positive_definite else 'NOT positive definite'}"
            )
        for j, item_id in enumerate(self.params.ids):
            k = int(self.params.n_cat[j]) - 1
            b = " ".join(f"{v:8.4f}" for v in self.params.b[j, :k])
            extra = f"  c {self.params.c[j]:.4f}" if self.params.c[j] > 0 else ""
            lines.append(f"{item_id:>16s} {self.models[j]:>5s}  a {self.params.a[j]:7.4f}  b {b}{extra}")
        return "\n".join(lines)
