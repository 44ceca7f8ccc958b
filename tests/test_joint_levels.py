"""Levels of a multidimensional test (issue #17, part 4): the joint posterior kept within the area's own evidence,
recomputed by the issuer like every other result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from digiskill.bank.default import load_default
from digiskill.bank.loading import load_model_file
from digiskill.cat import CatConfig, answer, next_item, prepare, start_session
from digiskill.cat.estimate import fit_area
from digiskill.errors import InputError
from digiskill.irt.multidim import LatentNormal, joint_eap, joint_map
from digiskill.results.credential import IssuerProfile
from digiskill.results.issue import issue_certificate
from digiskill.results.levels import bounded_level, bounded_levels, bounded_probability
from digiskill.results.models import AssessmentResult, result_from_session
from digiskill.results.recompute import recompute_result
from digiskill.results.signing import generate_key_pair

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("joint", "proven", "supported", "level"),
    [
        (5, 2, 3, 3),  # borrowed strength above what the own answers make likely: capped
        (1, 3, 4, 3),  # pulled down by the other areas below what the own answers prove: raised
        (4, 2, 5, 4),  # within the own evidence: the joint level
        (None, None, 2, None),
        (3, None, None, None),  # the own answers make no level likely
        (None, 2, 2, 2),
    ],
)
def test_the_bounded_level_rule(joint, proven, supported, level) -> None:
    assert bounded_level(joint, proven, supported) == level


@given(st.floats(0, 1), st.floats(0, 1))
def test_the_screening_probability_reaches_0_8_exactly_when_the_level_rule_certifies(joint, own) -> None:
    """Screening's π of a multidimensional result, ``min(max(joint, own), own + 0.3)``: at least 0.8 exactly when the
    certified-level rule gives the level (joint or own ≥ 0.8, and own ≥ 0.5); never below the own evidence unless
    capped, never more than 0.3 above it."""
    p = bounded_probability(joint, own)
    certifies = (joint >= 0.8 or own >= 0.8) and own >= 0.5
    if abs(own - 0.5) > 1e-9:  # the boundary itself is decided by rounding of own + 0.3
        assert (p >= 0.8) == certifies
    assert p <= own + 0.3 + 1e-12 and p >= min(own, joint) - 1e-12
    assert bounded_probability(joint, own) == pytest.approx(joint) or joint < own or joint > own + 0.3


@pytest.mark.parametrize(
    ("joint", "own", "scored"),
    [(0.95, 0.40, 0.70), (0.30, 0.85, 0.85), (0.82, 0.60, 0.82), (0.50, 0.10, 0.40), (0.90, 0.55, 0.85)],
)
def test_the_screening_probability_by_hand(joint, own, scored) -> None:
    assert bounded_probability(joint, own) == pytest.approx(scored)


def test_bounded_levels_is_a_clamp_elementwise() -> None:
    rng = np.random.default_rng(5)
    proven = rng.integers(0, 5, 200)
    supported = proven + rng.integers(0, 3, 200)
    joint = rng.integers(0, 8, 200)
    out = bounded_levels(joint, proven, supported)
    assert np.all((proven <= out) & (out <= supported))
    inside = (proven <= joint) & (joint <= supported)
    np.testing.assert_array_equal(out[inside], joint[inside])


@pytest.fixture(scope="module")
def bank():
    return load_default()


@pytest.fixture(scope="module")
def config() -> CatConfig:
    return load_model_file(ROOT / "examples/multidim/joint.yaml", CatConfig, what="configuration")


def _session_result(bank, config, right_in: set[str], seed: int = 4) -> AssessmentResult:
    """A whole multidimensional test answered right in ``right_in`` and wrong (lowest category) elsewhere."""
    cat = prepare(bank.params, config)
    s = start_session(cat, config, seed=seed)
    while (item := next_item(s, cat)) is not None:
        top = int(cat.n_cat[cat.index[item]]) - 1
        s = answer(s, cat, item, top if bank.params.items_by_id()[item].area in right_in else 0)
    return result_from_session(s, bank, person="p-joint")


@pytest.fixture(scope="module")
def discordant(bank, config) -> AssessmentResult:
    """Right everywhere except security, where every answer is wrong."""
    return _session_result(bank, config, set(bank.areas) - {"security_gdpr"})


def test_joint_values_are_the_joint_posterior_and_own_values_the_areas_alone(bank, config, discordant) -> None:
    areas = [a.area for a in discordant.areas]
    items = [bank.params.to_arrays(a.items) for a in discordant.areas]
    codes = [np.array([a.responses]) for a in discordant.areas]
    _, corr = bank.params.latent_correlation(areas)
    prior = LatentNormal(np.asarray(corr))
    mode = joint_map(codes, items, prior)
    cuts = [np.array([bank.cut_scores.areas[a].cuts[k] for k in sorted(bank.cut_scores.areas[a].cuts)]) for a in areas]
    post = joint_eap(codes, items, prior, n_points=config.joint.qmc_points, seed=0, cuts=cuts)
    cat = prepare(bank.params, config)
    for d, a in enumerate(discordant.areas):
        assert a.theta == pytest.approx(mode.theta[0, d], rel=1e-8)
        assert a.se == pytest.approx(mode.se[0, d], rel=1e-8)
        np.testing.assert_allclose(list(a.level_probabilities.values()), post.tails[d][0], atol=1e-6)
        own = fit_area(
            cat.areas[a.area], cat.grid, cat.local[[cat.index[i] for i in a.items]], np.array(a.responses), "map"
        )
        assert a.own_answers is not None
        assert a.own_answers.theta == pytest.approx(own.theta, rel=1e-9)
        assert a.certified_level == bounded_level(
            a.joint_level, a.own_answers.proven_level, a.own_answers.supported_level
        )


def test_borrowed_strength_does_not_certify_an_area_its_own_answers_contradict(discordant) -> None:
    security = discordant.area("security_gdpr")
    others = [a for a in discordant.areas if a.area != "security_gdpr"]
    assert security.own_answers is not None
    # the joint posterior pulls security up towards the five strong areas ...
    assert security.theta > security.own_answers.theta + 0.3
    assert (security.joint_level or 0) > (security.own_answers.supported_level or 0)
    # ... but the level stays where the own answers put it
    assert security.certified_level == security.own_answers.supported_level
    assert all(a.certified_level is not None and a.certified_level >= 3 for a in others)


def test_honest_joint_results_recompute_and_certify(bank, discordant) -> None:
    again = recompute_result(discordant, bank)
    assert [a.model_dump() for a in again.areas] == [a.model_dump() for a in discordant.areas]
    issuer = IssuerProfile(id="https://jobcenter.example/issuer", name="Test jobcenter")
    key, _ = generate_key_pair()
    cert = issue_certificate(discordant, bank, issuer, key)
    achieved = json.loads(cert.credential_json)["credentialSubject"]
    assert "security_gdpr" in json.dumps(achieved)


def _edit(result: AssessmentResult, area: str, **changes) -> AssessmentResult:
    data = json.loads(result.dump_json())
    i = [a["area"] for a in data["areas"]].index(area)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data["areas"][i].get(key), dict):
            data["areas"][i][key].update(value)
        else:
            data["areas"][i][key] = value
    return AssessmentResult.model_validate(data)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"certified_level": "joint"}, "certified level"),  # the uncapped joint level
        ({"own_answers": None}, "own-answers evidence of a multidimensional test is missing"),
        ({"own_answers": {"supported_level": 6}}, "own-answers levels"),
        ({"joint_level": "other"}, "joint level"),
        ({"theta": "own"}, "θ"),  # the own-answers estimate passed off as the joint one
    ],
)
def test_edited_joint_results_are_refused(bank, discordant, changes, needle) -> None:
    security = discordant.area("security_gdpr")
    if changes.get("certified_level") == "joint":
        changes = {"certified_level": security.joint_level}
    if changes.get("joint_level") == "other":
        changes = {"joint_level": (security.joint_level or 0) + 1}
    if changes.get("theta") == "own":
        changes = {"theta": security.own_answers.theta}
    with pytest.raises(InputError) as err:
        recompute_result(_edit(discordant, "security_gdpr", **changes), bank)
    assert needle in str(err.value)


def test_own_answers_on_a_unidimensional_result_are_refused(bank) -> None:
    config = CatConfig()
    uni = _session_result(bank, config, {"basic_it"})
    fake = uni.areas[0].model_dump()
    fake["own_answers"] = {
        "theta": 0.0,
        "se": 1.0,
        "level_probabilities": fake["level_probabilities"],
        "proven_level": None,
        "supported_level": None,
    }
    data = json.loads(uni.dump_json())
    data["areas"][0] = fake
    with pytest.raises(InputError, match="not multidimensional"):
        recompute_result(AssessmentResult.model_validate(data), bank)
