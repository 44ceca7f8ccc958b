"""Content balancing of DigComp competences within an area (Kingsbury–Zara), in sessions and in simulation."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np

from digiskill.bank.default import load_default
from digiskill.cat.arrays import CatBank
from digiskill.cat.config import CatConfig, ContentBalancing, StoppingRules
from digiskill.cat.session import answer, next_item, start_session
from digiskill.cat.simulate import simulate


def _config(**balancing) -> CatConfig:
    return CatConfig(
        balancing=ContentBalancing(competences=True, **balancing),
        stopping=StoppingRules(se_target=None, min_items_per_area=0, max_items_per_area=12),
    )


def _run_session(bank: CatBank, params, config: CatConfig, area: str, respond) -> list[str]:
    s = start_session(bank, config, seed=3, areas=[area])
    while (item := next_item(s, bank)) is not None:
        s = answer(s, bank, item, respond(item))
    return [step.item for step in s.steps]


def test_session_alternates_competences_to_meet_equal_targets() -> None:
    params = load_default().params
    comp = {it.id: it.competence for it in params.items}
    config = _config()
    bank = CatBank.from_parameters(params, config)
    items = _run_session(bank, params, config, "security_gdpr", lambda item: 1)  # areas with 4.1 and 4.2
    counts = Counter(comp[i] for i in items)
    assert counts == {"4.1": 6, "4.2": 6}
    # Kingsbury–Zara alternates between the two competences after the first item
    seq = [comp[i] for i in items]
    assert all(a != b for a, b in itertools.pairwise(seq))


def test_unequal_targets_are_met_and_unbalanced_choice_differs() -> None:
    params = load_default().params
    comp = {it.id: it.competence for it in params.items}
    config = _config(competence_targets={"5.1": 1, "5.2": 1, "5.3": 1, "5.4": 1})
    bank = CatBank.from_parameters(params, config)
    items = _run_session(bank, params, config, "workflows", lambda item: 0)
    assert Counter(comp[i] for i in items) == {"5.1": 3, "5.2": 3, "5.3": 3, "5.4": 3}
    plain = CatConfig(stopping=StoppingRules(se_target=None, min_items_per_area=0, max_items_per_area=12))
    unbalanced = _run_session(CatBank.from_parameters(params, plain), params, plain, "workflows", lambda item: 0)
    assert Counter(comp[i] for i in unbalanced) != Counter(comp[i] for i in items)


def test_lockstep_simulation_balances_like_the_session() -> None:
    params = load_default().params
    comp = np.array([params.items_by_id()[i].competence for i in params.item_ids])
    config = _config()
    sim = simulate(params, config, n=200, seed=5)
    run = next(r for r in sim.runs if r.area == "security_gdpr")
    bank = CatBank.from_parameters(params, config)
    ab = bank.areas["security_gdpr"]
    given = comp[ab.index][run.items]  # (N, 12) competences of the items given
    assert np.all((given == "4.1").sum(axis=1) == 6) and np.all((given == "4.2").sum(axis=1) == 6)
