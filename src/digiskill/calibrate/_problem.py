"""The estimation problem: free-parameter packing, the EM map (E-step + vectorised M-step) and the observed score.

The free parameters form one vector ``φ``: per family (in family order) the free entries of the internal ``η`` rows
(row-major), then the common 1PL slope when there are 1PL items, then the latent variance when it is estimated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..irt.items import DICHOTOMOUS, GRADED
from ._data import Design, EStep, ResponseData
from ._models import DICHOTOMOUS_NAMES, KERNELS, MODEL_FAMILY, Priors, from_irt, log_prior, valid_rows

# M-step: Newton (Fisher scoring; exact Newton for the canonical-link 1PL/2PL/GPCM/PCM) on all items of a family at
# once, until the largest step is below INNER_TOL, with step halving so that no item's objective decreases.
INNER_TOL = 1e-9
INNER_MAX = 50
HALVINGS = 40
# Guess at the slope-intercept scale: ∫σ(aθ + d)φ(θ)dθ ≈ σ(d / sqrt(1 + πa²/8)), so d ≈ 1.18 logit(p) for a = 1.
_PROBIT_SCALE = float(np.sqrt(1 + np.pi / 8))


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
        latent_var_free: bool,
    ) -> None:
        self.data = data
        self.models = models
        self.theta = theta
        self.priors = priors
        self.latent_var_free = latent_var_free
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
                shared = np.flatnonzero(mods == "1pl")
                names = list(DICHOTOMOUS_NAMES)
            else:
                width = int(n_cat.max())
                free = np.arange(width)[None, :] < n_cat[:, None]
                free[:, 0] = mods != "pcm"
                shared = np.array([], dtype=np.int64)
                names = ["a"] + [f"d{k}" for k in range(1, width)]
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
        self.var_position = -1
        if latent_var_free:
            self.var_position = counter
            labels.append("latent.var")
            counter += 1
        self.n_free = counter
        self.labels = tuple(labels)

    # ------------------------------------------------------------------ packing
    def family(self, code: int) -> _Family | None:
        for fam in self.families:
            if fam.code == code:
                return fam
        return None

    def pack(self, etas: list[np.ndarray], var: float) -> np.ndarray:
        phi = np.empty(self.n_free)
        for fam, eta in zip(self.families, etas, strict=True):
            phi[fam.positions[fam.free]] = eta[fam.free]
            if fam.shared.size:
                phi[self.shared_position] = eta[fam.shared[0], 0]
        if self.var_position >= 0:
            phi[self.var_position] = var
        return phi

    def unpack(self, phi: np.ndarray, template: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
        """Family η arrays (copies of ``template`` with the free entries of ``φ``) and the latent variance."""
        etas = []
        for fam, base in zip(self.families, template, strict=True):
            eta = base.copy()
            eta[fam.free] = phi[fam.positions[fam.free]]
            if fam.shared.size:
                eta[fam.shared, 0] = phi[self.shared_position]
            etas.append(eta)
        var = float(phi[self.var_position]) if self.var_position >= 0 else 1.0
        return etas, var

    def pack_gradient(self, grads: list[np.ndarray], g_var: np.ndarray | float) -> np.ndarray:
        """Gradients per family ``(..., J_f, p)`` into ``(..., n_free)`` (the shared slope summed over its items)."""
        lead = grads[0].shape[:-2]
        out = np.zeros((*lead, self.n_free))
        for fam, g in zip(self.families, grads, strict=True):
            out[..., fam.positions[fam.free]] = g[..., fam.free]
            if fam.shared.size:
                out[..., self.shared_position] = g[..., fam.shared, 0].sum(axis=-1)
        if self.var_position >= 0:
            out[..., self.var_position] = g_var
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
                u = np.where(mods == "4pl", 0.98, 1.0)
                pc = np.clip((p - c) / (u - c), 0.02, 0.98)
                d = _PROBIT_SCALE * np.log(pc / (1 - pc))
                eta = from_irt(DICHOTOMOUS, a, (-d)[:, None], c, u)
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
        return etas

    # ------------------------------------------------------------------ E-step and M-step
    def log_latent(self, var: float) -> np.ndarray:
        """Normalised log weights of N(0, var) on the nodes (rectangular rule)."""
        lw = -0.5 * self.theta**2 / var
        return lw - np.logaddexp.reduce(lw)

    def logp_full(self, etas: list[np.ndarray]) -> np.ndarray:
        """``(Q, J, K_max)`` log category probabilities of the whole bank at the nodes."""
        out = np.full((self.theta.size, self.family_codes.size, self.k_max), -np.inf)
        for fam, eta in zip(self.families, etas, strict=True):
            logp, _ = KERNELS[fam.code](self.theta, eta, fam.n_cat, False)
            out[:, fam.idx, : logp.shape[2]] = logp
        return out

    def estep(self, etas: list[np.ndarray], var: float, design: Design) -> EStep:
        return design.estep(self.logp_full(etas), self.log_latent(var))

    def mstep(self, etas: list[np.ndarray], var: float, es: EStep) -> tuple[list[np.ndarray], float]:
        new = [
            self._newton(fam, eta, es.counts[:, fam.idx, : fam.width if fam.code != DICHOTOMOUS else 2])
            for fam, eta in zip(self.families, etas, strict=True)
        ]
        if self.latent_var_free:  # N(0, σ²) on a fixed grid: σ² = Σ_q n_q θ_q² / N (the grid moment is exact here)
            var = float(es.node_totals @ self.theta**2 / es.node_totals.sum())
        return new, var

    def em_map(self, phi: np.ndarray, template: list[np.ndarray], design: Design) -> tuple[np.ndarray, float]:
        """One EM cycle: ``(φ_new, log-likelihood at φ)``."""
        etas, var = self.unpack(phi, template)
        es = self.estep(etas, var, design)
        etas, var = self.mstep(etas, var, es)
        return self.pack(etas, var), es.loglik

    def valid(self, phi: np.ndarray, template: list[np.ndarray]) -> bool:
        if not np.isfinite(phi).all():
            return False
        etas, var = self.unpack(phi, template)
        if var <= 0:
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

    def latent_score(self, var: float) -> np.ndarray:
        """``∂ log w_q / ∂σ²`` for the normalised N(0, σ²) node weights, ``(Q,)``."""
        w = np.exp(self.log_latent(var))
        t2 = self.theta**2
        return (t2 - w @ t2) / (2 * var * var)

    def score(self, phi: np.ndarray, template: list[np.ndarray], design: Design) -> np.ndarray:
        """Observed-data score ``∂(log L + log prior)/∂φ`` (Fisher's identity: the complete-data gradient at the
        expected counts of the same parameters)."""
        etas, var = self.unpack(phi, template)
        es = self.estep(etas, var, design)
        g_var = float(es.node_totals @ self.latent_score(var)) if self.latent_var_free else 0.0
        return self.pack_gradient(self.family_gradients(etas, es), g_var)

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
    step = np.linalg.solve(sys, (grad * m)[..., None])[..., 0]
    if shared.size:
        coupling = info[shared, :, 0] * m[shared]  # (S, p): info between the shared slope and each free entry
        y = np.linalg.solve(sys[shared], coupling[..., None])[..., 0]
        schur = np.sum(info[shared, 0, 0] - np.sum(coupling * y, axis=1))
        rhs = np.sum(grad[shared, 0] - np.sum(coupling * step[shared], axis=1))
        da = rhs / schur
        step[shared] -= y * da
        step[shared, 0] = da
    return step
