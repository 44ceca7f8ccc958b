"""The estimation problem: free-parameter packing, the EM map (E-step + vectorised M-step) and the observed score.

The free parameters form one vector ``φ``: per family (in family order) the free entries of the internal ``η`` rows
(row-major), then the common 1PL slope when there are 1PL items, then the latent mean and the latent variance when
they are estimated. Items with given (anchor) parameters have no free entries: their ``η`` rows live in the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..irt.items import DICHOTOMOUS, GRADED, ItemArrays
from ._data import Design, EStep, ResponseData
from ._models import DICHOTOMOUS_NAMES, KERNELS, MODEL_FAMILY, Priors, from_irt, log_prior, valid_rows

# M-step: Newton (Fisher scoring; exact Newton for the canonical-link 1PL/2PL/GPCM/PCM) on all items of a family at
# once, until the largest step is below INNER_TOL, with step halving so that no item's objective decreases.
INNER_TOL = 1e-9
INNER_MAX = 50
HALVINGS = 40
# Guess at the slope-intercept scale: ∫σ(aθ + d)φ(θ)dθ ≈ σ(d / sqrt(1 + πa²/8)), so d ≈ 1.18 logit(p) for a = 1.
_PROBIT_SCALE = float(np.sqrt(1 + np.pi / 8))


class Latent(NamedTuple):
    """The latent distributions N(mean_g, var_g), one per group ``g`` (``(G,)`` arrays; ``G = 1`` without groups),
    normalised to the quadrature nodes."""

    mean: np.ndarray
    var: np.ndarray


def as_latent(latent: Latent | float, n_groups: int = 1) -> Latent:
    """A :class:`Latent` with ``(n_groups,)`` arrays; a bare number is the variance of zero-mean distributions."""
    if isinstance(latent, Latent):
        mean, var = latent
    else:
        mean, var = 0.0, float(latent)
    shape = (n_groups,)
    return Latent(
        np.broadcast_to(np.asarray(mean, dtype=float), shape).copy(),
        np.broadcast_to(np.asarray(var, dtype=float), shape).copy(),
    )


@dataclass(frozen=True, eq=False)
class _Family:
    code: int
    idx: np.ndarray  # positions in the bank
    n_cat: np.ndarray
    free: np.ndarray  # (J_f, p) free entries of η, excluding the shared 1PL slope
    shared: np.ndarray  # rows whose slope is the common 1PL slope (dichotomous family only)
    positions: np.ndarray  # (J_f, p) index into φ, −1 where fixed

    @property
    def width(self) -> int:
        return self.free.shape[1]


class EMProblem:
    """Everything the EM iterations and the standard errors need, with no state that changes between cycles."""

    def __init__(
        self,
        data: ResponseData,
        models: tuple[str, ...],
        theta: np.ndarray,
        priors: Priors,
        latent_var_free: bool | np.ndarray,
        *,
        latent_mean_free: bool | np.ndarray = False,
        anchors: tuple[np.ndarray, ItemArrays] | None = None,
    ) -> None:
        """``anchors``: bank positions of the items whose parameters are given, and those parameters (same order);
        those items have no free parameters (and a 1PL anchor keeps its own slope).

        ``latent_var_free`` / ``latent_mean_free``: one flag, or one per group of ``data`` (``data.n_groups``); a
        fixed mean is 0 and a fixed variance 1."""
        self.data = data
        self.models = models
        self.theta = theta
        self.priors = priors
        self.n_groups = data.n_groups
        self.latent_var_free = np.broadcast_to(np.asarray(latent_var_free, dtype=bool), (self.n_groups,)).copy()
        self.latent_mean_free = np.broadcast_to(np.asarray(latent_mean_free, dtype=bool), (self.n_groups,)).copy()
        self.fixed = np.zeros(len(models), dtype=bool)
        if anchors is not None:
            self.fixed[anchors[0]] = True
        self.anchors = anchors
        family = np.array([MODEL_FAMILY[m] for m in models], dtype=np.int8)
        self.family_codes = family
        self.k_max = int(data.n_cat.max())
        model_arr = np.array(models)
        families: list[_Family] = []
        labels: list[str] = []
        counter = 0
        for code in sorted(set(family.tolist())):
            idx = np.flatnonzero(family == code)
            n_cat = data.n_cat[idx]
            mods = model_arr[idx]
            if code == DICHOTOMOUS:
                free = np.column_stack(
                    [
                        np.isin(mods, ("2pl", "3pl", "4pl")),
                        np.ones(idx.size, bool),
                        np.isin(mods, ("3pl", "4pl")),
                        mods == "4pl",
                    ]
                )
                shared = np.flatnonzero((mods == "1pl") & ~self.fixed[idx])
                names = list(DICHOTOMOUS_NAMES)
            else:
                width = int(n_cat.max())
                free = np.arange(width)[None, :] < n_cat[:, None]
                free[:, 0] = mods != "pcm"
                shared = np.array([], dtype=np.int64)
                names = ["a"] + [f"d{k}" for k in range(1, width)]
            free[self.fixed[idx]] = False
            positions = np.full(free.shape, -1, dtype=np.int64)
            rows, cols = np.nonzero(free)
            positions[rows, cols] = counter + np.arange(rows.size)
            counter += rows.size
            labels += [f"{data.ids[idx[r]]}.{names[c]}" for r, c in zip(rows, cols, strict=True)]
            families.append(_Family(code, idx, n_cat, free, shared, positions))
        self.families = tuple(families)
        self.shared_position = -1
        dich = self.family(DICHOTOMOUS)
        if dich is not None and dich.shared.size:
            self.shared_position = counter
            dich.positions[dich.shared, 0] = counter
            labels.append("1pl.a")
            counter += 1
        suffixes = [""] if self.n_groups == 1 else [f"[{g}]" for g in data.group_labels]
        self.mean_positions = np.full(self.n_groups, -1, dtype=np.int64)
        self.var_positions = np.full(self.n_groups, -1, dtype=np.int64)
        for g in range(self.n_groups):  # group means first, then variances, in group order
            if self.latent_mean_free[g]:
                self.mean_positions[g] = counter
                labels.append(f"latent.mean{suffixes[g]}")
                counter += 1
        for g in range(self.n_groups):
            if self.latent_var_free[g]:
                self.var_positions[g] = counter
                labels.append(f"latent.var{suffixes[g]}")
                counter += 1
        self.n_free = counter
        self.labels = tuple(labels)

    # ------------------------------------------------------------------ packing
    def family(self, code: int) -> _Family | None:
        for fam in self.families:
            if fam.code == code:
                return fam
        return None

    def pack(self, etas: list[np.ndarray], latent: Latent | float) -> np.ndarray:
        latent = as_latent(latent, self.n_groups)
        phi = np.empty(self.n_free)
        for fam, eta in zip(self.families, etas, strict=True):
            phi[fam.positions[fam.free]] = eta[fam.free]
            if fam.shared.size:
                phi[self.shared_position] = eta[fam.shared[0], 0]
        phi[self.mean_positions[self.latent_mean_free]] = latent.mean[self.latent_mean_free]
        phi[self.var_positions[self.latent_var_free]] = latent.var[self.latent_var_free]
        return phi

    def unpack(self, phi: np.ndarray, template: list[np.ndarray]) -> tuple[list[np.ndarray], Latent]:
        """Family η arrays (copies of ``template`` with the free entries of ``φ``) and the latent distribution."""
        etas = []
        for fam, base in zip(self.families, template, strict=True):
            eta = base.copy()
            eta[fam.free] = phi[fam.positions[fam.free]]
            if fam.shared.size:
                eta[fam.shared, 0] = phi[self.shared_position]
            etas.append(eta)
        mean, var = np.zeros(self.n_groups), np.ones(self.n_groups)
        mean[self.latent_mean_free] = phi[self.mean_positions[self.latent_mean_free]]
        var[self.latent_var_free] = phi[self.var_positions[self.latent_var_free]]
        return etas, Latent(mean, var)

    def pack_gradient(self, grads: list[np.ndarray], g_latent: np.ndarray | float) -> np.ndarray:
        """Gradients per family ``(..., J_f, p)`` into ``(..., n_free)`` (the shared slope summed over its items);
        ``g_latent`` ``(..., G, 2)``: the gradient in each group's latent (mean, variance)."""
        lead = grads[0].shape[:-2]
        out = np.zeros((*lead, self.n_free))
        for fam, g in zip(self.families, grads, strict=True):
            out[..., fam.positions[fam.free]] = g[..., fam.free]
            if fam.shared.size:
                out[..., self.shared_position] = g[..., fam.shared, 0].sum(axis=-1)
        g_latent = np.broadcast_to(np.asarray(g_latent), (*lead, self.n_groups, 2))
        out[..., self.mean_positions[self.latent_mean_free]] = g_latent[..., self.latent_mean_free, 0]
        out[..., self.var_positions[self.latent_var_free]] = g_latent[..., self.latent_var_free, 1]
        return out

    # ------------------------------------------------------------------ start values
    def start_etas(self) -> list[np.ndarray]:
        """Start values from marginal proportions (slopes 1, lower asymptotes 0.2 at most, upper 0.98)."""
        etas = []
        for fam in self.families:
            j = fam.idx.size
            props = self.data.category_counts[fam.idx, : fam.width if fam.code != DICHOTOMOUS else 2]
            props = np.clip(props / props.sum(axis=1, keepdims=True), 1e-3, None)
            a = np.ones(j)
            if fam.code == DICHOTOMOUS:
                mods = np.array(self.models)[fam.idx]
                p = props[:, 1] / props.sum(axis=1)
                c = np.where(np.isin(mods, ("3pl", "4pl")), np.minimum(0.2, p / 2), 0.0)
                upper = np.where(mods == "4pl", 0.98, 1.0)
                pc = np.clip((p - c) / (upper - c), 0.02, 0.98)
                intercept = _PROBIT_SCALE * np.log(pc / (1 - pc))
                eta = from_irt(DICHOTOMOUS, a, (-intercept)[:, None], c, upper)
            elif fam.code == GRADED:
                upper = np.cumsum(props[:, ::-1], axis=1)[:, ::-1][:, 1:] / props.sum(axis=1, keepdims=True)
                upper = np.clip(upper, 1e-3, 1 - 1e-3)
                d = _PROBIT_SCALE * np.log(upper / (1 - upper))
                eta = np.column_stack([a, d])
            else:
                d = np.log(props[:, 1:] / props[:, :1])  # log(p_k / p_0)
                eta = np.column_stack([a, d])
            thr = np.arange(1, fam.width) < fam.n_cat[:, None]
            if fam.code != DICHOTOMOUS:
                eta[:, 1:] = np.where(thr, eta[:, 1:], 0.0)
            etas.append(eta)
        if self.anchors is not None:  # given parameters replace the start values
            pos, given = self.anchors
            where = {int(p): i for i, p in enumerate(pos)}
            for fam, eta in zip(self.families, etas, strict=True):
                rows = np.flatnonzero(self.fixed[fam.idx])
                if not rows.size:
                    continue
                src = np.array([where[int(i)] for i in fam.idx[rows]])
                row_eta = from_irt(fam.code, given.a[src], given.b[src], given.c[src], given.d[src])
                if fam.code == DICHOTOMOUS:
                    eta[rows] = row_eta
                else:
                    width = min(row_eta.shape[1], fam.width)
                    eta[rows] = 0.0
                    eta[rows, :width] = row_eta[:, :width]
                    thr = np.arange(1, fam.width) < fam.n_cat[rows, None]
                    eta[rows, 1:] = np.where(thr, eta[rows, 1:], 0.0)
        return etas

    def with_start(self, etas: list[np.ndarray], pos: np.ndarray, given: ItemArrays) -> list[np.ndarray]:
        """Start values of the free items at bank positions ``pos`` from IRT-form ``given`` (same order).

        Only what fits the item's own model is taken: slopes and intercepts always (a non-positive slope or a
        threshold count that differs leaves the item's default start); a lower/upper asymptote only where the item
        estimates it (clipped into [0.01, 0.99])."""
        lookup = np.full(self.family_codes.size, -1, dtype=np.int64)
        lookup[pos] = np.arange(pos.size)
        out = []
        for fam, eta in zip(self.families, etas, strict=True):
            eta = eta.copy()
            rows = np.flatnonzero((lookup[fam.idx] >= 0) & ~self.fixed[fam.idx])
            if rows.size:
                src = lookup[fam.idx[rows]]
                ok = (given.a[src] > 0) & (given.n_cat[src] == fam.n_cat[rows])
                if fam.code == DICHOTOMOUS:
                    ok &= given.family[src] == DICHOTOMOUS
                    c = np.clip(given.c[src], 0.01, 0.99)
                    upper = np.clip(given.d[src], 0.01, 0.99)
                    new = from_irt(DICHOTOMOUS, given.a[src], given.b[src][:, :1], c, upper)
                    new[:, 2] = np.where(fam.free[rows, 2], new[:, 2], eta[rows, 2])
                    new[:, 3] = np.where(fam.free[rows, 3], new[:, 3], eta[rows, 3])
                else:
                    ok &= given.family[src] == fam.code
                    width = min(given.b.shape[1] + 1, fam.width)
                    new = eta[rows].copy()
                    new[:, :width] = from_irt(fam.code, given.a[src], given.b[src], given.c[src], given.d[src])[
                        :, :width
                    ]
                    thr = np.arange(1, fam.width) < fam.n_cat[rows, None]
                    new[:, 1:] = np.where(thr, new[:, 1:], 0.0)
                keep_pcm_slope = ~fam.free[rows, 0] & (fam.code != DICHOTOMOUS)
                new[keep_pcm_slope, 0] = eta[rows[keep_pcm_slope], 0]  # a PCM slope stays 1
                good = ok & np.isfinite(new[:, :2]).all(axis=1)
                eta[rows[good]] = new[good]
            out.append(eta)
        return out

    def total_log_prior(self, etas: list[np.ndarray]) -> float:
        """The log prior density of all items' parameters (0 without priors)."""
        return sum(
            float(log_prior(f.code, e, f.free, self.priors, with_grad=False)[0].sum())
            for f, e in zip(self.families, etas, strict=True)
        )

    # ------------------------------------------------------------------ E-step and M-step
    def log_latent(self, latent: Latent | float) -> np.ndarray:
        """``(G, Q)`` normalised log weights of each group's N(mean, var) on the nodes (rectangular rule)."""
        mean, var = as_latent(latent, self.n_groups)
        lw = -0.5 * (self.theta[None, :] - mean[:, None]) ** 2 / var[:, None]
        return lw - np.logaddexp.reduce(lw, axis=1, keepdims=True)

    def logp_full(self, etas: list[np.ndarray]) -> np.ndarray:
        """``(Q, J, K_max)`` log category probabilities of the whole bank at the nodes."""
        out = np.full((self.theta.size, self.family_codes.size, self.k_max), -np.inf)
        for fam, eta in zip(self.families, etas, strict=True):
            logp, _ = KERNELS[fam.code](self.theta, eta, fam.n_cat, False)
            out[:, fam.idx, : logp.shape[2]] = logp
        return out

    def estep(self, etas: list[np.ndarray], latent: Latent | float, design: Design) -> EStep:
        return design.estep(self.logp_full(etas), self.log_latent(latent))

    def mstep(self, etas: list[np.ndarray], latent: Latent | float, es: EStep) -> tuple[list[np.ndarray], Latent]:
        new = [
            self._newton(fam, eta, es.counts[:, fam.idx, : fam.width if fam.code != DICHOTOMOUS else 2])
            for fam, eta in zip(self.families, etas, strict=True)
        ]
        # N(μ, σ²) on a fixed grid: μ = Σ_q n_q θ_q / N and σ² = Σ_q n_q (θ_q − μ)² / N (the moments of the normalised
        # grid weights equal μ and σ² to far below the tolerance on the default 0.2-spaced grid, so this is the M-step).
        # With anchors this is the prior update of every EM cycle (Kim's multiple-weights-updating FIPC).
        # With groups, each group's distribution is updated from its own persons' posterior node totals.
        mean, var = as_latent(latent, self.n_groups)
        totals = es.group_totals
        size = totals.sum(axis=1)
        mean = np.where(self.latent_mean_free, totals @ self.theta / size, mean)
        spread = (totals * (self.theta[None, :] - mean[:, None]) ** 2).sum(axis=1) / size
        var = np.where(self.latent_var_free, spread, var)
        return new, Latent(mean, var)

    def em_map(self, phi: np.ndarray, template: list[np.ndarray], design: Design) -> tuple[np.ndarray, float]:
        """One EM cycle: ``(φ_new, log-likelihood at φ)``."""
        etas, latent = self.unpack(phi, template)
        es = self.estep(etas, latent, design)
        etas, latent = self.mstep(etas, latent, es)
        return self.pack(etas, latent), es.loglik

    def valid(self, phi: np.ndarray, template: list[np.ndarray]) -> bool:
        if not np.isfinite(phi).all():
            return False
        etas, latent = self.unpack(phi, template)
        if not (latent.var > 0).all():
            return False
        return all(valid_rows(f.code, e, f.n_cat).all() for f, e in zip(self.families, etas, strict=True))

    def family_gradients(self, etas: list[np.ndarray], es: EStep) -> list[np.ndarray]:
        """Per family ``(J_f, p)``: gradient of the expected complete-data log-likelihood plus log prior."""
        out = []
        for fam, eta in zip(self.families, etas, strict=True):
            r = es.counts[:, fam.idx, : fam.width if fam.code != DICHOTOMOUS else 2]
            _, dl = KERNELS[fam.code](self.theta, eta, fam.n_cat, True)
            _, gp, _ = log_prior(fam.code, eta, fam.free, self.priors)
            out.append(np.einsum("qjk,qjkp->jp", r, dl) + gp)
        return out

    def latent_score(self, latent: Latent | float) -> np.ndarray:
        """``(∂ log w_gq / ∂μ_g, ∂ log w_gq / ∂σ²_g)`` for each group's normalised N(μ_g, σ²_g) node weights,
        ``(G, Q, 2)``."""
        mean, var = as_latent(latent, self.n_groups)
        w = np.exp(self.log_latent(Latent(mean, var)))
        dev = self.theta[None, :] - mean[:, None]
        t2 = dev**2
        d_mean = (dev - (w * dev).sum(axis=1, keepdims=True)) / var[:, None]
        d_var = (t2 - (w * t2).sum(axis=1, keepdims=True)) / (2 * var[:, None] ** 2)
        return np.stack([d_mean, d_var], axis=-1)

    def score(self, phi: np.ndarray, template: list[np.ndarray], design: Design) -> np.ndarray:
        """Observed-data score ``∂(log L + log prior)/∂φ`` (Fisher's identity: the complete-data gradient at the
        expected counts of the same parameters)."""
        etas, latent = self.unpack(phi, template)
        es = self.estep(etas, latent, design)
        g_latent = np.einsum("gq,gqc->gc", es.group_totals, self.latent_score(latent))
        return self.pack_gradient(self.family_gradients(etas, es), g_latent)

    def _newton(self, fam: _Family, eta: np.ndarray, r: np.ndarray) -> np.ndarray:
        """Maximise ``Σ_qk r_qjk log P_jk(θ_q; η_j) + log prior(η_j)`` for all items of one family at once."""
        kernel = KERNELS[fam.code]
        n = r.sum(axis=2)
        present = r > 0
        shared = fam.shared
        group = np.arange(eta.shape[0])
        if shared.size:
            group[shared] = shared[0]

        def objective(e: np.ndarray) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # inadmissible trial steps give NaN
                logp, _ = kernel(self.theta, e, fam.n_cat, False)
                ll = np.where(present, r * logp, 0.0).sum(axis=(0, 2))
            lp, _, _ = log_prior(fam.code, e, fam.free, self.priors, with_grad=False)
            value = ll + lp
            value = np.where(valid_rows(fam.code, e, fam.n_cat) & ~np.isnan(value), value, -np.inf)
            return np.bincount(group, weights=value, minlength=eta.shape[0]) if shared.size else value

        eta = eta.copy()
        f0 = objective(eta)
        for _ in range(INNER_MAX):
            logp, dl = kernel(self.theta, eta, fam.n_cat, True)
            weight = n[..., None] * np.exp(logp)
            grad = np.einsum("qjk,qjkp->jp", r, dl)
            info = np.einsum("qjk,qjkp,qjkr->jpr", weight, dl, dl, optimize=True)
            _, gp, hp = log_prior(fam.code, eta, fam.free, self.priors)
            step = _solve_steps(info + hp, grad + gp, fam.free, shared)
            t = np.ones(eta.shape[0])
            for _ in range(HALVINGS):
                cand = eta + t[:, None] * step
                f1 = objective(cand)
                worse = (f1 < f0 - 1e-12 * np.abs(f0))[group]
                if not worse.any():
                    break
                t[worse] *= 0.5
            else:
                t[worse] = 0.0
                cand = eta + t[:, None] * step
                f1 = objective(cand)
            eta, f0 = cand, f1
            if np.max(np.abs(t[:, None] * step), initial=0.0) < INNER_TOL:
                break
        return eta


def _solve_steps(info: np.ndarray, grad: np.ndarray, free: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """Newton steps ``info⁻¹ grad`` per item over the free entries, and for the items sharing the common 1PL slope
    (column 0) a joint step by block elimination: the system is block-diagonal apart from that one parameter."""
    m = free.astype(float)
    p = free.shape[1]
    eye = np.eye(p)
    sys = info * m[:, :, None] * m[:, None, :] + eye * (1.0 - m)[:, None, :]
    step = _solve(sys, (grad * m)[..., None])[..., 0]
    if shared.size:
        coupling = info[shared, :, 0] * m[shared]  # (S, p): info between the shared slope and each free entry
        y = _solve(sys[shared], coupling[..., None])[..., 0]
        schur = np.sum(info[shared, 0, 0] - np.sum(coupling * y, axis=1))
        rhs = np.sum(grad[shared, 0] - np.sum(coupling * step[shared], axis=1))
        da = rhs / schur
        step[shared] -= y * da
        step[shared, 0] = da
    return step


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched ``a⁻¹ b``; a singular system (e.g. a 4PL item whose asymptotes and slope are not identified by the
    data) falls back to the pseudo-inverse, the minimum-norm step, instead of failing."""
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(a) @ b
