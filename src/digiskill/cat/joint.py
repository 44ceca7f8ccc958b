"""The multidimensional adaptive test: the session's areas as one test with a joint ``N(0, Σ)`` prior.

The model is between-item (:mod:`digiskill.irt.multidim`): each item measures its own area's θ_d, and the areas'
abilities are correlated, ``θ ~ N(0, Σ)`` with ``Σ`` the latent correlation of the session's areas. Every answer
moves the joint estimate of every area (Segall 1996; Mulder & van der Linden 2009), so the same per-area precision
needs fewer items than separate tests.

:class:`JointRules` is the one implementation, called with N = 1 by a session (:func:`choose_joint`,
:func:`joint_state`) and with N simulees in lockstep by :func:`digiskill.cat.simulate.run_joint_sessions`:

* **estimate**: every area at once from all the test's answers, MAP (Newton, started from the previous estimate where
  there is one) or EAP (quasi-Monte Carlo, seed 0, ``config.joint.qmc_points``); SE per area = the square root of the
  diagonal of the posterior covariance;
* **select**: with ``T = diag(t)``, ``t_d`` the information of the answered items of area ``d`` at θ̂_d, and
  ``M = T`` (``drule``, ``trule``) or ``M = Σ⁻¹ + T`` (``dprule``, ``arule``), candidate ``j`` of area ``d`` with
  information ``I_j`` at θ̂_d scores ``det(M + I_j e_d e_dᵀ) = det(M) (1 + I_j (M⁻¹)_dd)`` (drule: exactly
  ``Π_{e≠d} t_e · (t_d + I_j)``, which is 0 for every item while two areas lack answers), ``trace(M) + I_j``, or
  ``−trace((M + I_j e_d e_dᵀ)⁻¹) = −trace(M⁻¹) + I_j (M⁻²)_dd / (1 + I_j (M⁻¹)_dd)`` (Sherman–Morrison). The
  candidates are the available items of the open areas (``balancing.areas`` True: of the area Kingsbury–Zara picks);
  scores are over the bank in bank order, so ties go to the lowest bank index. Exposure control wraps the scores as in
  a unidimensional test. Before the first answer the rule is evaluated at θ = ``start.theta`` in every area
  (mirtCAT's ``start_item = 'DPrule'``);
* **stop**: after each answer every open area's rules (:class:`~digiskill.cat.stopping.Stopper`) are evaluated with its
  own item count and its joint-posterior SE; an ended area stays ended, and items come only from open areas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..irt.likelihood import MISSING
from ..irt.multidim import JointEstimate, LatentNormal, item_information, joint_eap, joint_map
from .arrays import AreaBank, CatBank
from .balancing import area_targets, kingsbury_zara
from .rules import Draws, Exposure, Pick, SessionDraws, exposure_control, top_k
from .select import Choice, History
from .stopping import AreaStops, Stopper

EAP_SEED = 0
"""The scrambling seed of the joint EAP: fixed, so the estimate is a function of the answers alone."""


@dataclass(frozen=True, eq=False)
class JointSelection:
    """One step's choice for ``N`` tests: the θ the rule was evaluated at ``(N, D)``, the scores ``(N, J)`` over
    the bank (−inf where not a candidate) and exposure control's pick (bank positions)."""

    theta: np.ndarray
    score: np.ndarray
    pick: Pick


