"""Differential item functioning (DIF) between a reference and a focal group: Mantel–Haenszel and standardization.

**Group data is used only here.** The grouping variable (language, gender, age band, …) is read for this fairness
check on calibration data and never enters scoring, item selection or any estimate of a person's ability.

Matching. Persons are matched on an observed score, one stratum per score point ("thin" matching):

* ``matching="total"`` (default, ETS practice): the total score over all items *including the studied item*. Holland
  & Thayer (1988) showed that the studied item must be part of the matching criterion for the MH statistic to be
  free of DIF under the Rasch model when the groups differ in ability.
* ``matching="rest"``: the total score without the studied item.
* ``purify=True`` (ETS criterion refinement, two stages): items classified C (or CC) in a first pass are removed
  from the matching score of every item; the studied item itself is always included (with ``"total"``).

Persons with any missing response are left out (the total score would not be comparable), as are persons in neither
group; both counts are reported. Strata in which one of the groups has nobody carry no information and are skipped.

Dichotomous items (Holland & Thayer, 1988; Dorans & Holland, 1993). In stratum ``k`` let ``A, B`` be the reference
group's right/wrong counts, ``C, D`` the focal group's, and ``T`` the stratum size. Then

* common odds ratio ``α_MH = Σ(A·D/T) / Σ(B·C/T)`` (> 1: the item favours the reference group);
* ``MH χ² = (|Σ A − Σ E(A)| − ½)² / Σ Var(A)`` with ``E(A) = n_R m_1 / T``,
  ``Var(A) = n_R n_F m_1 m_0 / (T² (T − 1))``, 1 df (the continuity-corrected value is floored at 0, so that
  ``|Σ A − Σ E(A)| < ½`` gives 0; difR and statsmodels square the negative difference instead);
* ``MH D-DIF = Δ_MH = −2.35 ln α_MH`` (ETS delta metric; negative = the item is harder for the focal group), with
  ``SE(Δ_MH) = 2.35 · SE(ln α_MH)`` from the Robins–Breslow–Greenland (1986) variance (as difR's ``varLambda``;
  equal to the Phillips–Holland (1987) formula ETS uses).

ETS classes for dichotomous items (Dorans & Holland, 1993, pp. 41–43; Zwick, 2012, ETS RR-12-08, p. 3; the test of
``|Δ| > 1`` as in Paek & Holland, 2015, Psychometrika 80, 406–411):

* **A** (negligible): ``|Δ_MH| < 1``, or ``Δ_MH`` is not significantly different from 0 (the MH χ² test at ``alpha``);
* **C** (large): ``|Δ_MH| ≥ 1.5`` *and* ``|Δ_MH|`` is significantly greater than 1 (interval-null test of
  ``H0: |Δ| ≤ 1`` at ``alpha``: ``(Δ/SE)²`` against a non-central χ²₁ with non-centrality ``(1/SE)²``, which is the
  one-sided ``(|Δ| − 1)/SE > z_{1−α}`` test up to a negligible term);
* **B** (moderate): otherwise.

Polytomous items (Mantel, 1963; Dorans & Schmitt, 1991; Zwick, Donoghue & Grima, 1993): Mantel's 1-df χ² for ordered
responses, ``(Σ F − Σ E(F))² / Σ Var(F)`` with ``F`` the focal group's score sum in a stratum, and the standardized
mean difference ``SMD = Σ_k p_Fk (m_Fk − m_Rk)`` (focal-group weights ``p_Fk``; negative = harder for the focal
group), divided by the item's SD in both groups together for the effect size. ETS classes (Zwick, 2012, p. 5,
after Allen, Carlson & Zelenak, 1999): **AA** if Mantel's p ≥ ``alpha`` or ``|SMD/SD| ≤ 0.17``; **CC** if p <
``alpha`` and ``|SMD/SD| > 0.25``; **BB** otherwise. Mantel's χ² and the SMD (for a 0/1 item: STD P-DIF) are
reported for dichotomous items too.

IRT likelihood-ratio DIF (:func:`lr_dif`, 2PL and GRM items, every other item as anchor) compares two-group
calibrations (:func:`~digiskill.calibrate.calibrate` with ``groups``): item parameters common to both groups against
the studied item free in each, with the focal group's latent mean and SD estimated.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import chi2, ncx2

from ..errors import ConvergenceWarning, InputError, Problem
from ..irt.items import ItemArrays
from ..irt.likelihood import encode_responses
from ..irt.numbers import finite_or_none
from .fixed import FixedItems

DELTA_PER_LOG_ODDS = -2.35  # ETS delta metric: Δ = −2.35 ln α (Holland & Thayer, 1988)
ETS_A_LIMIT = 1.0  # |Δ_MH| below this: A
ETS_C_LIMIT = 1.5  # |Δ_MH| at least this (and significantly above ETS_A_LIMIT): C
ETS_POLY_B = 0.17  # |SMD/SD| above this (and significant): at least BB
ETS_POLY_C = 0.25  # |SMD/SD| above this (and significant): CC
DEFAULT_MIN_GROUP = 30
CONTINUITY = 0.5

Matching = Literal["total", "rest"]
LR_MODELS = ("2pl", "grm")  # item models the likelihood-ratio test covers


@dataclass(frozen=True, eq=False)
class DIFResult:
    """DIF statistics for ``J`` items, one array entry per item (NaN where a statistic does not apply or is not
    estimable, e.g. an item everybody answered the same way).

    Attributes:
        item_ids: the items.
        polytomous: ``(J,)`` True for items with more than two categories (Mantel / SMD rules apply).
        matching: ``"total"`` or ``"rest"``; ``purified`` whether the criterion was refined.
        focal, reference: the group labels (``reference`` None = everybody not in the focal group).
        n_reference, n_focal: persons analysed in each group.
        n_excluded_missing: persons left out for a missing response; ``n_excluded_group`` for no/other group label.
        n_strata: ``(J,)`` strata with both groups present.
        alpha_mh, delta_mh, se_delta: common odds ratio, ``−2.35 ln α_MH`` and its SE (dichotomous items).
        mh_chi2, mh_p: continuity-corrected MH χ² (1 df) and its p-value (dichotomous items).
        p_delta_above_1: p-value of the test of ``H0: |Δ_MH| ≤ 1`` used for class C.
        mantel_chi2, mantel_p: Mantel's χ² (1 df, no continuity correction) and p-value (all items).
        smd: standardized mean difference, focal minus reference (all items); ``item_sd`` the item's SD;
            ``smd_effect`` = ``smd / item_sd``.
        ets_class: ``A``/``B``/``C`` (dichotomous) or ``AA``/``BB``/``CC`` (polytomous); ``""`` if not estimable.
        alpha: significance level of the classification.
    """

    item_ids: tuple[str, ...]
    polytomous: np.ndarray
    matching: str
    purified: bool
    focal: object
    reference: object
    n_reference: int
    n_focal: int
    n_excluded_missing: int
    n_excluded_group: int
    n_strata: np.ndarray
    alpha_mh: np.ndarray
    delta_mh: np.ndarray
    se_delta: np.ndarray
    mh_chi2: np.ndarray
    mh_p: np.ndarray
    p_delta_above_1: np.ndarray
    mantel_chi2: np.ndarray
    mantel_p: np.ndarray
    smd: np.ndarray
    item_sd: np.ndarray
    smd_effect: np.ndarray
    ets_class: tuple[str, ...]
    alpha: float

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def flagged(self, level: Literal["B", "C"] = "C") -> tuple[str, ...]:
        """Items in class ``level`` or worse (``B`` includes ``C``; polytomous ``BB``/``CC`` count alike)."""
        worst = {"C": ("C", "CC"), "B": ("B", "C", "BB", "CC")}[level]
        return tuple(i for i, c in zip(self.item_ids, self.ets_class, strict=True) if c in worst)

    def to_rows(self) -> list[dict[str, object]]:
        """One dict per item for a CSV (numbers as floats, NaN as None)."""

        rows = []
        for j, item in enumerate(self.item_ids):
            d = self.delta_mh[j] if not self.polytomous[j] else self.smd[j]
            favours = "" if not np.isfinite(d) or d == 0 else ("reference" if d < 0 else "focal")
            rows.append(
                {
                    "item": item,
                    "kind": "polytomous" if self.polytomous[j] else "dichotomous",
                    "n_reference": self.n_reference,
                    "n_focal": self.n_focal,
                    "n_strata": int(self.n_strata[j]),
                    "alpha_mh": finite_or_none(self.alpha_mh[j]),
                    "delta_mh": finite_or_none(self.delta_mh[j]),
                    "se_delta_mh": finite_or_none(self.se_delta[j]),
                    "mh_chi2": finite_or_none(self.mh_chi2[j]),
                    "mh_p": finite_or_none(self.mh_p[j]),
                    "p_abs_delta_gt_1": finite_or_none(self.p_delta_above_1[j]),
                    "mantel_chi2": finite_or_none(self.mantel_chi2[j]),
                    "mantel_p": finite_or_none(self.mantel_p[j]),
                    "smd": finite_or_none(self.smd[j]),
                    "smd_effect": finite_or_none(self.smd_effect[j]),
                    "ets_class": self.ets_class[j],
                    "favours": favours,
                }
            )
        return rows

    def summary(self) -> str:
        ref = "everybody else" if self.reference is None else repr(self.reference)
        lines = [
            f"DIF focal {self.focal!r} (n={self.n_focal}) vs reference {ref} (n={self.n_reference}); matching on "
            f"{self.matching} score{' (purified)' if self.purified else ''}; alpha {self.alpha:g}",
            f"left out: {self.n_excluded_missing} person(s) with a missing response, "
            f"{self.n_excluded_group} without a group in the comparison",
        ]
        for j, item in enumerate(self.item_ids):
            if self.polytomous[j]:
                stat = f"SMD {self.smd[j]:7.3f}  SMD/SD {self.smd_effect[j]:6.3f}  Mantel p {self.mantel_p[j]:.4f}"
            else:
                stat = f"D-DIF {self.delta_mh[j]:7.3f} (SE {self.se_delta[j]:.3f})  MH p {self.mh_p[j]:.4f}"
            lines.append(f"{item:>16s}  {self.ets_class[j] or '-':>2s}  {stat}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _StratumSums:
    """Per item and stratum ``(J, S)``: group sizes, group score sums, and the sum of squared scores."""

    n_ref: np.ndarray
    n_foc: np.ndarray
    s_ref: np.ndarray
    s_foc: np.ndarray
    sq: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        return (self.n_ref > 0) & (self.n_foc > 0)


def _stratum_sums(y: np.ndarray, strata: np.ndarray, focal: np.ndarray) -> _StratumSums:
    """One ``bincount`` per quantity over the flattened (person, item) cells: no loop over items or strata."""
    n, j = y.shape
    width = int(strata.max()) + 1
    idx = (strata + width * np.arange(j)).ravel()
    foc = np.broadcast_to(focal[:, None], (n, j)).ravel()
    yf = y.ravel().astype(float)
    size = j * width

    def count(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(idx[mask], weights=w, minlength=size).reshape(j, width).astype(float)

    return _StratumSums(
        n_ref=count(~foc),
        n_foc=count(foc),
        s_ref=count(~foc, yf),
        s_foc=count(foc, yf),
        sq=np.bincount(idx, weights=yf * yf, minlength=size).reshape(j, width),
    )


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with NaN where ``den`` is 0 (no warning)."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _mh_statistics(t: _StratumSums) -> dict[str, np.ndarray]:
    """Mantel–Haenszel statistics of 0/1 items from their stratum sums (invalid strata contribute 0)."""
    v = t.valid
    big_t = np.where(v, t.n_ref + t.n_foc, 1.0)
    a = np.where(v, t.s_ref, 0.0)  # reference right
    b = np.where(v, t.n_ref - t.s_ref, 0.0)  # reference wrong
    c = np.where(v, t.s_foc, 0.0)  # focal right
    d = np.where(v, t.n_foc - t.s_foc, 0.0)  # focal wrong
    n_r, n_f = a + b, c + d
    m1, m0 = a + c, b + d
    r_k, s_k = a * d / big_t, b * c / big_t
    p_k, q_k = (a + d) / big_t, (b + c) / big_t
    r, s = r_k.sum(axis=1), s_k.sum(axis=1)
    alpha_mh = _ratio(r, s)
    alpha_mh[(r == 0) & (s == 0)] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        log_alpha = np.log(alpha_mh)
        var_log = (
            (p_k * r_k).sum(axis=1) / (2 * r * r)
            + (p_k * s_k + q_k * r_k).sum(axis=1) / (2 * r * s)
            + (q_k * s_k).sum(axis=1) / (2 * s * s)
        )
    var_log = np.where(np.isfinite(var_log) & np.isfinite(log_alpha) & (var_log >= 0), var_log, np.nan)
    expected = n_r * m1 / big_t
    var_a = np.where(big_t > 1, n_r * n_f * m1 * m0 / (big_t**2 * np.maximum(big_t - 1, 1)), 0.0)
    dev = np.abs(a.sum(axis=1) - expected.sum(axis=1))
    stat = _ratio(np.maximum(dev - CONTINUITY, 0.0) ** 2, var_a.sum(axis=1))
    return {
        "alpha_mh": alpha_mh,
        "delta_mh": DELTA_PER_LOG_ODDS * log_alpha,
        "se_delta": abs(DELTA_PER_LOG_ODDS) * np.sqrt(var_log),
        "mh_chi2": stat,
        "mh_p": chi2.sf(stat, 1),
    }


def _mantel_smd(t: _StratumSums) -> dict[str, np.ndarray]:
    """Mantel's ordinal χ² and the focal-weighted standardized mean difference, for items of any number of
    categories."""
    v = t.valid
    big_t = np.where(v, t.n_ref + t.n_foc, 1.0)
    n_r, n_f = np.where(v, t.n_ref, 0.0), np.where(v, t.n_foc, 0.0)
    s_all = np.where(v, t.s_ref + t.s_foc, 0.0)
    f = np.where(v, t.s_foc, 0.0)
    expected = n_f * s_all / big_t
    var_f = np.where(big_t > 1, n_r * n_f * (big_t * np.where(v, t.sq, 0.0) - s_all**2), 0.0) / (
        big_t**2 * np.maximum(big_t - 1, 1)
    )
    stat = _ratio((f.sum(axis=1) - expected.sum(axis=1)) ** 2, var_f.sum(axis=1))
    mean_diff = np.where(v, _ratio(t.s_foc, np.where(v, t.n_foc, 0)) - _ratio(t.s_ref, np.where(v, t.n_ref, 0)), 0.0)
    smd = _ratio((n_f * mean_diff).sum(axis=1), n_f.sum(axis=1))
    return {"mantel_chi2": stat, "mantel_p": chi2.sf(stat, 1), "smd": smd, "n_strata": v.sum(axis=1)}


@dataclass(frozen=True, eq=False)
class MHStatistics:
    """Mantel–Haenszel statistics of stratified 2×2 tables, one entry per table set (item)."""

    alpha_mh: np.ndarray
    delta_mh: np.ndarray
    se_delta: np.ndarray
    mh_chi2: np.ndarray
    mh_p: np.ndarray

    @property
    def se_log_alpha(self) -> np.ndarray:
        """Robins–Breslow–Greenland SE of ``ln α_MH``."""
        return self.se_delta / abs(DELTA_PER_LOG_ODDS)


def mantel_haenszel_tables(
    ref_right: np.ndarray, ref_wrong: np.ndarray, focal_right: np.ndarray, focal_wrong: np.ndarray
) -> MHStatistics:
    """MH statistics from counts tabulated already, each ``(..., K)`` over ``K`` strata (leading axes: items).

    The counts are ``A`` (reference right), ``B`` (reference wrong), ``C`` (focal right), ``D`` (focal wrong).
    """
    a, b, c, d = (np.atleast_2d(np.asarray(v, dtype=float)) for v in (ref_right, ref_wrong, focal_right, focal_wrong))
    sums = _StratumSums(n_ref=a + b, n_foc=c + d, s_ref=a, s_foc=c, sq=a + c)
    return MHStatistics(**_mh_statistics(sums))


def ets_class_dichotomous(delta: np.ndarray, se: np.ndarray, p_zero: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """ETS A/B/C classes from ``Δ_MH``, its SE and the p-value of the test of ``Δ = 0`` (see the module notes);
    ``""`` where ``Δ`` is not finite."""
    return _ets_dichotomous(np.asarray(delta, float), np.asarray(se, float), np.asarray(p_zero, float), alpha)[0]


def _ets_dichotomous(
    delta: np.ndarray, se: np.ndarray, p_zero: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        p_above_1 = ncx2.sf((delta / se) ** 2, 1, (ETS_A_LIMIT / se) ** 2)
    p_above_1 = np.where(np.isfinite(delta) & (se > 0), p_above_1, np.nan)
    size = np.abs(delta)
    cls = np.where(
        (size < ETS_A_LIMIT) | ~(p_zero < alpha),
        "A",
        np.where((size >= ETS_C_LIMIT) & (p_above_1 < alpha), "C", "B"),
    )
    return np.where(np.isfinite(delta), cls, ""), p_above_1


def ets_class_polytomous(effect: np.ndarray, p_value: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """ETS AA/BB/CC classes from ``SMD/SD`` and Mantel's p-value; ``""`` where the effect is not finite."""
    size = np.abs(np.asarray(effect, float))
    sig = np.asarray(p_value, float) < alpha
    cls = np.where(~sig | (size <= ETS_POLY_B), "AA", np.where(size > ETS_POLY_C, "CC", "BB"))
    return np.where(np.isfinite(size), cls, "")


