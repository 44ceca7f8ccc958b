"""Items with given parameters: the anchors of a fixed-item calibration and the start values of an EM run.

Plain arrays (no file format): :meth:`digiskill.bank.ParameterSet.as_fixed_items` makes one from a parameter-set
file, and :meth:`FixedItems.from_result` from an earlier :class:`~digiskill.calibrate.CalibrationResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..irt.items import ItemArrays

if TYPE_CHECKING:
    from .result import CalibrationResult


@dataclass(frozen=True, eq=False)
class FixedItems:
    """Item parameters in IRT form with their model names.

    Attributes:
        params: the items (``a``, ``b``, lower ``c``, upper ``d``, ``n_cat``, ``ids``).
        models: model name per item (``rasch``, ``1pl``, ``2pl``, ``3pl``, ``4pl``, ``grm``, ``gpcm``, ``pcm``).
        name: what the items are called in messages (e.g. the id of the parameter set they come from).
        origin: the object they were made from (e.g. a parameter set), kept for whoever writes a result back to that
            format; the calibration never reads it.
    """

    params: ItemArrays
    models: tuple[str, ...]
    name: str = "fixed items"
    origin: object = None

    def __post_init__(self) -> None:
        if len(self.models) != self.params.n_items:
            raise ValueError(f"FixedItems: {len(self.models)} model names for {self.params.n_items} items")

    @classmethod
    def from_result(cls, result: CalibrationResult, name: str = "start") -> FixedItems:
        """The estimates of an earlier calibration (IRT form, in its column order)."""
        return cls(result.params, result.models, name)

    @property
    def ids(self) -> tuple[str, ...]:
        return self.params.ids

    def take(self, item_ids: Sequence[str]) -> FixedItems:
        """The items ``item_ids`` (all of them present), in that order."""
        idx = np.array([self.params.index[i] for i in item_ids], dtype=np.int64)
        return FixedItems(self.params.subset(idx), tuple(self.models[i] for i in idx), self.name, self.origin)

    def with_ids(self, idx: Sequence[int] | np.ndarray, ids: Sequence[str]) -> FixedItems:
        """The items at positions ``idx`` (repeats allowed) renamed ``ids``: e.g. one item's parameters as the
        start of two columns."""
        sub = self.params.subset(idx)
        params = ItemArrays(family=sub.family, a=sub.a, b=sub.b, c=sub.c, d=sub.d, n_cat=sub.n_cat, ids=tuple(ids))
        return FixedItems(params, tuple(self.models[i] for i in np.asarray(idx, dtype=np.int64)), self.name)
