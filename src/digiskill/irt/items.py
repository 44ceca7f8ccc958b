"""A whole item bank as a structure of arrays.

One :class:`ItemArrays` holds every item of a bank so that one call evaluates all items at once. Three item
families are supported, all in the logistic metric (no 1.702 constant):

* ``DICHOTOMOUS`` (1PL, 2PL, 3PL, 4PL, Rasch): ``P(X=1 | θ) = c + (d − c) / (1 + exp(−a(θ − b)))`` with slope ``a``,
  difficulty ``b``, lower asymptote ``c`` and upper asymptote ``d``. Two categories.
* ``GRADED`` (Samejima's graded response model): ``P(X ≥ k | θ) = 1 / (1 + exp(−a(θ − b_k)))`` for
  ``k = 1..K−1`` with strictly increasing thresholds ``b_k``; ``P(X = k) = P(X ≥ k) − P(X ≥ k+1)``.
* ``PARTIAL_CREDIT`` (generalized partial credit; PCM is GPCM with ``a = 1``):
  ``P(X = k | θ) ∝ exp(Σ_{v=1..k} a(θ − b_v))`` with step parameters ``b_v`` (IRT form, as R mirt's
  ``IRTpars = TRUE``); the empty sum for ``k = 0`` is zero.

Thresholds and steps are stored in one ``(J, K_max − 1)`` array padded with NaN; ``n_cat`` gives each item's number
of categories. For a dichotomous item ``b[:, 0]`` is its difficulty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

DICHOTOMOUS = 0
GRADED = 1
PARTIAL_CREDIT = 2
FAMILY_NAMES = ("dichotomous", "graded", "partial_credit")


@dataclass(frozen=True, eq=False)
class ItemArrays:
    """Parameters of ``J`` items, one array per parameter.

    Attributes:
        family: ``(J,)`` family code per item (``DICHOTOMOUS``, ``GRADED`` or ``PARTIAL_CREDIT``).
        a: ``(J,)`` slopes.
        b: ``(J, K_max − 1)`` difficulties / thresholds / steps, NaN beyond an item's own ``n_cat − 1``.
        c: ``(J,)`` lower asymptotes (0 for polytomous items).
        d: ``(J,)`` upper asymptotes (1 for polytomous items).
        n_cat: ``(J,)`` number of response categories (2 for dichotomous items).
        ids: item identifiers, ``J`` strings.
    """

    family: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    n_cat: np.ndarray
    ids: tuple[str, ...]

    def __post_init__(self) -> None:
        j = len(self.ids)
        shapes = {
            "family": self.family.shape,
            "a": self.a.shape,
            "c": self.c.shape,
            "d": self.d.shape,
            "n_cat": self.n_cat.shape,
        }
        bad = {k: s for k, s in shapes.items() if s != (j,)}
        if bad or self.b.ndim != 2 or self.b.shape[0] != j:
            raise ValueError(f"ItemArrays: all parameter arrays need {j} items; got shapes {shapes}, b {self.b.shape}")
        if j and self.b.shape[1] != int(self.n_cat.max()) - 1:
            raise ValueError(f"ItemArrays: b has {self.b.shape[1]} columns, expected max(n_cat) - 1")
        for name in ("family", "a", "b", "c", "d", "n_cat"):
            getattr(self, name).flags.writeable = False

    # ------------------------------------------------------------------ constructors
    @classmethod
    def dichotomous(
        cls,
        a: Sequence[float] | np.ndarray,
        b: Sequence[float] | np.ndarray,
        c: Sequence[float] | np.ndarray | None = None,
        d: Sequence[float] | np.ndarray | None = None,
        ids: Sequence[str] | None = None,
    ) -> ItemArrays:
        """Dichotomous items in IRT form (``a``, ``b``, lower ``c``, upper ``d``)."""
        b_arr = np.asarray(b, dtype=float).reshape(-1)
        j = b_arr.size
        a_arr = np.broadcast_to(np.asarray(a, dtype=float), (j,)).copy()
        c_arr = np.zeros(j) if c is None else np.broadcast_to(np.asarray(c, dtype=float), (j,)).copy()
        d_arr = np.ones(j) if d is None else np.broadcast_to(np.asarray(d, dtype=float), (j,)).copy()
        return cls(
            family=np.full(j, DICHOTOMOUS, dtype=np.int8),
            a=a_arr,
            b=b_arr[:, None].copy(),
            c=c_arr,
            d=d_arr,
            n_cat=np.full(j, 2, dtype=np.int64),
            ids=_default_ids(ids, j),
        )

    @classmethod
    def polytomous(
        cls,
        family: int,
        a: Sequence[float] | np.ndarray,
        b: Sequence[Sequence[float]],
        ids: Sequence[str] | None = None,
    ) -> ItemArrays:
        """Graded (``family=GRADED``) or partial-credit (``family=PARTIAL_CREDIT``) items.

        ``b`` is a list of per-item threshold (GRM) or step (GPCM) lists, possibly of different lengths.
        """
        if family not in (GRADED, PARTIAL_CREDIT):
            raise ValueError(f"polytomous family must be GRADED or PARTIAL_CREDIT, got {family}")
        rows = [np.asarray(r, dtype=float).reshape(-1) for r in b]
        j = len(rows)
        n_cat = np.array([r.size + 1 for r in rows], dtype=np.int64)
        width = int(n_cat.max()) - 1 if j else 1
        b_arr = np.full((j, width), np.nan)
        for i, r in enumerate(rows):  # construction only, not a hot path
            b_arr[i, : r.size] = r
        return cls(
            family=np.full(j, family, dtype=np.int8),
            a=np.broadcast_to(np.asarray(a, dtype=float), (j,)).copy(),
            b=b_arr,
            c=np.zeros(j),
            d=np.ones(j),
            n_cat=n_cat,
            ids=_default_ids(ids, j),
        )

    @classmethod
    def concat(cls, parts: Sequence[ItemArrays]) -> ItemArrays:
        """Join several item sets into one bank, in order."""
        width = max(int(p.n_cat.max()) - 1 for p in parts)
        b = np.full((sum(p.n_items for p in parts), width), np.nan)  # NaN where an item has fewer thresholds
        row = 0
        for p in parts:  # a handful of item sets
            b[row : row + p.n_items, : p.b.shape[1]] = p.b
            row += p.n_items
        return cls(
            family=np.concatenate([p.family for p in parts]),
            a=np.concatenate([p.a for p in parts]),
            b=b,
            c=np.concatenate([p.c for p in parts]),
            d=np.concatenate([p.d for p in parts]),
            n_cat=np.concatenate([p.n_cat for p in parts]),
            ids=tuple(i for p in parts for i in p.ids),
        )

    # ------------------------------------------------------------------ views
    @property
    def n_items(self) -> int:
        return len(self.ids)

    @property
    def max_cat(self) -> int:
        """The largest number of categories of any item (``K_max``)."""
        return int(self.n_cat.max())

    @property
    def max_score(self) -> np.ndarray:
        """``(J,)`` highest category code per item (``n_cat − 1``)."""
        return self.n_cat - 1

    @cached_property
    def family_index(self) -> dict[int, np.ndarray]:
        """Item indices of each family present in the bank (families by a set: ``np.unique`` imports numpy.ma)."""
        return {f: np.flatnonzero(self.family == f) for f in sorted(set(self.family.tolist()))}

    def family_subset(self, family: int) -> ItemArrays:
        """The items of one family (cached), in bank order."""
        cache = self.__dict__.setdefault("_family_subsets", {})
        if family not in cache:
            cache[family] = self.subset(self.family_index[family])
        return cache[family]

    @cached_property
    def index(self) -> dict[str, int]:
        """Position of each item id."""
        return {item_id: i for i, item_id in enumerate(self.ids)}

    def subset(self, idx: Sequence[int] | np.ndarray) -> ItemArrays:
        """The items at positions ``idx`` (in that order), with ``b`` trimmed to their own ``K_max``."""
        idx = np.asarray(idx, dtype=np.int64)
        n_cat = self.n_cat[idx]
        width = int(n_cat.max()) - 1 if idx.size else 1
        return ItemArrays(
            family=self.family[idx].copy(),
            a=self.a[idx].copy(),
            b=self.b[idx, :width].copy(),
            c=self.c[idx].copy(),
            d=self.d[idx].copy(),
            n_cat=n_cat.copy(),
            ids=tuple(self.ids[i] for i in idx),
        )


def _default_ids(ids: Sequence[str] | None, j: int) -> tuple[str, ...]:
    if ids is None:
        return tuple(f"Item.{i + 1}" for i in range(j))
    ids = tuple(str(i) for i in ids)
    if len(ids) != j:
        raise ValueError(f"{len(ids)} item ids given for {j} items")
    return ids