def _group_masks(group: Sequence[object] | np.ndarray, focal: object, reference: object) -> tuple[np.ndarray, ...]:
    labels = np.asarray(group, dtype=object)
    missing = np.array([g is None or (isinstance(g, float) and np.isnan(g)) or g == "" for g in labels], dtype=bool)
    is_focal = (labels == focal) & ~missing
    is_ref = (~missing & ~is_focal) if reference is None else ((labels == reference) & ~missing)
    present = sorted({str(g) for g in labels[~missing]})
    problems = []
    if not is_focal.any():
        problems.append(Problem(f"focal group {focal!r} not found; group values present: {', '.join(present)}"))
    if reference is not None and not ((labels == reference) & ~missing).any():
        problems.append(Problem(f"reference group {reference!r} not found; group values present: {', '.join(present)}"))
    if reference is not None and reference == focal:
        problems.append(Problem(f"the reference and the focal group are the same ({focal!r})"))
    if problems:
        raise InputError(problems)
    return is_ref, is_focal


def mantel_haenszel_dif(
    responses: np.ndarray,
    group: Sequence[object] | np.ndarray,
    focal: object,
    *,
    reference: object = None,
    item_ids: Sequence[str] | None = None,
    items: ItemArrays | None = None,
    matching: Matching = "total",
    purify: bool = False,
    alpha: float = 0.05,
    min_group_size: int = DEFAULT_MIN_GROUP,
) -> DIFResult:
    """Mantel–Haenszel (dichotomous) and Mantel/SMD (polytomous) DIF of every item, with the ETS classes.

    Group data is used only for this analysis and never in scoring.

    Args:
        responses: ``(N, J)`` category codes; NaN or a negative code = missing (such persons are left out).
        group: ``(N,)`` group label per person (None, NaN or ``""`` = unknown: left out).
        focal: the focal group's label.
        reference: the reference group's label; None = every person with a label other than ``focal``.
        item_ids: item identifiers (default: ``items.ids`` or ``Item.1..``).
        items: the items' parameters; only ``n_cat`` is used (which items are polytomous, and the range check).
            Default: an item is polytomous when a code above 1 occurs.
        matching: ``"total"`` (ETS; includes the studied item) or ``"rest"`` score.
        purify: ETS two-stage criterion refinement (items in class C/CC leave the matching score).
        alpha: significance level of the tests behind the classes.
        min_group_size: fewest persons each group must have after exclusions.

    Raises:
        InputError: an unknown group label, too few persons in a group, or codes outside an item's categories.
    """
    codes = encode_responses(responses).astype(np.int64)
    n, j = codes.shape
    if len(group) != n:
        raise ValueError(f"group has {len(group)} labels for {n} response rows")
    if matching not in ("total", "rest"):
        raise ValueError(f"matching must be 'total' or 'rest', got {matching!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    ids = tuple(item_ids) if item_ids is not None else (items.ids if items is not None else None)
    ids = ids or tuple(f"Item.{i + 1}" for i in range(j))
    if len(ids) != j:
        raise ValueError(f"{len(ids)} item ids for {j} response columns")
    if items is not None:
        if items.n_items != j:
            raise ValueError(f"items has {items.n_items} items for {j} response columns")
        n_cat = np.asarray(items.n_cat)
        bad = np.flatnonzero((codes >= n_cat).any(axis=0))
        if bad.size:
            raise InputError(
                [Problem(f"a response above the item's top category {n_cat[c] - 1}", item_id=ids[c]) for c in bad]
            )
    else:
        n_cat = np.maximum(codes.max(axis=0, initial=1), 1) + 1
    is_ref, is_focal = _group_masks(group, focal, reference)
    complete = (codes >= 0).all(axis=1)
    keep = (is_ref | is_focal) & complete
    n_ref, n_foc = int((keep & is_ref).sum()), int((keep & is_focal).sum())
    small = [(name, k) for name, k in (("reference", n_ref), ("focal", n_foc)) if k < min_group_size]
    if small:
        raise InputError(
            [
                Problem(
                    f"too few persons in the {name} group: {k} with complete responses, at least {min_group_size} "
                    "needed"
                )
                for name, k in small
            ]
        )
    y = codes[keep]
    foc = is_focal[keep]
    polytomous = n_cat > 2

    flagged = np.zeros(j, dtype=bool)
    stats = _all_statistics(y, foc, matching, flagged, alpha, polytomous)
    if purify:
        flagged = np.isin(stats["ets_class"], ("C", "CC"))
        if flagged.any() and not flagged.all():
            stats = _all_statistics(y, foc, matching, flagged, alpha, polytomous)
    return DIFResult(
        item_ids=ids,
        polytomous=polytomous,
        matching=matching,
        purified=bool(purify),
        focal=focal,
        reference=reference,
        n_reference=n_ref,
        n_focal=n_foc,
        n_excluded_missing=int(((is_ref | is_focal) & ~complete).sum()),
        n_excluded_group=int((~(is_ref | is_focal)).sum()),
        alpha=alpha,
        **stats,
    )


def _all_statistics(
    y: np.ndarray, foc: np.ndarray, matching: str, flagged: np.ndarray, alpha: float, polytomous: np.ndarray
) -> dict[str, object]:
    base = y[:, ~flagged].sum(axis=1)  # the matching score of the (refined) criterion
    if matching == "total":
        strata = base[:, None] + y * flagged  # a flagged studied item is added back to its own criterion
    else:
        strata = base[:, None] - y * ~flagged
    sums = _stratum_sums(y, strata, foc)
    mh = _mh_statistics(sums)
    ms = _mantel_smd(sums)
    item_sd = y.std(axis=0, ddof=1)
    smd_effect = _ratio(ms["smd"], item_sd)
    for key in ("alpha_mh", "delta_mh", "se_delta", "mh_chi2", "mh_p"):
        mh[key] = np.where(polytomous, np.nan, mh[key])
    cls_d, p_above_1 = _ets_dichotomous(mh["delta_mh"], mh["se_delta"], mh["mh_p"], alpha)
    cls_p = ets_class_polytomous(smd_effect, ms["mantel_p"], alpha)
    return {
        **mh,
        **ms,
        "p_delta_above_1": p_above_1,
        "item_sd": item_sd,
        "smd_effect": smd_effect,
        "ets_class": tuple(str(c) for c in np.where(polytomous, cls_p, cls_d)),
    }


# ------------------------------------------------------------------------------------------- IRT likelihood ratio


@dataclass(frozen=True, eq=False)
class LRDIFResult:
    """IRT likelihood-ratio DIF for ``J`` items (one array entry per item; NaN / False for items not tested).

    Attributes:
        item_ids, models: the items and their models.
        tested: ``(J,)`` whether the item was tested; ``reason`` says why not (``""`` when tested).
        g2, df, p: ``G² = 2 (ll_M1 − ll_M0)``, its degrees of freedom (2 for 2PL, K for a K-category GRM item) and
            the χ² p-value.
        p_adjusted: Benjamini–Hochberg adjusted p-values over the tested items; ``flag`` is ``p_adjusted < alpha``.
        a_common, b_common: the item's slope and ``(J, K_max − 1)`` difficulty / thresholds (NaN-padded) common to
            both groups (model M0).
        a_reference, a_focal, b_reference, b_focal: the item's parameters in each group with the item free (its
            model M1).
        focal_mean, focal_sd: the focal group's latent mean and SD on the reference group's N(0, 1) scale (M0), with
            their standard errors ``se_focal_mean``, ``se_focal_sd`` (NaN when the information matrix was singular).
        loglik_m0: ``ll_M0``; ``loglik_m1`` per item.
        converged: ``(J,)`` whether the M1 calibration converged; ``all_converged`` also covers M0.
        n_reference, n_focal: persons in each group (persons with every response missing are dropped by the
            calibration), ``n_excluded_group`` persons in neither group.
        alpha: the false-discovery rate of the Benjamini–Hochberg flag.
    """

    item_ids: tuple[str, ...]
    models: tuple[str, ...]
    tested: np.ndarray
    reason: tuple[str, ...]
    g2: np.ndarray
    df: np.ndarray
    p: np.ndarray
    p_adjusted: np.ndarray
    flag: np.ndarray
    a_common: np.ndarray
    b_common: np.ndarray
    a_reference: np.ndarray
    a_focal: np.ndarray
    b_reference: np.ndarray
    b_focal: np.ndarray
    focal_mean: float
    focal_sd: float
    se_focal_mean: float
    se_focal_sd: float
    loglik_m0: float
    loglik_m1: np.ndarray
    converged: np.ndarray
    all_converged: bool
    focal: object
    reference: object
    n_reference: int
    n_focal: int
    n_excluded_group: int
    alpha: float

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def flagged(self) -> tuple[str, ...]:
        """Items with DIF after the Benjamini–Hochberg correction at ``alpha``."""
        return tuple(i for i, f in zip(self.item_ids, self.flag, strict=True) if f)

    def to_rows(self) -> list[dict[str, object]]:
        """One dict per item for a CSV (numbers as floats, NaN as None; thresholds joined by ``;``)."""

        def joined(b: np.ndarray) -> str:
            return ";".join(f"{v:.6g}" for v in b if np.isfinite(v))

        return [
            {
                "item": item,
                "model": self.models[j],
                "tested": bool(self.tested[j]),
                "reason": self.reason[j],
                "n_reference": self.n_reference,
                "n_focal": self.n_focal,
                "g2": finite_or_none(self.g2[j]),
                "df": int(self.df[j]) if self.tested[j] else None,
                "p": finite_or_none(self.p[j]),
                "p_bh": finite_or_none(self.p_adjusted[j]),
                "flag": bool(self.flag[j]),
                "a_common": finite_or_none(self.a_common[j]),
                "b_common": joined(self.b_common[j]),
                "a_reference": finite_or_none(self.a_reference[j]),
                "a_focal": finite_or_none(self.a_focal[j]),
                "b_reference": joined(self.b_reference[j]) if self.tested[j] else "",
                "b_focal": joined(self.b_focal[j]) if self.tested[j] else "",
                "focal_mean": self.focal_mean,
                "focal_sd": self.focal_sd,
                "converged": bool(self.converged[j]) if self.tested[j] else None,
            }
            for j, item in enumerate(self.item_ids)
        ]

    def summary(self) -> str:
        ref = "everybody else" if self.reference is None else repr(self.reference)
        lines = [
            f"IRT-LR DIF focal {self.focal!r} (n={self.n_focal}) vs reference {ref} (n={self.n_reference}); "
            f"two-group calibration, focal latent mean {self.focal_mean:.3f} (SE {self.se_focal_mean:.3f}), "
            f"SD {self.focal_sd:.3f} (SE {self.se_focal_sd:.3f}); Benjamini-Hochberg at {self.alpha:g}",
            f"left out: {self.n_excluded_group} person(s) without a group in the comparison",
        ]
        for j, item in enumerate(self.item_ids):
            if self.tested[j]:
                stat = f"G2 {self.g2[j]:8.3f}  df {int(self.df[j])}  p {self.p[j]:.4g}  p_BH {self.p_adjusted[j]:.4g}"
                lines.append(f"{item:>16s}  {'*' if self.flag[j] else ' '}  {stat}")
            else:
                lines.append(f"{item:>16s}     not tested: {self.reason[j]}")
        return "\n".join(lines)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg (1995) adjusted p-values (step-up, capped at 1); NaN entries are left out and stay NaN."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size:
        order = ok[np.argsort(p[ok], kind="stable")]
        m = ok.size
        q = p[order] * m / np.arange(1, m + 1)
        out[order] = np.minimum(np.minimum.accumulate(q[::-1])[::-1], 1.0)
    return out


def lr_dif(
    responses: np.ndarray,
    groups: Sequence[object] | np.ndarray,
    focal: object,
    reference: object = None,
    *,
    models: str | Sequence[str] = "2pl",
    item_ids: Sequence[str] | None = None,
    alpha: float = 0.05,
    min_group_size: int = DEFAULT_MIN_GROUP,
    tol: float | None = None,
    max_iter: int | None = None,
) -> LRDIFResult:
    """IRT likelihood-ratio DIF of every 2PL and GRM item, with all other items as anchors (Thissen, Steinberg &
    Wainer, 1988, 1993; as mirt's ``DIF(scheme = "add")`` on a fully constrained ``multipleGroup`` model).

    **Group data is used only here**, for this fairness check on calibration data; it never enters scoring.

    Both groups are calibrated together (:func:`~digiskill.calibrate.calibrate` with ``groups``): the reference
    group's latent distribution is N(0, 1), the focal group's N(μ_F, σ²_F) with both estimated, so that a difference
    in ability between the groups is not mistaken for DIF.

    1. M0: every item's parameters are common to both groups → ``ll_M0``, ``focal_mean``, ``focal_sd``.
    2. M1, per studied item ``j``: as M0, but item ``j`` has its own parameters in each group (every other item stays
       common: the anchors) → ``ll_M1``. ``G² = 2 (ll_M1 − ll_M0)`` on ``df`` = the item's parameters (2 for 2PL,
       ``K`` for a ``K``-category GRM item), p from χ²(df). M1 starts from the M0 estimates.
    3. ``flag``: Benjamini–Hochberg adjusted p below ``alpha`` (0.05), the false-discovery rate over the tested
       items.

    With every other item as anchor, a large DIF item among the anchors shifts the focal mean a little and with it
    the other items' ``G²`` (no purification here; confirm a flagged set with :func:`mantel_haenszel_dif`, or rerun
    with the flagged items' columns left out). Items with another model, and items whose M1 calibration cannot
    run (e.g. a category one group never used), are reported as not tested, with the reason. Missing responses are
    handled by the calibration's full-information likelihood (MAR).

    Args:
        responses: ``(N, J)`` category codes; NaN or a negative code = missing.
        groups: ``(N,)`` group label per person (None, NaN or ``""`` = unknown: left out).
        focal: the focal group's label.
        reference: the reference group's label; None = every person with a label other than ``focal``.
        models: one model for all items or one per item (any model :func:`calibrate` knows; only ``2pl`` and
            ``grm`` items are tested).
        item_ids: item identifiers (default ``Item.1..``).
        alpha: false-discovery rate of the flag.
        min_group_size: fewest persons in each group.
        tol, max_iter: passed to :func:`calibrate` (its defaults when None).

    Raises:
        InputError: an unknown group label, too few persons in a group, or an M0 calibration that cannot run
            (e.g. a category nobody used).
    """
    from .em import _latent_by_label, calibrate  # em imports nothing from here; kept local so that MH stays light

    codes = encode_responses(responses).astype(np.int64)
    n, j = codes.shape
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} labels for {n} response rows")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    ids = tuple(str(i) for i in item_ids) if item_ids is not None else tuple(f"Item.{i + 1}" for i in range(j))
    if len(ids) != j:
        raise ValueError(f"{len(ids)} item ids for {j} response columns")
    mods = (models,) * j if isinstance(models, str) else tuple(models)
    if len(mods) != j:
        raise ValueError(f"{len(mods)} models for {j} response columns")
    mods = tuple(m.lower() for m in mods)
    is_ref, is_focal = _group_masks(groups, focal, reference)
    n_ref, n_foc = int(is_ref.sum()), int(is_focal.sum())
    small = [(name, k) for name, k in (("reference", n_ref), ("focal", n_foc)) if k < min_group_size]
    if small:
        raise InputError(
            [
                Problem(f"too few persons in the {name} group: {k}, at least {min_group_size} needed")
                for name, k in small
            ]
        )
    keep = is_ref | is_focal
    x = codes[keep]
    foc = is_focal[keep]
    label = np.where(foc, "focal", "reference")
    n_cat = np.maximum(x.max(axis=0, initial=1), 1) + 1
    opts: dict[str, object] = {"groups": label, "reference_group": "reference"}
    if tol is not None:
        opts["tol"] = tol
    if max_iter is not None:
        opts["max_iter"] = max_iter

    m0 = calibrate(x, list(mods), item_ids=ids, n_categories=n_cat, se="oakes", **opts)  # warns if not converged
    if not m0.converged:
        warnings.warn(
            "the M0 two-group calibration did not converge: the LR statistics are unreliable",
            ConvergenceWarning,
            stacklevel=2,
        )
    m0_items = FixedItems.from_result(m0, "lr-dif-m0")
    start_latent = _latent_by_label(m0)

    kmax = int(n_cat.max())

    def thresholds(b: np.ndarray) -> np.ndarray:
        out = np.full(kmax - 1, np.nan)
        out[: min(b.size, kmax - 1)] = b[: kmax - 1]
        return out

    g2 = np.full(j, np.nan)
    ll1 = np.full(j, np.nan)
    df = np.zeros(j, dtype=np.int64)
    a_ref, a_foc = np.full(j, np.nan), np.full(j, np.nan)
    b_ref, b_foc = np.full((j, kmax - 1), np.nan), np.full((j, kmax - 1), np.nan)
    b_common = np.array([thresholds(m0.params.b[i]) for i in range(j)])
    converged = np.zeros(j, dtype=bool)
    reason = [""] * j
    for i in range(j):  # one two-group calibration per studied item (each vectorised over persons and items)
        if mods[i] not in LR_MODELS:
            reason[i] = f"model {mods[i]}: the likelihood-ratio test covers 2pl and grm items"
            continue
        x1, ids1, start = _split_item(x, foc, i, ids, m0_items)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                m1 = calibrate(
                    x1,
                    [*mods, mods[i]],
                    item_ids=ids1,
                    n_categories=[*n_cat, n_cat[i]],
                    se="none",
                    start=start,
                    start_latent=start_latent,
                    **opts,
                )
        except InputError as err:
            reason[i] = f"the two-group calibration with the item free failed: {err}"
            continue
        ll1[i] = m1.loglik
        g2[i] = max(2.0 * (m1.loglik - m0.loglik), 0.0)  # M0 is nested in M1; a tiny negative is EM tolerance
        df[i] = 2 if mods[i] == "2pl" else int(n_cat[i])
        a_ref[i], a_foc[i] = m1.params.a[i], m1.params.a[j]
        b_ref[i], b_foc[i] = thresholds(m1.params.b[i]), thresholds(m1.params.b[j])
        converged[i] = m1.converged
        if not m1.converged:
            reason[i] = "tested, but the M1 calibration did not converge"
    tested = np.isfinite(g2)
    p = np.where(tested, chi2.sf(g2, np.maximum(df, 1)), np.nan)
    p_adj = benjamini_hochberg(p)
    sd_f = float(m0.group_latent_sd[1])
    se_mean = se_var = np.nan
    if m0.se_group_latent_mean is not None:
        se_mean, se_var = float(m0.se_group_latent_mean[1]), float(m0.se_group_latent_var[1])
    return LRDIFResult(
        item_ids=ids,
        models=mods,
        tested=tested,
        reason=tuple(reason),
        g2=g2,
        df=df,
        p=p,
        p_adjusted=p_adj,
        flag=np.where(tested, p_adj < alpha, False),
        a_common=np.asarray(m0.params.a, dtype=float),
        b_common=b_common,
        a_reference=a_ref,
        a_focal=a_foc,
        b_reference=b_ref,
        b_focal=b_foc,
        focal_mean=float(m0.group_latent_mean[1]),
        focal_sd=sd_f,
        se_focal_mean=se_mean,
        se_focal_sd=se_var / (2 * sd_f),  # delta method: SD = sqrt(var)
        loglik_m0=float(m0.loglik),
        loglik_m1=ll1,
        converged=converged,
        all_converged=bool(m0.converged and converged[tested].all()),
        focal=focal,
        reference=reference,
        n_reference=n_ref,
        n_focal=n_foc,
        n_excluded_group=int((~keep).sum()),
        alpha=alpha,
    )


def _split_item(
    x: np.ndarray, focal: np.ndarray, i: int, ids: tuple[str, ...], m0: FixedItems
) -> tuple[np.ndarray, tuple[str, ...], FixedItems]:
    """The responses with item ``i`` split in two columns: column ``i`` answered in the reference group only and a
    last column answered in the focal group only; their ids; start values (M0's, the split item's for both)."""
    x1 = np.column_stack([x, np.where(focal, x[:, i], -1)])
    x1[focal, i] = -1
    ref_id, foc_id = f"{ids[i]} (reference)", f"{ids[i]} (focal)"
    ids1 = (*ids[:i], ref_id, *ids[i + 1 :], foc_id)
    k = m0.params.index[ids[i]]
    order = [*(n for n in range(m0.params.n_items) if n != k), k, k]
    names = [*(m0.ids[n] for n in order[:-2]), ref_id, foc_id]
    return x1, ids1, m0.with_ids(order, names)
