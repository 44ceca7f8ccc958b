"""Response data for calibration: checking, pattern collapsing, and the indicator design behind the E-step.

Responses are integer codes ``0..K_j−1`` with ``−1`` (or NaN in float input) for "not presented". The E-step works on
an indicator design ``D`` with one column per item and category ``k ≥ 1`` (``D[n, m] = 1[x_{n j_m} = k_m]``) and a
"seen" matrix ``S[n, j] = 1[x_nj answered]``, so that for log-probabilities ``log P`` at ``Q`` nodes

* ``log f(x_n | θ_q) = Σ_m D[n, m] (log P_{j_m k_m} − log P_{j_m 0})(θ_q) + Σ_j S[n, j] log P_{j0}(θ_q)`` and
* the expected counts ``r_{jkq} = Σ_n w_n 1[x_nj = k] post_nq`` are ``Dᵀ (w · post)`` for ``k ≥ 1``, and
  ``Sᵀ (w · post)`` minus those for ``k = 0``.

With complete data ``S`` is all ones and both ``S`` products collapse to sums, so a dichotomous bank costs one matrix
product each way per EM cycle. A missing response contributes nothing. Designs with few answered cells are held as
scipy sparse matrices, so that the cost grows with the number of answers rather than persons × items.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..errors import InputError, Problem
from ..irt.likelihood import MISSING

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    import scipy.sparse as sp

_T = TypeVar("_T")

# Use single precision in the E-step's matrix products from this many design cells on (persons × columns); the
# estimates are then polished by double-precision cycles and the log-likelihood is always computed in double.
FLOAT32_FROM_CELLS = 2_000_000
# Hold the design as a sparse matrix when at most this fraction of cells is answered (and the design is large).
SPARSE_MAX_DENSITY = 0.2
SPARSE_FROM_CELLS = 1_000_000
# Persons per block in the E-step (bounds the memory of the N × Q posterior).
BLOCK_ROWS = 65536
# Double-precision designs (fewer than FLOAT32_FROM_CELLS cells) are cut into smaller blocks, so that the blocks of a
# mid-size calibration run on all cores (a different cut changes sums only in the last bits of double precision;
# single-precision designs keep their blocks, whose cut would move the stopping point of EM).
DOUBLE_BLOCK_ROWS = 4096
# Floor of the log posterior relative to its maximum before exponentiating. Below it exp() returns subnormal numbers,
# which make every later product many times slower on x86; the mass they carry (< 1e-30 of the total) is negligible.
MAX_CODE = 1000  # the highest category code accepted (codes are held as int16)
LOG_FLOOR = {np.dtype(np.float64): -600.0, np.dtype(np.float32): -70.0}


@dataclass(frozen=True, eq=False)
class ResponseData:
    """Checked responses: ``codes`` ``(N, J)`` int16 (−1 missing), frequency ``weights`` ``(N,)``, categories."""

    codes: np.ndarray
    weights: np.ndarray
    n_cat: np.ndarray
    ids: tuple[str, ...]
    n_dropped: int  # persons without any answered item (they carry no information and are left out)
    category_counts: np.ndarray  # (J, K_max) weighted number of answers in each category
    group: np.ndarray | None = None  # (N,) group code 0..G−1 per row (multiple-group calibration), else None
    group_labels: tuple[str, ...] = ()  # the label of each group code

    @property
    def n_groups(self) -> int:
        return max(len(self.group_labels), 1)

    @property
    def n_persons(self) -> float:
        """Number of persons (sum of the frequency weights)."""
        return float(self.weights.sum())


def collapse_patterns(codes: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct response patterns and their total weights (frequencies), patterns in lexicographic order."""
    w = np.ones(codes.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    patterns, inverse = np.unique(codes, axis=0, return_inverse=True)
    return patterns, np.bincount(inverse.reshape(-1), weights=w, minlength=patterns.shape[0])


def prepare_responses(
    responses: np.ndarray,
    *,
    item_ids: Sequence[str] | None = None,
    weights: np.ndarray | Sequence[float] | None = None,
    n_categories: Sequence[int] | np.ndarray | None = None,
    collapse: bool | None = None,
    fixed: Sequence[bool] | np.ndarray | None = None,
    groups: np.ndarray | None = None,
    group_labels: Sequence[str] = (),
) -> ResponseData:
    """Check and code a response matrix for calibration.

    Args:
        responses: ``(N, J)`` integers (negative = missing) or floats (NaN = missing); a pandas DataFrame works and
            gives the item ids.
        item_ids: ``J`` item identifiers (default: DataFrame columns, else ``Item.1..Item.J``).
        weights: optional ``(N,)`` non-negative frequency weights (e.g. pattern counts).
        n_categories: categories per item; default ``max observed code + 1`` (also for entries below 1).
        collapse: merge identical response patterns into one weighted row (default: when ``J ≤ 30``).
        fixed: ``(J,)`` items whose parameters are given (anchors): an unused category or a single observed category
            is allowed for them (nothing about them is estimated).
        groups: ``(N,)`` group codes ``0..G−1`` (multiple-group calibration), kept with their rows through dropping
            and pattern collapsing (patterns are merged within a group only); ``group_labels`` names the codes.

    Raises:
        InputError: wrong shape, non-integer codes, a code beyond an item's categories, an item nobody answered,
            an item with one observed category, or a category between 0 and the item's highest code that nobody used
            (its threshold would not be identified). Every problem names the item.
    """
    if item_ids is None and hasattr(responses, "columns"):
        item_ids = [str(c) for c in responses.columns]
    x = np.asarray(responses)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise InputError(f"responses must be a non-empty (persons, items) matrix; got shape {x.shape}")
    n, j = x.shape
    ids = tuple(f"Item.{i + 1}" for i in range(j)) if item_ids is None else tuple(str(i) for i in item_ids)
    if len(ids) != j:
        raise InputError(f"{len(ids)} item ids given for {j} response columns")
    if np.issubdtype(x.dtype, np.integer) or x.dtype == bool:
        if x.dtype.itemsize > 1 and int(x.max()) > MAX_CODE:
            col = int(np.argmax(x.max(axis=0)))
            raise InputError(
                Problem(f"code {int(x[:, col].max())} is not a plausible category", item_id=ids[col], column=ids[col])
            )
        codes = np.maximum(x, MISSING).astype(np.int16)  # any negative code means missing
    else:
        try:
            xf = x.astype(float)
        except (TypeError, ValueError) as err:
            raise InputError(f"responses must be numeric; got dtype {x.dtype}") from err
        miss = np.isnan(xf)
        filled = np.where(miss, 0.0, xf)
        bad = ~miss & ((filled != np.round(filled)) | (filled < 0))
        if bad.any():
            row, col = (int(v) for v in np.argwhere(bad)[0])
            raise InputError(
                Problem(
                    f"{int(bad.sum())} response(s) are not category codes 0, 1, 2, ...; first at row {row}: "
                    f"got {xf[row, col]!r}",
                    item_id=ids[col],
                    column=ids[col],
                )
            )
        if filled.max(initial=0.0) > MAX_CODE:
            col = int(np.argmax(filled.max(axis=0)))
            raise InputError(
                Problem(f"code {filled[:, col].max():g} is not a plausible category", item_id=ids[col], column=ids[col])
            )
        codes = np.where(miss, MISSING, filled).astype(np.int16)
    if weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(weights, dtype=float).reshape(-1)
        if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
            raise InputError(f"weights must be {n} finite non-negative numbers; got shape {w.shape}")
    highest = codes.max(axis=0).astype(np.int64)
    if n_categories is None:
        n_cat = np.maximum(highest + 1, 0)
    else:
        n_cat = np.broadcast_to(np.asarray(n_categories, dtype=np.int64), (j,)).copy()
        n_cat = np.where(n_cat < 1, np.maximum(highest + 1, 0), n_cat)
    given = np.zeros(j, bool) if fixed is None else np.broadcast_to(np.asarray(fixed, dtype=bool), (j,))
    problems: list[Problem] = []
    for col in np.flatnonzero(highest >= n_cat):  # error reporting only
        where = "the anchor parameters give the item" if given[col] else "the item has"
        problems.append(
            Problem(
                f"code {int(highest[col])} but {where} {int(n_cat[col])} categories (codes 0..{int(n_cat[col]) - 1})",
                item_id=ids[col],
                column=ids[col],
            )
        )
    answered = codes >= 0
    unit = bool((w == 1).all())
    counts = np.stack(
        [(codes == k).sum(axis=0) if unit else w @ (codes == k) for k in range(int(max(n_cat.max(), 1)))], axis=1
    ).astype(float)
    for col in range(j):  # error reporting only: one message per bad item
        kc = counts[col, : n_cat[col]]
        if not kc.any():
            problems.append(Problem("nobody answered this item", item_id=ids[col], column=ids[col]))
        elif given[col]:
            continue
        elif (kc > 0).sum() < 2:
            problems.append(
                Problem(
                    "every answer is in one category; the item carries no information",
                    item_id=ids[col],
                    column=ids[col],
                )
            )
        elif (kc == 0).any():
            empty = ", ".join(str(k) for k in np.flatnonzero(kc == 0))
            problems.append(
                Problem(
                    f"category {empty} of 0..{int(n_cat[col]) - 1} was never used; recode the item "
                    "(merge the empty category with a neighbour) or drop it",
                    item_id=ids[col],
                    column=ids[col],
                )
            )
    if problems:
        raise InputError(problems)
    grp = None if groups is None else np.asarray(groups, dtype=np.int16).reshape(-1)
    if grp is not None and grp.shape != (n,):
        raise InputError(f"{grp.size} group codes given for {n} response rows")
    keep = answered.any(axis=1) & (w > 0)
    n_dropped = int((~keep).sum())
    if n_dropped:
        codes, w = codes[keep], w[keep]
        grp = None if grp is None else grp[keep]
    if collapse is None:
        collapse = j <= 30
    if collapse:
        tagged = codes if grp is None else np.column_stack([grp, codes])
        tagged, w = collapse_patterns(tagged, w)
        codes = tagged.astype(np.int16) if grp is None else tagged[:, 1:].astype(np.int16)
        grp = None if grp is None else tagged[:, 0].astype(np.int16)
    return ResponseData(
        codes=codes,
        weights=w,
        n_cat=n_cat.astype(np.int64),
        ids=ids,
        n_dropped=n_dropped,
        category_counts=counts,
        group=grp,
        group_labels=tuple(group_labels) if grp is not None else (),
    )


@dataclass(frozen=True)
class EStep:
    """One E-step: marginal log-likelihood, expected counts ``r`` ``(Q, J, K)`` (all groups together) and the
    expected number of persons at each node, ``group_totals`` ``(G, Q)`` per group (``G = 1`` without groups)."""

    loglik: float
    counts: np.ndarray
    group_totals: np.ndarray

    @property
    def node_totals(self) -> np.ndarray:
        """``(Q,)`` expected persons per node over all groups."""
        return self.group_totals.sum(axis=0)


class Design:
    """The indicator design of a :class:`ResponseData`, in a chosen precision, dense or sparse."""

    def __init__(self, data: ResponseData, *, dtype: str | type = "auto", sparse: bool | None = None) -> None:
        codes = data.codes
        n, j = codes.shape
        self.n_cat = data.n_cat
        self.col_item = np.repeat(np.arange(j), data.n_cat - 1)
        self.col_cat = np.concatenate([np.arange(1, k) for k in data.n_cat])
        m = self.col_item.size
        cells = n * m
        if dtype == "auto":
            dtype = np.float32 if cells >= FLOAT32_FROM_CELLS else np.float64
        self.dtype = np.dtype(dtype)
        answered = codes >= 0
        self.complete = bool(answered.all())
        density = float(answered.mean())
        if sparse is None:
            sparse = cells >= SPARSE_FROM_CELLS and density <= SPARSE_MAX_DENSITY
        self.sparse = bool(sparse)
        if self.sparse:
            import scipy.sparse as sp  # only sparse designs need it

            rows, cols = np.nonzero(answered)
            x = codes[rows, cols].astype(np.int64)
            start = np.concatenate([[0], np.cumsum(data.n_cat - 1)])[:-1]  # first design column of each item
            pos = x > 0
            self.d = sp.csr_array(
                (np.ones(int(pos.sum()), dtype=self.dtype), (rows[pos], start[cols[pos]] + x[pos] - 1)), shape=(n, m)
            )
            self.s = sp.csr_array((np.ones(rows.size, dtype=self.dtype), (rows, cols)), shape=(n, j))
        else:
            self.d = np.ascontiguousarray(codes[:, self.col_item] == self.col_cat, dtype=self.dtype)
            self.s = None if self.complete else np.ascontiguousarray(answered, dtype=self.dtype)
        self.weights = data.weights
        self.group = data.group  # (n,) group code per row, or None (one group)
        self.n_groups = data.n_groups
        self.n_rows = n
        self.blocks = self._split()

    def _split(self) -> list[tuple[slice, np.ndarray | sp.csr_array, np.ndarray | sp.csr_array | None]]:
        """Row blocks ``(slice, D block, S block)``, cut once (a sparse row slice is a copy)."""
        rows = BLOCK_ROWS if self.dtype == np.float32 else DOUBLE_BLOCK_ROWS
        if self.n_rows <= rows:
            return [(slice(0, self.n_rows), self.d, self.s)]
        out = []
        for start in range(0, self.n_rows, rows):
            sl = slice(start, min(start + rows, self.n_rows))
            out.append((sl, self.d[sl], None if self.s is None else self.s[sl]))
        return out

    def with_dtype(self, dtype: type) -> Design:
        """The same design in another precision (``self`` when it already has it)."""
        if self.dtype == np.dtype(dtype):
            return self
        other = copy.copy(self)
        other.dtype = np.dtype(dtype)
        other.d = self.d.astype(dtype)
        other.s = None if self.s is None else self.s.astype(dtype)
        other.blocks = other._split()
        return other

    @staticmethod
    def _log_joint(
        d: np.ndarray, s: np.ndarray | None, vt: np.ndarray, lp0t: np.ndarray, const: np.ndarray
    ) -> np.ndarray:
        """``log f(x_n | θ_q) + log w_q`` for the persons of one block, ``(n, Q)``."""
        out = d @ vt
        if s is not None:
            out = out + s @ lp0t
        out += const
        return np.asarray(out)

    def _prepare(self, logp: np.ndarray, log_prior: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, ...]:
        """``log_prior`` is ``(Q,)``, or ``(G, Q)`` with one latent distribution per group; ``const`` has its shape."""
        lp0 = logp[:, :, 0]
        v = logp[:, self.col_item, self.col_cat] - lp0[:, self.col_item]
        vt = np.ascontiguousarray(v.T, dtype=dtype)
        lp0t = np.ascontiguousarray(lp0.T, dtype=dtype)
        const = log_prior + (lp0.sum(axis=1) if self.s is None else 0.0)
        return vt, lp0t, const.astype(dtype)

    def _row_const(self, const: np.ndarray, sl: slice) -> np.ndarray:
        """The latent log weights (plus constants) of the rows of one block: ``(Q,)`` for one group, else ``(n, Q)``."""
        if const.ndim == 1:
            return const
        return const[self.group[sl]] if self.group is not None else const[0]

    def _group_sums(self, post: np.ndarray, sl: slice) -> np.ndarray:
        """``(G, Q)`` sums of the (weighted) posterior rows of one block by group."""
        if self.group is None or self.n_groups == 1:
            return post.sum(axis=0, dtype=np.float64)[None, :]
        onehot = np.eye(self.n_groups, dtype=post.dtype)[self.group[sl]]  # (n, G): one BLAS product, no scatter
        return (onehot.T @ post).astype(np.float64)

    def _block_estep(
        self, block: tuple[slice, Any, Any], *, vt: np.ndarray, lp0t: np.ndarray, const: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray | None, np.ndarray]:
        """One block's share of the E-step: log-likelihood, expected design counts, answered counts, group totals."""
        sl, d, s = block
        lj = self._log_joint(d, s, vt, lp0t, self._row_const(const, sl))
        top = lj.max(axis=1, keepdims=True)
        lj -= top
        np.maximum(lj, LOG_FLOOR[lj.dtype], out=lj)
        np.exp(lj, out=lj)
        tot = lj.sum(axis=1)
        w = self.weights[sl]
        loglik = float(w @ (top[:, 0].astype(np.float64) + np.log(tot.astype(np.float64))))
        lj *= (w / tot).astype(lj.dtype)[:, None]  # weighted posterior
        return loglik, d.T @ lj, None if s is None else s.T @ lj, self._group_sums(lj, sl)

    def estep(self, logp: np.ndarray, log_prior: np.ndarray) -> EStep:
        """Posterior over the nodes for every person, summed into expected counts (no loop over persons or items).

        Args:
            logp: ``(Q, J, K)`` log category probabilities at the nodes (any finite value for absent categories).
            log_prior: ``(Q,)`` normalised log weights of the latent distribution, or ``(G, Q)`` one per group.
        """
        q, j, k = logp.shape
        vt, lp0t, const = self._prepare(logp, log_prior, self.dtype)
        big_r = np.zeros((vt.shape[0], q))
        r0 = np.zeros((j, q)) if self.s is not None else None
        totals = np.zeros((self.n_groups, q))
        loglik = 0.0
        for part_loglik, part_r, part_r0, part_totals in _map_blocks(
            partial(self._block_estep, vt=vt, lp0t=lp0t, const=const), self.blocks
        ):  # summed in block order whatever the threads: the same numbers on any machine
            loglik += part_loglik
            big_r += part_r
            if r0 is not None:
                r0 += part_r0
            totals += part_totals
        counts = np.zeros((q, j, k))
        counts[:, self.col_item, self.col_cat] = big_r.T
        rest = counts[:, :, 1:].sum(axis=2)
        all_groups = totals.sum(axis=0)
        counts[:, :, 0] = np.maximum((all_groups[:, None] if r0 is None else r0.T) - rest, 0.0)
        return EStep(loglik=loglik, counts=counts, group_totals=totals)

    def posterior_blocks(
        self, logp: np.ndarray, log_prior: np.ndarray
    ) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
        """Yield ``(slice, posterior (n, Q), per-person log-likelihood (n,))`` in double precision, block by block."""
        vt, lp0t, const = self._prepare(logp, log_prior, np.dtype(np.float64))
        for sl, d, s in self.blocks:
            lj = self._log_joint(
                d.astype(np.float64), None if s is None else s.astype(np.float64), vt, lp0t, self._row_const(const, sl)
            )
            top = lj.max(axis=1, keepdims=True)
            post = np.exp(np.maximum(lj - top, LOG_FLOOR[np.dtype(np.float64)]))
            tot = post.sum(axis=1)
            post /= tot[:, None]
            yield sl, post, top[:, 0] + np.log(tot)


def _map_blocks(fn: Callable[[Any], _T], blocks: Sequence[Any]) -> list[_T]:
    """``fn`` over the row blocks, in block order; on the process's cores when there are several blocks and BLAS
    runs one thread (numpy's products and ufuncs release the GIL).

    The pool takes the place of BLAS's own threads (``digiskill`` commands set ``OPENBLAS_NUM_THREADS=1``); when
    BLAS may use several threads, the blocks run one after another, as threads on top of BLAS's would oversubscribe
    the cores. The numbers are the same either way.
    """
    if len(blocks) < 2 or not _blas_single_threaded():
        return [fn(b) for b in blocks]
    return list(_block_pool().map(fn, blocks))


def _blas_single_threaded() -> bool:
    """Whether the environment limits BLAS to one thread (read by numpy's OpenBLAS, or MKL, when they load)."""
    return any(os.environ.get(name) == "1" for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"))


@cache
def _block_pool() -> ThreadPoolExecutor:
    """One pool per process, as many threads as cores this process may use."""
    from concurrent.futures import ThreadPoolExecutor  # with logging: 10 ms, only for data of several blocks

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return ThreadPoolExecutor(max_workers=max(1, cores), thread_name_prefix="digiskill-estep")
