"""Adaptive testing core: item choices against hand-computed criteria, catR conventions, sessions, stopping, balancing.

Brute-force references are written out per item with plain loops and scipy, independently of the vectorised kernels.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import norm
from typer.testing import CliRunner

from digiskill.bank.parameters import ParameterSet, load_parameter_set
from digiskill.cat import (
    CatBank,
    CatConfig,
    ContentBalancing,
    ExposureControl,
    SelectionRule,
    Session,
    StartRule,
    StoppingRules,
    answer,
    next_item,
    next_step,
    start_session,
)
from digiskill.cat.select import History, choose
from digiskill.cli.main import app
from digiskill.errors import InputError
from digiskill.irt import item_information, probability

ROOT = Path(__file__).resolve().parents[1]
LSAT7 = ROOT / "examples" / "lsat7" / "params-mirt.json"
RULES = ("mfi", "kl", "klp", "mepv", "astrat", "cut_info")


# ------------------------------------------------------------------------------------------------------ helpers
def make_params(items: list[dict], set_id: str = "test-set") -> ParameterSet:
    return ParameterSet.model_validate(
        {
            "schema": "digiskill.parameters/1",
            "id": set_id,
            "created": datetime(2026, 1, 1, tzinfo=UTC),
            "engine": "test",
            "items": items,
        }
    )


def bank_2pl(n: int = 40, seed: int = 3, areas: tuple[str, ...] | None = None, model: str = "2pl") -> ParameterSet:
    rng = np.random.default_rng(seed)
    items = []
    for j in range(n):
        it = {
            "id": f"Q{j:03d}",
            "model": model,
            "a": round(float(np.exp(rng.normal(0, 0.3))), 4),
            "b": round(float(rng.normal(0, 1)), 4),
        }
        if model == "3pl":
            it["c"] = round(float(rng.uniform(0.05, 0.25)), 3)
        if areas:
            it["area"] = areas[j % len(areas)]
        items.append(it)
    return make_params(items)


def mixed_bank() -> ParameterSet:
    """Dichotomous, graded and partial-credit items in one area."""
    rng = np.random.default_rng(11)
    items = []
    for j in range(12):
        items.append(
            {"id": f"D{j}", "model": "3pl", "a": float(rng.uniform(0.6, 2)), "b": float(rng.normal()), "c": 0.15}
        )
        items.append(
            {
                "id": f"G{j}",
                "model": "grm",
                "a": float(rng.uniform(0.6, 2)),
                "b": sorted(float(x) for x in rng.normal(0, 1, 3)),
            }
        )
        items.append(
            {
                "id": f"P{j}",
                "model": "gpcm",
                "a": float(rng.uniform(0.6, 2)),
                "b": [float(x) for x in rng.normal(0, 1, 2)],
            }
        )
    return make_params(items, "mixed")


def run_session(params, config, seed, respond, bank=None, areas=None) -> Session:
    bank = bank or CatBank.from_parameters(params, config)
    s = start_session(bank, config, seed=seed, areas=areas)
    while (item := next_item(s, bank)) is not None:
        s = answer(s, bank, item, respond(item))
    return s


def simulee(params: ParameterSet, theta: float, seed: int):
    """Responses of a simulee with ability ``theta`` (one draw per item, fixed in advance)."""
    arr = params.to_arrays()
    p = probability(theta, arr)  # (J, K)
    u = np.random.default_rng(seed).random(arr.n_items)
    codes = (p.cumsum(axis=1) < u[:, None]).sum(axis=1)
    by_id = dict(zip(arr.ids, codes.tolist(), strict=True))
    return lambda item: by_id[item]


def brute_posterior(params: ParameterSet, ids, resp, points, log_w):
    """Log-likelihood and normalised posterior on the grid, item by item."""
    arr = params.to_arrays()
    ll = np.zeros(points.size)
    for i, x in zip(ids, resp, strict=True):
        ll += np.log(probability(points, arr.subset([arr.index[i]]))[:, 0, x])
    post = np.exp(ll + log_w)
    return ll, post / post.sum()


# ------------------------------------------------------------------------------------------------ selection
def test_mfi_picks_the_argmax_of_hand_computed_2pl_information() -> None:
    params = bank_2pl(60)
    cfg = CatConfig(start=StartRule(theta=0.7))
    bank = CatBank.from_parameters(params, cfg)
    a = np.array([it.a for it in params.items])
    b = np.array([it.b for it in params.items])
    p = 1 / (1 + np.exp(-a * (0.7 - b)))
    expected = int(np.argmax(a**2 * p * (1 - p)))
    s = start_session(bank, seed=0)
    assert next_item(s, bank) == params.items[expected].id
    s = answer(s, bank, params.items[expected].id, 1)
    logged = [c.value for c in s.steps[0].candidates]
    assert logged == pytest.approx(np.sort(a**2 * p * (1 - p))[::-1][:5], rel=1e-12)
    # after the answer: at the EAP, without the answered item
    theta = s.areas[0].theta
    p = 1 / (1 + np.exp(-a * (theta - b)))
    info = np.where(np.arange(60) == expected, -1, a**2 * p * (1 - p))
    assert next_item(s, bank) == params.items[int(np.argmax(info))].id


def test_mfi_on_3pl_and_polytomous_matches_irt_information() -> None:
    for params in (bank_2pl(30, model="3pl"), mixed_bank()):
        r = next_step(params, [], [], rule="mfi")
        info = item_information(-0.5, params.to_arrays())  # gentle start θ
        assert r.next_item == params.items[int(np.argmax(info))].id
        assert r.candidates[0].value == pytest.approx(info.max(), rel=1e-10)


def test_catr_grid_eap_equals_a_direct_trapezoid_integral() -> None:
    params = load_parameter_set(LSAT7)
    ids, resp = ["Item.3", "Item.1", "Item.5"], [1, 0, 1]
    r = next_step(params, ids, resp, config=CatConfig.catr(stopping=StoppingRules.exhaustion_only()))
    x = np.linspace(-4, 4, 33)
    like = np.ones_like(x)
    for i, u in zip(ids, resp, strict=True):
        it = params.items_by_id()[i]
        p = expit(it.a * (x - it.b))
        like *= p if u else 1 - p
    f = like * norm.pdf(x)
    eap = np.trapezoid(x * f, x) / np.trapezoid(f, x)
    se = np.sqrt(np.trapezoid((x - eap) ** 2 * f, x) / np.trapezoid(f, x))
    assert r.theta == pytest.approx(eap, abs=1e-12)
    assert r.se == pytest.approx(se, abs=1e-12)


@pytest.mark.parametrize("rule", ["kl", "klp", "mepv"])
@pytest.mark.parametrize("preset", ["default", "catr"])
def test_kl_klp_mepv_pick_what_a_per_item_brute_force_picks(rule: str, preset: str) -> None:
    params = mixed_bank() if preset == "default" else bank_2pl(50, model="3pl")
    blocks = {"selection": SelectionRule(rule=rule), "stopping": StoppingRules.exhaustion_only()}
    cfg = CatConfig.catr(**blocks) if preset == "catr" else CatConfig(**blocks)
    arr = params.to_arrays()
    ids = [params.items[j].id for j in (0, 4, 7, 9)]
    resp = [1, 0, 1, 1]
    r = next_step(params, ids, resp, config=cfg)
    q = cfg.quadrature
    x = np.linspace(*q.bounds, q.n_points)
    trap = np.ones_like(x)
    if q.rule == "trapezoid":
        trap[[0, -1]] = 0.5
    ll, post = brute_posterior(params, ids, resp, x, np.log(trap * norm.pdf(x)))
    theta = r.theta
    values = {}
    for j, item_id in enumerate(arr.ids):
        if item_id in ids:
            continue
        one = arr.subset([j])
        k = int(arr.n_cat[j])
        p_hat = probability(theta, one)[0, :k]
        p_grid = probability(x, one)[:, 0, :k]
        if rule in ("kl", "klp"):
            w = trap * np.exp(ll) * (norm.pdf(x) if rule == "klp" else 1.0)
            kl_q = [sum(p_hat[c] * np.log(p_hat[c] / p_grid[g, c]) for c in range(k)) for g in range(x.size)]
            values[item_id] = float(np.dot(w, kl_q) / w.sum())
        else:
            epv = 0.0
            for c in range(k):
                pc = post * p_grid[:, c]
                pc = pc / pc.sum()
                m = pc @ x
                epv += p_hat[c] * (pc @ (x - m) ** 2)
            values[item_id] = -epv
    best = max(values, key=values.get)
    assert r.next_item == best
    sign = -1 if rule == "mepv" else 1
    for cand in r.candidates:
        assert cand.value == pytest.approx(sign * values[cand.item], rel=1e-9, abs=1e-12)


def test_astrat_starts_in_the_lowest_a_stratum_with_b_closest_to_theta() -> None:
    params = bank_2pl(40)
    cfg = CatConfig(selection=SelectionRule(rule="astrat", strata=4), stopping=StoppingRules(max_items_per_area=8))
    s = run_session(params, cfg, 0, simulee(params, 0.3, 1))
    a = {it.id: it.a for it in params.items}
    order = sorted(a, key=lambda i: a[i])
    strata = {i: k * 4 // 40 for k, i in enumerate(order)}
    assert [strata[st.item] for st in s.steps] == [0, 0, 1, 1, 2, 2, 3, 3]
    first = min((i for i in a if strata[i] == 0), key=lambda i: abs(params.items_by_id()[i].b + 0.5))
    assert s.steps[0].item == first


def test_cut_info_picks_the_most_informative_item_at_the_cut() -> None:
    params = bank_2pl(30)
    r = next_step(
        params,
        ["Q000"],
        [1],
        config=CatConfig(
            selection=SelectionRule(rule="cut_info"), cut_score=1.2, stopping=StoppingRules.exhaustion_only()
        ),
    )
    info = item_information(1.2, params.to_arrays())
    info[0] = -1
    assert r.next_item == params.items[int(np.argmax(info))].id


# ------------------------------------------------------------------------------------------------ contract
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("exposure", ["none", "randomesque", "sympson_hetter"])
def test_every_strategy_never_repeats_and_resumes_from_json(rule: str, exposure: str) -> None:
    params = bank_2pl(30, areas=("basic_it", "security_gdpr"))
    sh = {it.id: 0.5 for it in params.items[::2]}
    cfg = CatConfig(
        selection=SelectionRule(rule=rule),
        exposure=ExposureControl(method=exposure, top_k=3, sh_parameters=sh),
        stopping=StoppingRules(se_target=None, max_items_per_area=6),
        cut_score=0.0,
    )
    bank = CatBank.from_parameters(params, cfg)
    respond = simulee(params, 0.4, 5)
    s = start_session(bank, seed=9)
    while (item := next_item(s, bank)) is not None:
        resumed = Session.model_validate_json(s.to_json())
        assert resumed == s
        assert next_item(resumed, bank) == item
        s = answer(resumed, bank, item, respond(item))
    items = s.administered
    assert len(items) == len(set(items)) == 12
    assert not set(items) & set(s.excluded)
    again = run_session(params, cfg, 9, respond, bank)
    assert again.administered == items  # same seed, same choices
    assert [st.theta for st in again.steps] == [st.theta for st in s.steps]


@pytest.mark.parametrize("exposure", ["none", "randomesque", "sympson_hetter"])
def test_answer_reusing_next_items_choice_equals_a_cold_answer(exposure: str) -> None:
    """``answer`` reuses the choice ``next_item`` made for the same session object; it must be the choice it would
    make itself (same item check, candidates, set-aside items, estimates), and a copied session chooses afresh."""
    import digiskill.cat.session as session_module

    params = bank_2pl(30, areas=("basic_it", "security_gdpr"))
    sh = {it.id: 0.4 for it in params.items[::2]}
    cfg = CatConfig(
        exposure=ExposureControl(method=exposure, top_k=3, sh_parameters=sh),
        stopping=StoppingRules(se_target=None, max_items_per_area=5),
    )
    bank = CatBank.from_parameters(params, cfg)
    respond = simulee(params, -0.3, 8)
    s = start_session(bank, seed=4)
    while (item := next_item(s, bank)) is not None:
        warm = answer(s, bank, item, respond(item))
        session_module._choices.clear()
        cold = answer(s, bank, item, warm.steps[-1].response)
        assert warm == cold
        copy = s.model_copy()
        assert id(copy) not in session_module._choices
        assert next_item(copy, bank) == item
        assert session_module._choices[id(copy)][0]() is copy
        s = warm
    assert len(s.administered) == 10


def test_choice_cache_follows_the_sessions_it_holds_weakly() -> None:
    """Interleaved sessions each keep their choice (``answer`` does not choose again); an entry goes when its session
    is no longer referenced, and the map never holds more than ``MAX_CACHED_CHOICES`` entries."""
    import gc

    import digiskill.cat.session as session_module

    params = bank_2pl(30, areas=("basic_it", "security_gdpr"))
    bank = CatBank.from_parameters(params, CatConfig(stopping=StoppingRules(se_target=None, max_items_per_area=5)))
    session_module._choices.clear()
    sessions = [start_session(bank, seed=k) for k in range(5)]
    items = [next_item(s, bank) for s in sessions]
    assert {id(s) for s in sessions} <= set(session_module._choices)
    calls = []
    original = session_module._choose
    try:
        session_module._choose = lambda s, b: calls.append(s) or original(s, b)
        for s, item in zip(sessions, items, strict=True):
            answer(s, bank, item, 1)
        assert calls == []  # every answer reused its session's cached choice
    finally:
        session_module._choose = original
    key = id(sessions[0])
    del sessions[0], s
    gc.collect()
    assert key not in session_module._choices
    limit = session_module.MAX_CACHED_CHOICES
    try:
        session_module.MAX_CACHED_CHOICES = 3
        kept = [start_session(bank, seed=k) for k in range(6)]
        for s in kept:
            next_item(s, bank)
        assert len(session_module._choices) == 3
        assert all(session_module._choices[id(s)][0]() is s for s in kept[-3:])
    finally:
        session_module.MAX_CACHED_CHOICES = limit


def test_different_seeds_give_different_randomesque_tests() -> None:
    params = bank_2pl(60)
    cfg = CatConfig(
        exposure=ExposureControl(method="randomesque", top_k=5),
        stopping=StoppingRules(se_target=None, max_items_per_area=10),
    )
    bank = CatBank.from_parameters(params, cfg)
    respond = simulee(params, 0.0, 2)
    tests = {tuple(run_session(params, cfg, seed, respond, bank).administered) for seed in range(6)}
    assert len(tests) > 1


def test_randomesque_chooses_only_among_the_top_k() -> None:
    params = bank_2pl(80)
    k = 4
    cfg = CatConfig(
        exposure=ExposureControl(method="randomesque", top_k=k),
        selection=SelectionRule(candidates_logged=k),
        stopping=StoppingRules(se_target=None, max_items_per_area=15),
    )
    bank = CatBank.from_parameters(params, cfg)
    chosen_rank = []
    for seed in range(8):
        s = run_session(params, cfg, seed, simulee(params, 0.2, seed), bank)
        for st in s.steps:
            top = [c.item for c in st.candidates]
            assert len(top) == k and st.item in top
            chosen_rank.append(top.index(st.item))
    assert set(chosen_rank) == set(range(k))  # every rank gets used


def test_sympson_hetter_sets_declined_items_aside_and_respects_k() -> None:
    params = bank_2pl(40)
    never = {it.id for it in params.items[:20]}
    sh = dict.fromkeys(never, 1e-9)  # practically never given
    cfg = CatConfig(
        exposure=ExposureControl(method="sympson_hetter", sh_parameters=sh),
        stopping=StoppingRules(se_target=None, max_items_per_area=10),
    )
    s = run_session(params, cfg, 4, simulee(params, 0.0, 4))
    assert not never & set(s.administered)
    assert set(s.excluded) <= never and s.excluded
    for st in s.steps:
        assert set(st.set_aside) <= never


# ------------------------------------------------------------------------------------------------ errors
def test_bad_answers_are_rejected_and_leave_the_session_unchanged() -> None:
    params = mixed_bank()
    bank = CatBank.from_parameters(params, CatConfig())
    s = start_session(bank, seed=1)
    first = next_item(s, bank)
    s = answer(s, bank, first, 0)
    snapshot = s.to_json()
    asked = next_item(s, bank)
    other = next(i for i in params.item_ids if i not in (first, asked))
    k = int(bank.n_cat[bank.index[asked]])
    cases = [
        (first, 0, "already answered"),
        (other, 0, "not the item the session asked for"),
        (asked, k, "not a category"),
        (asked, -1, "not a category"),
        (asked, 1.5, "not a category"),
        (asked, True, "not a category"),
    ]
    for item, resp, message in cases:
        with pytest.raises(InputError, match=message):
            answer(s, bank, item, resp)
        assert s.to_json() == snapshot
    assert next_item(s, bank) == asked
    other_set = make_params([{"id": "X", "model": "2pl", "a": 1.0, "b": 0.0}], "other")
    with pytest.raises(InputError, match="parameter set"):
        next_item(s, other_set)


def test_a_finished_session_takes_no_more_answers() -> None:
    params = bank_2pl(10)
    cfg = CatConfig(stopping=StoppingRules(se_target=None, min_items_per_area=0, max_items_per_area=2))
    s = run_session(params, cfg, 0, lambda i: 1)
    assert s.finished and s.stop_rule == "all_areas_finished" and next_item(s, params) is None
    with pytest.raises(InputError, match="ended"):
        answer(s, params, params.item_ids[-1], 1)


def test_start_session_rejects_unknown_areas_and_first_items() -> None:
    params = bank_2pl(10, areas=("a1", "a2"))
    with pytest.raises(InputError, match="unknown area"):
        start_session(params, seed=0, areas=["a3"])
    with pytest.raises(InputError, match="first_item"):
        start_session(params, CatConfig(start=StartRule(first_item="Q001")), seed=0, areas=["a1"])


# ------------------------------------------------------------------------------------------------ start
def test_gentle_start_given_theta_and_given_first_item() -> None:
    params = bank_2pl(50)
    info = lambda t: item_information(t, params.to_arrays())  # noqa: E731
    for theta in (-0.5, 1.5):
        s = start_session(params, CatConfig(start=StartRule(theta=theta)), seed=0)
        assert next_item(s, params) == params.items[int(np.argmax(info(theta)))].id
    cfg = CatConfig(start=StartRule(first_item="Q017"))
    s = start_session(params, cfg, seed=0)
    assert next_item(s, params) == "Q017"
    s = answer(s, params, "Q017", 1)
    assert s.steps[0].rule == "start: given first item"


# ------------------------------------------------------------------------------------------------ estimators
@pytest.mark.parametrize("method", ["ml", "wle"])
def test_ml_and_wle_fall_back_to_eap_until_a_right_and_a_wrong_answer(method: str) -> None:
    params = bank_2pl(20)
    r = next_step(params, ["Q001", "Q002"], [1, 1], estimator=method)
    eap = next_step(params, ["Q001", "Q002"], [1, 1], estimator="eap")
    assert r.estimator == "eap" and r.theta == eap.theta
    r = next_step(params, ["Q001", "Q002"], [1, 0], estimator=method)
    assert r.estimator == method
    from digiskill.irt import estimate

    sub = params.to_arrays(["Q001", "Q002"])
    ref = estimate(np.array([[1, 0]]), sub, method)
    assert r.theta == pytest.approx(ref.theta[0], abs=1e-9)


def test_map_estimator_matches_irt_map() -> None:
    params = mixed_bank()
    ids, resp = ["D0", "G1", "P2"], [1, 2, 0]
    r = next_step(params, ids, resp, estimator="map")
    from digiskill.irt import map_estimate

    ref = map_estimate(np.array([resp]), params.to_arrays(ids))
    assert r.theta == pytest.approx(ref.theta[0], abs=1e-9) and r.se == pytest.approx(ref.se[0], abs=1e-9)


# ------------------------------------------------------------------------------------------------ stopping
def test_se_target_stops_the_test_when_the_se_reaches_it() -> None:
    params = bank_2pl(100)
    cfg = CatConfig(stopping=StoppingRules(se_target=0.45, min_items_per_area=1, max_items_per_area=50))
    s = run_session(params, cfg, 0, simulee(params, 0.0, 3))
    ses = [st.se for st in s.steps]
    assert ses[-1] <= 0.45 and all(x > 0.45 for x in ses[:-1])
    assert s.steps[-1].stop == "se_target" and s.areas[0].stop_rule == "se_target"


def test_min_and_max_items_bound_the_area() -> None:
    params = bank_2pl(100)
    cfg = CatConfig(stopping=StoppingRules(se_target=5.0, min_items_per_area=6, max_items_per_area=8))
    assert run_session(params, cfg, 0, simulee(params, 0.0, 3)).n_items == 6
    cfg = CatConfig(stopping=StoppingRules(se_target=0.01, max_items_per_area=7))
    s = run_session(params, cfg, 0, simulee(params, 0.0, 3))
    assert s.n_items == 7 and s.steps[-1].stop == "max_items_area"
    cfg = CatConfig(stopping=StoppingRules(se_target=None, max_items_per_area=None, max_total_items=9))
    s = run_session(bank_2pl(30, areas=("x", "y")), cfg, 0, lambda i: 1)
    assert s.n_items == 9 and s.stop_rule == "max_total_items"
    s = run_session(bank_2pl(5), CatConfig(stopping=StoppingRules.exhaustion_only()), 0, lambda i: 0)
    assert s.n_items == 5 and s.stop_rule == "all_areas_finished" and s.steps[-1].stop == "items_exhausted"


def test_ci_classification_stops_when_the_interval_excludes_the_cut() -> None:
    params = bank_2pl(100)
    cfg = CatConfig(
        cut_score=-1.0,
        stopping=StoppingRules(se_target=None, min_items_per_area=2, max_items_per_area=60, classification="ci"),
    )
    s = run_session(params, cfg, 0, simulee(params, 1.0, 8))
    z = norm.ppf(0.975)
    last = s.steps[-1]
    assert last.stop == "ci_classification" and s.areas[0].classification == "above"
    assert last.theta - z * last.se >= -1.0
    assert all(-1.0 - z * st.se < st.theta < -1.0 + z * st.se for st in s.steps[1:-1])


def test_sprt_stops_at_walds_bounds() -> None:
    params = bank_2pl(100)
    cut, delta = 0.0, 0.3
    cfg = CatConfig(
        cut_score=cut,
        stopping=StoppingRules(
            se_target=None, min_items_per_area=1, max_items_per_area=80, classification="sprt", sprt_delta=delta
        ),
    )
    s = run_session(params, cfg, 0, simulee(params, -1.5, 2))
    assert s.steps[-1].stop == "sprt" and s.areas[0].classification == "below"
    by_id = params.items_by_id()

    def llr(n: int) -> float:
        total = 0.0
        for st in s.steps[:n]:
            it = by_id[st.item]
            p_hi, p_lo = expit(it.a * (cut + delta - it.b)), expit(it.a * (cut - delta - it.b))
            total += np.log(p_hi / p_lo) if st.response else np.log((1 - p_hi) / (1 - p_lo))
        return total

    lower, upper = np.log(0.05 / 0.95), np.log(0.95 / 0.05)
    assert llr(s.n_items) <= lower
    assert all(lower < llr(n) < upper for n in range(1, s.n_items))


# ------------------------------------------------------------------------------------------------ areas
def test_kingsbury_zara_interleaves_areas_by_target_proportions() -> None:
    params = bank_2pl(60, areas=("basic_it", "communication", "security_gdpr"))
    stop = StoppingRules(se_target=None, max_items_per_area=None, max_total_items=12)
    s = run_session(params, CatConfig(stopping=stop), 0, lambda i: 1)
    assert [st.area for st in s.steps] == ["basic_it", "communication", "security_gdpr"] * 4
    targets = {"basic_it": 2.0, "communication": 1.0, "security_gdpr": 1.0}
    s = run_session(params, CatConfig(stopping=stop, balancing=ContentBalancing(targets=targets)), 0, lambda i: 1)
    counts = {a: sum(st.area == a for st in s.steps) for a in targets}
    assert counts == {"basic_it": 6, "communication": 3, "security_gdpr": 3}
    # every area keeps its own estimate; items belong to the area logged
    by_id = params.items_by_id()
    assert all(by_id[st.item].area == st.area for st in s.steps)
    assert {a.area: a.n_items for a in s.areas} == counts


def test_a_finished_area_is_skipped_and_the_others_go_on() -> None:
    params = bank_2pl(60, areas=("basic_it", "workflows"))
    cfg = CatConfig(stopping=StoppingRules(se_target=None, min_items_per_area=0, max_items_per_area=3))
    s = run_session(params, cfg, 0, lambda i: 0, areas=["workflows"])
    assert {st.area for st in s.steps} == {"workflows"} and s.n_items == 3
    assert [a.area for a in s.areas] == ["workflows"]


# ------------------------------------------------------------------------------------------------ stateless step
def test_stateless_step_equals_the_session() -> None:
    params = bank_2pl(40)
    cfg = CatConfig(selection=SelectionRule(rule="klp"), stopping=StoppingRules.exhaustion_only())
    s = run_session(
        params,
        CatConfig(selection=SelectionRule(rule="klp"), stopping=StoppingRules(se_target=None, max_items_per_area=8)),
        0,
        simulee(params, 0.5, 1),
    )
    for n in range(1, s.n_items):
        r = next_step(params, s.administered[:n], [st.response for st in s.steps[:n]], config=cfg)
        assert r.next_item == s.steps[n].item
        assert r.theta == s.steps[n - 1].theta


def test_stateless_step_reports_null_when_nothing_is_left_and_rejects_bad_input() -> None:
    params = bank_2pl(3)
    r = next_step(params, ["Q000", "Q001", "Q002"], [1, 0, 1])
    assert r.next_item is None and r.stop == "items_exhausted" and r.theta is not None
    with pytest.raises(InputError) as err:
        next_step(params, ["Q000", "Q000", "ZZZ"], [1, 2, 0])
    msg = str(err.value)
    assert "listed twice" in msg and "unknown item" in msg and "outside 0..1" in msg
    with pytest.raises(InputError, match="response"):
        next_step(params, ["Q000"], [])
    with pytest.raises(InputError, match="unknown rule"):
        next_step(params, [], [], rule="fisher")


def test_cli_cat_next_prints_json_and_exits_2_on_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "cat",
            "next",
            "--params",
            str(LSAT7),
            "--administered",
            "Item.3,Item.1",
            "--responses",
            "1,0",
            "--rule",
            "kl",
            "--estimator",
            "map",
            "--preset",
            "catr",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    ref = next_step(
        load_parameter_set(LSAT7),
        ["Item.3", "Item.1"],
        [1, 0],
        config=CatConfig.catr(
            selection=SelectionRule(rule="kl"), estimator="map", stopping=StoppingRules.exhaustion_only()
        ),
    )
    assert out["next_item"] == ref.next_item and out["theta"] == ref.theta and out["se"] == ref.se
    res = runner.invoke(app, ["cat", "next", "--params", str(LSAT7)])
    assert res.exit_code == 0 and json.loads(res.stdout)["next_item"] == "Item.3"
    for bad in (
        ["--administered", "Item.3", "--responses", "x"],
        ["--administered", "Item.3", "--responses", "3"],
        ["--administered", "Item.3,Item.9", "--responses", "1,0"],
        ["--rule", "cut_info"],
    ):
        res = runner.invoke(app, ["cat", "next", "--params", str(LSAT7), *bad])
        assert res.exit_code == 2, (bad, res.output)
    cfg = tmp_path / "cat.json"
    stopping = {"min_items_per_area": 0, "max_items_per_area": 2}
    cfg.write_text(json.dumps({"selection": {"rule": "mepv"}, "stopping": stopping}))
    res = runner.invoke(
        app,
        [
            "cat",
            "next",
            "--params",
            str(LSAT7),
            "--config",
            str(cfg),
            "--administered",
            "Item.3,Item.2",
            "--responses",
            "1,1",
        ],
    )
    assert res.exit_code == 0 and json.loads(res.stdout)["next_item"] is None
    cfg.write_text(json.dumps({"selection": {"rul": "mepv"}}))
    res = runner.invoke(app, ["cat", "next", "--params", str(LSAT7), "--config", str(cfg)])
    assert res.exit_code == 2


# ------------------------------------------------------------------------------------------------ config
def test_configuration_checks_name_the_bad_value() -> None:
    with pytest.raises(ValueError, match="cut_score"):
        CatConfig(selection=SelectionRule(rule="cut_info"))
    with pytest.raises(ValueError, match="cut_score"):
        CatConfig(stopping=StoppingRules(classification="sprt"))
    with pytest.raises(ValueError, match="min_items_per_area"):
        StoppingRules(min_items_per_area=9, max_items_per_area=3)
    with pytest.raises(ValueError, match="extra"):
        CatConfig.model_validate({"selection": {"rule": "mfi", "rulez": 1}})
    cfg = CatConfig.catr()
    assert (cfg.quadrature.n_points, cfg.quadrature.bounds, cfg.quadrature.rule) == (33, (-4.0, 4.0), "trapezoid")
    assert CatConfig.model_validate_json(cfg.model_dump_json()) == cfg


# ------------------------------------------------------------------------------------------------ speed
def test_one_step_on_a_10000_item_bank_is_fast() -> None:
    """A regression guard only (the figure is reported by ``python -m digiskill.cat.bench``)."""
    from digiskill.cat.bench import synthetic_bank, time_step

    bank = CatBank.from_parameters(synthetic_bank(10_000), CatConfig())
    median, _ = time_step(bank, 20, 200)
    assert median < 5e-3
    h = History.of([0, 1], [1, 0])
    assert choose(bank, [None], h, [], np.zeros(0, np.int64), 0, 2).item not in (0, 1)


def test_balancing_targets_must_name_bank_areas() -> None:
    params = bank_2pl(10, areas=("a1", "a2"))
    with pytest.raises(InputError, match="targets"):
        start_session(params, CatConfig(balancing=ContentBalancing(targets={"a3": 1.0})), seed=0)