@dataclass(frozen=True, eq=False)
class JointRules:
    """The strategy of a multidimensional test over the session's areas (the dimensions, in session order).

    Attributes:
        bank: the prepared bank (its ``latent`` and ``whole`` are set for a multidimensional configuration).
        areas: the session's areas.
        prior: ``N(0, Σ)`` restricted to them.
        dim_of: ``(J,)`` the dimension of each bank item, −1 for items outside the session's areas.
        exposure: the configuration's exposure control.
        stopper: the configuration's stopping rules.
    """

    bank: CatBank
    areas: tuple[AreaBank, ...]
    prior: LatentNormal
    dim_of: np.ndarray
    exposure: Exposure
    stopper: Stopper

    @classmethod
    def for_session(cls, bank: CatBank, session_areas: Sequence[str | None]) -> JointRules:
        assert bank.latent is not None and bank.whole is not None, "bank prepared for a unidimensional configuration"
        codes = [bank.area_names.index(a) for a in session_areas]
        dim_of = np.full(len(bank.ids), -1, dtype=np.int64)
        for d, c in enumerate(codes):
            dim_of[bank.area_code == c] = d
        prior = LatentNormal(bank.latent[np.ix_(codes, codes)])
        cfg = bank.config
        areas = tuple(bank.areas[a] for a in session_areas)
        return cls(bank, areas, prior, dim_of, exposure_control(cfg), Stopper(cfg.stopping))

    @property
    def dim(self) -> int:
        return len(self.areas)

    @property
    def sign(self) -> float:
        """−1 for ``arule`` (its score is the negated trace; the log shows the trace)."""
        return -1.0 if self.bank.config.selection.rule == "arule" else 1.0

    # ------------------------------------------------------------------------------------------------ estimate
    def estimate(self, x: np.ndarray, start: np.ndarray | None = None) -> JointEstimate:
        """The joint estimate of ``N`` tests from ``x`` ``(N, J)`` category codes over the bank (−1: not answered);
        MAP starts at ``start`` ``(N, D)`` (default 0)."""
        cfg = self.bank.config
        codes = [x[:, ab.index] for ab in self.areas]
        items = [ab.items for ab in self.areas]
        if cfg.estimator == "map":
            return joint_map(codes, items, self.prior, start=start)
        seen = np.array([(c >= 0).any() for c in codes])
        if seen.all():
            return joint_eap(codes, items, self.prior, n_points=cfg.joint.qmc_points, seed=EAP_SEED)
        return self._eap_with_unseen(codes, items, seen)

    def _eap_with_unseen(self, codes: list[np.ndarray], items: list, seen: np.ndarray) -> JointEstimate:
        """EAP when no test has answered some areas ``u``: the answered areas ``a`` by QMC under their marginal prior,
        then exactly ``E[θ_u] = B E[θ_a]``, ``Cov = Σ_uu − B Σ_au + B C_a Bᵀ`` with ``B = Σ_ua Σ_aa⁻¹`` (the
        likelihood does not involve ``θ_u``)."""
        cov = self.prior.cov
        n = codes[0].shape[0]
        a, u = np.flatnonzero(seen), np.flatnonzero(~seen)
        mean = np.zeros((n, self.dim))
        post = np.broadcast_to(cov, (n, self.dim, self.dim)).copy()
        if a.size == 0:
            return JointEstimate(mean, post, "eap", np.ones(n, dtype=bool))
        part = joint_eap(
            [codes[d] for d in a],
            [items[d] for d in a],
            LatentNormal(cov[np.ix_(a, a)]),
            n_points=self.bank.config.joint.qmc_points,
            seed=EAP_SEED,
        )
        b = cov[np.ix_(u, a)] @ np.linalg.inv(cov[np.ix_(a, a)])
        cross = np.einsum("ue,nef->nuf", b, part.cov)
        mean[:, a], mean[:, u] = part.theta, part.theta @ b.T
        post[np.ix_(np.arange(n), a, a)] = part.cov
        post[np.ix_(np.arange(n), u, a)] = cross
        post[np.ix_(np.arange(n), a, u)] = np.swapaxes(cross, 1, 2)
        conditional = cov[np.ix_(u, u)] - b @ cov[np.ix_(a, u)]
        post[np.ix_(np.arange(n), u, u)] = conditional + np.einsum("nuf,vf->nuv", cross, b)
        return JointEstimate(mean, post, "eap", part.converged)

    # ------------------------------------------------------------------------------------------------- select
    def criterion(self, theta: np.ndarray, answered: np.ndarray) -> np.ndarray:
        """``(N, J)`` the rule's criterion (determinant, trace, or trace of the inverse for ``arule``) for adding each
        bank item to each test's answered items ``answered`` ``(N, J)``, at ``theta`` ``(N, D)``; NaN outside the
        session's areas."""
        rule = self.bank.config.selection.rule
        info = item_information(theta, [ab.items for ab in self.areas])
        t = np.stack([(i * answered[:, ab.index]).sum(axis=1) for i, ab in zip(info, self.areas, strict=True)], 1)
        out = np.full(answered.shape, np.nan)
        if rule in ("drule", "trule"):
            for d, ab in enumerate(self.areas):
                if rule == "trule":
                    out[:, ab.index] = t.sum(axis=1)[:, None] + info[d]
                else:  # the exact determinant of a diagonal matrix, also when it is singular
                    others = np.prod(np.delete(t, d, axis=1), axis=1)
                    out[:, ab.index] = others[:, None] * (t[:, d, None] + info[d])
            return out
        m = self.prior.precision[None, :, :] + t[:, :, None] * np.eye(self.dim)
        m_inv = np.linalg.inv(m)
        det = np.linalg.det(m)
        m_inv2 = m_inv @ m_inv
        trace = np.trace(m_inv, axis1=1, axis2=2)
        for d, ab in enumerate(self.areas):
            growth = 1.0 + info[d] * m_inv[:, d, d, None]
            if rule == "dprule":
                out[:, ab.index] = det[:, None] * growth
            else:  # arule: Sherman–Morrison
                out[:, ab.index] = trace[:, None] - info[d] * m_inv2[:, d, d, None] / growth
        return out

    def candidates(self, answered: np.ndarray, excluded: np.ndarray, open_areas: np.ndarray) -> np.ndarray:
        """``(N, J)`` the items each test may be given: in an open area ``open_areas`` ``(N, D)``, neither answered
        nor set aside."""
        in_open = np.zeros(answered.shape, dtype=bool)
        session = self.dim_of >= 0
        in_open[:, session] = open_areas[:, self.dim_of[session]]
        return in_open & ~answered & ~excluded

    def own_counts(self, answered: np.ndarray) -> np.ndarray:
        """``(N, D)`` each test's answered items per area."""
        return np.stack([answered[:, ab.index].sum(axis=1) for ab in self.areas], axis=1)

    def balance(self, answered: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """The candidates of the area Kingsbury–Zara picks (``balancing.areas``), else ``candidates`` itself."""
        cfg = self.bank.config
        if not cfg.balancing.areas:
            return candidates
        has = np.stack([candidates[:, ab.index].any(axis=1) for ab in self.areas], axis=1)
        target = area_targets([ab.area for ab in self.areas], cfg.balancing.targets)
        d = kingsbury_zara(self.own_counts(answered), has, target)
        return candidates & (self.dim_of[None, :] == d[:, None])

    def select(self, theta: np.ndarray, answered: np.ndarray, allowed: np.ndarray, draws: Draws) -> JointSelection:
        """Score the ``allowed`` items ``(N, J)`` at ``theta`` ``(N, D)`` and pick one per test."""
        score = np.where(allowed, self.sign * self.criterion(theta, answered), -np.inf)
        assert self.bank.whole is not None
        return JointSelection(theta, score, self.exposure.pick(score, allowed, self.bank.whole, draws))

    def describe(self, started: bool, start_theta: float) -> str:
        rule = self.bank.config.selection.rule
        return rule if started else f"start: {rule} at θ = {start_theta:g}"

    # --------------------------------------------------------------------------------------------------- stop
    def stops(self, est: JointEstimate, n_own: np.ndarray, n_left: np.ndarray) -> list[AreaStops]:
        """Per area, its rules evaluated for ``N`` tests with the area's own items ``n_own`` ``(N, D)``, the joint
        estimate and the items still available ``n_left`` ``(N, D)``."""
        se = est.se
        none = np.zeros(n_own.shape[0])
        return [
            self.stopper.area(ab, n_own[:, d], est.theta[:, d], se[:, d], none, n_left[:, d])
            for d, ab in enumerate(self.areas)
        ]


# ------------------------------------------------------------------------------------------------ one session
def _row(bank: CatBank, history: History) -> tuple[np.ndarray, np.ndarray]:
    """``(1, J)`` the answers of one test over the bank (−1: not answered) and the answered mask."""
    x = np.full((1, len(bank.ids)), MISSING, dtype=np.int64)
    x[0, history.items] = history.codes
    return x, x >= 0


def choose_joint(
    bank: CatBank,
    session_areas: Sequence[str | None],
    history: History,
    finished: Sequence[str | None],
    excluded: np.ndarray,
    draws: SessionDraws,
    theta: Sequence[float] | None,
) -> Choice:
    """The next item of a multidimensional test (:func:`digiskill.cat.select.choose` for this strategy), drawing
    from the session's ``draws`` at this step.

    ``theta``: the current joint estimate of the session's areas (a session holds it in its area states); when None
    it is estimated from ``history`` (the stateless step).
    """
    cfg = bank.config
    rules = JointRules.for_session(bank, session_areas)
    x, answered = _row(bank, history)
    set_aside = np.zeros_like(answered)
    set_aside[0, excluded] = True
    is_open = np.array([[a not in finished for a in session_areas]])
    allowed = rules.candidates(answered, set_aside, is_open)
    if not allowed.any():
        return Choice(None, None, "none left", float("nan"), None)
    started = history.items.size > 0
    first = cfg.start.first_item
    if not started and first is not None and first in bank.index and allowed[0, bank.index[first]]:
        pos = bank.index[first]
        return Choice(pos, bank.area_of(pos), "start: given first item", cfg.start.theta, None)
    if not started:
        th = np.full((1, rules.dim), cfg.start.theta)
    elif theta is None:
        th = rules.estimate(x).theta
    else:
        th = np.asarray(theta, dtype=float).reshape(1, rules.dim)
    sel = rules.select(th, answered, rules.balance(answered, allowed), draws)
    item = int(sel.pick.item[0])
    score = sel.score[0]
    top = top_k(sel.score, cfg.selection.candidates_logged)[0]
    top = top[np.isfinite(score[top])]
    return Choice(
        item=item,
        area=bank.area_of(item),
        rule=rules.describe(started, cfg.start.theta) + rules.exposure.describe(sel.pick, 0),
        theta=float(th[0, rules.dim_of[item]]),
        fit=None,
        candidates=tuple((int(c), float(rules.sign * score[c])) for c in top),
        set_aside=tuple(int(s) for s in np.flatnonzero(sel.pick.set_aside[0])),
    )


@dataclass(frozen=True, eq=False)
class JointState:
    """One test's joint estimate after an answer, per session area: ``theta``, ``se``, own items ``n``, and the
    rule that would end the area now (None: it goes on) with its classification."""

    theta: np.ndarray
    se: np.ndarray
    n: np.ndarray
    rule: np.ndarray
    classification: np.ndarray


def joint_state(
    bank: CatBank,
    session_areas: Sequence[str | None],
    history: History,
    excluded: np.ndarray,
    start: Sequence[float] | None = None,
) -> JointState:
    """Estimate every area of one test from ``history`` (MAP from ``start``, the previous estimate) and evaluate each
    area's stopping rules."""
    rules = JointRules.for_session(bank, session_areas)
    x, answered = _row(bank, history)
    set_aside = np.zeros_like(answered)
    set_aside[0, excluded] = True
    begin = None if start is None else np.asarray(start, dtype=float).reshape(1, rules.dim)
    est = rules.estimate(x, begin)
    left = rules.candidates(answered, set_aside, np.ones((1, rules.dim), dtype=bool))
    n_own = rules.own_counts(answered)
    n_left = rules.own_counts(left)
    stops = rules.stops(est, n_own, n_left)
    return JointState(
        est.theta[0],
        est.se[0],
        n_own[0],
        np.array([s.rule[0] for s in stops], dtype=object),
        np.array([s.classification[0] for s in stops], dtype=object),
    )
