"""Simulated respondents: draw a score category from the IRT model, and turn a score into a typed answer.

* :func:`draw_categories` (from :mod:`digiskill.irt.sampling`): ``x = #{k : u > P(X ≤ k | θ)}`` with
  ``u ~ U(0, 1)``, one uniform per response, drawn from the caller's Generator.
* :class:`SimulatedPerson`: a person of ability θ who answers content items by choosing options (draw a score,
  then options with that score); every draw comes from one Generator.
* :func:`answer_with_score`: option ids a person could have chosen that score exactly ``score`` by the item's
  rule (:func:`digiskill.bank.content.score_response`). A simulated person answers like a real one: it picks
  options, and the options are scored; no shortcut maps a category to an answer.

  - single choice / true-false: the key for 1, one of the wrong options (uniformly) for 0;
  - multiple response (score ``max(0, right − wrong)``): ``s`` keys drawn uniformly for ``s ≥ 1``; for 0 one wrong
    option, with up to as many keys as wrong options ticked (never more);
  - ordering: the key order for 1, a uniformly drawn other order for 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..bank.content import Item, item_categories, score_response
from ..bank.parameters import ParameterSet
from ..errors import InputError, Problem
from ..irt.items import ItemArrays
from ..irt.response import probability
from ..irt.sampling import draw_categories  # re-exported: the sampler lives in irt


def simulate_category(theta: float, items: ItemArrays, rng: np.random.Generator) -> np.ndarray:
    """One simulated response per item of ``items`` by a person of ability ``theta`` (codes ``0..K−1``)."""
    return draw_categories(probability(np.asarray([float(theta)]), items)[0], rng, items.n_cat)


def answer_with_score(item: Item, score: int, rng: np.random.Generator) -> str | list[str]:
    """Option ids that score exactly ``score`` on ``item`` (a str for single choice and true-false).

    Raises:
        InputError: ``score`` is not one of the item's categories.
    """
    n_cat = item_categories(item)
    if isinstance(score, bool) or not isinstance(score, int | np.integer) or not 0 <= score < n_cat:
        raise InputError(Problem(f"score {score!r} is not a category of the item (0..{n_cat - 1})", item_id=item.id))
    options = list(item.option_ids)
    wrong = [o for o in options if o not in item.key]
    if item.format in ("single_choice", "true_false"):
        answer: str | list[str] = item.key[0] if score == 1 else wrong[int(rng.integers(len(wrong)))]
    elif item.format == "multiple_response":
        if score > 0:
            answer = [str(k) for k in rng.choice(item.key, size=int(score), replace=False)]
        else:
            n_wrong = int(rng.integers(1, len(wrong) + 1))
            n_keys = int(rng.integers(0, min(n_wrong, len(item.key)) + 1))
            picks = [*rng.choice(wrong, size=n_wrong, replace=False), *rng.choice(item.key, size=n_keys, replace=False)]
            answer = sorted(str(p) for p in picks)
    elif score == 1:
        answer = list(item.key)
    else:
        while (answer := [options[i] for i in rng.permutation(len(options))]) == list(item.key):
            pass
    assert score_response(item, answer) == score  # the answer scores what was asked for
    return answer


class SimulatedPerson:
    """A person of ability ``theta`` answering items of ``params`` by choosing options.

    ``seed``: a Generator, or an int / sequence of ints for ``numpy.random.default_rng`` (one stream for all draws).
    """

    def __init__(self, theta: float, params: ParameterSet, seed: np.random.Generator | int | Sequence[int] = 0) -> None:
        if not np.isfinite(theta):
            raise InputError(Problem(f"a simulated person needs a finite ability, got {theta}"))
        self.theta, self.params = float(theta), params
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(list(np.atleast_1d(seed)))

    def choose(self, item: Item) -> str | list[str]:
        """The option id(s) this person chooses for ``item`` (scored by the item's rule, they give a drawn score)."""
        category = int(simulate_category(self.theta, self.params.to_arrays([item.id]), self.rng)[0])
        return answer_with_score(item, category, self.rng)
