"""A bank = item content + one parameter set + the level cut scores on its scales; and the bundled default bank.

The default bank ships inside the package (``digiskill/data/``: the ``items/`` content, the provisional parameter set
and its cut scores), so :func:`load_default` works after a normal ``pip install``, not only from a checkout.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import as_file, files
from pathlib import Path

from ..errors import InputError, Problem
from .content import BankContent, load_bank_content
from .cut_scores import CutScores, load_cut_scores
from .parameters import ParameterSet, load_parameter_set

DEFAULT_PARAMS = "default-params.json"
DEFAULT_CUTS = "default-cut-scores.json"


@dataclass(frozen=True, eq=False)
class Bank:
    """Everything needed to test and report: content, parameters and cut scores, checked against each other."""

    content: BankContent
    params: ParameterSet
    cut_scores: CutScores

    def __post_init__(self) -> None:
        problems = []
        areas = {af.content.area: {it.id for it in af.content.items} for af in self.content.area_files}
        item_area = {i: a for a, ids in areas.items() for i in ids}
        for it in self.params.items:
            if it.id not in item_area:
                problems.append(Problem("parameters for an item that is not in the content", item_id=it.id))
            elif it.area != item_area[it.id]:
                problems.append(
                    Problem(f"area {it.area!r} in the parameters, {item_area[it.id]!r} in the content", item_id=it.id)
                )
        if self.cut_scores.parameter_set != self.params.id:
            problems.append(
                Problem(f"cut scores are for parameter set {self.cut_scores.parameter_set!r}, not {self.params.id!r}")
            )
        if problems:
            raise InputError(problems)

    @property
    def provisional(self) -> bool:
        return self.params.provisional

    @property
    def version(self) -> str:
        """Framework version and parameter-set id, cited by every result."""
        return f"framework {self.content.framework.version}, parameters {self.params.id}"

    @cached_property
    def content_digest(self) -> str:
        """SHA-256 over the content files (framework, profiles, area files, in name order), hex."""
        h = hashlib.sha256()
        folder = self.content.folder
        files_ = [folder / "framework.yaml", folder / "profiles.yaml", *sorted((folder / "areas").glob("*.yaml"))]
        for path in files_:
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return h.hexdigest()

    @cached_property
    def areas(self) -> list[str]:
        """Areas that have calibrated items, in framework order."""
        present = {it.area for it in self.params.items}
        return [a for a in self.content.framework.area_ids if a in present]


def load_bank(items_dir: str | Path, params_path: str | Path, cuts_path: str | Path) -> Bank:
    """Load and cross-check a bank from its three parts."""
    cuts = load_cut_scores(cuts_path)
    return Bank(load_bank_content(items_dir), load_parameter_set(params_path), cuts)


def load_default() -> Bank:
    """The bundled default bank (provisional parameters until a real pilot has been calibrated).

    Read once per process while its files stay as they are: a later call returns the same (immutable) bank unless a
    file's size or modification time has changed. Parsing and checking the 288 items takes about 0.25 s.
    """
    data = files("digiskill") / "data"
    with as_file(data) as folder:
        parts = (folder / "items", folder / DEFAULT_PARAMS, folder / DEFAULT_CUTS)
        signature = _signature(parts)
        cached = _DEFAULT_BANK.get(str(folder))
        if cached is not None and cached[0] == signature:
            return cached[1]
        bank = load_bank(*parts)
        _DEFAULT_BANK[str(folder)] = (signature, bank)
        return bank


_DEFAULT_BANK: dict[str, tuple[tuple[tuple[str, int, int], ...], Bank]] = {}


def _signature(parts: tuple[Path, ...]) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of every file of the bank's parts (folders walked in name order)."""
    paths = sorted(f for part in parts for f in ([part] if part.is_file() else part.rglob("*")) if f.is_file())
    return tuple((str(f), (st := f.stat()).st_size, st.st_mtime_ns) for f in paths)
