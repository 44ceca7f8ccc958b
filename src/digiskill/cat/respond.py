"""Simulated respondents: draw a score category from the IRT model, and turn a score into a typed answer.

* :func:`draw_categories`: ``x = #{k : u > P(X ≤ k | θ)}`` with ``u ~ U(0, 1)``, for any array of category
  probabilities ``(..., K)``: one uniform per response, drawn from the caller's Generator.
* :func:`answer_with_score`: option ids a person could have chosen that score exactly ``score`` by the item's
  rule (:func:`digiskill.bank.content.score_response`). A simulated person answers like a real one: it picks
  options, and the options are scored; no shortcut maps a category to an answer.

  - single choice / true-false: the key for 1, one of the wrong options (uniformly) for 0;
  - multiple response (score ``max(0, right − wrong)``): ``s`` keys drawn uniformly for ``s ≥ 1``; for 0 one wrong
    option, with up to as many keys as wrong options ticked (never more);
  - ordering: the key order for 1, a uniformly drawn other order for 0.
"""

from __future__ import annotations

import numpy as np

from ..bank.content import Item, item_categories, score_response
from ..errors import InputError, Problem
from ..irt.items import ItemArrays
from ..irt.response import probability


def draw_categories(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Category codes drawn from probabilities ``p`` of shape ``(..., K)`` (rows sum to 1); shape ``p.shape[:-1]``."""
    cum = np.cumsum(p, axis=-1)
    u = rng.random((*p.shape[:-1], 1))
    return (u > cum).sum(axis=-1)


def simulate_category(theta: float, items: ItemArrays, rng: np.random.Generator) -> np.ndarray:
    """One simulated response per item of ``items`` by a person of ability ``theta`` (codes ``0..K−1``)."""
    return draw_categories(probability(np.asarray([float(theta)]), items)[0], rng)


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
