"""Tamper-evident sessions: replay (``verify_session``), the sealed session file, simulated typed answers."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digiskill.bank.content import item_categories, score_response
from digiskill.bank.default import load_default
from digiskill.cat import CatBank, CatConfig, Session, answer, next_item, start_session
from digiskill.cat.config import StoppingRules
from digiskill.cat.replay import SessionMismatch, verify_session
from digiskill.cat.respond import answer_with_score, draw_categories
from digiskill.cat.sessionfile import SessionRefused, read_session_file, seal_session, session_mac
from digiskill.errors import InputError
from digiskill.localstate import session_secret

CONFIG = CatConfig(stopping=StoppingRules(se_target=0.45, min_items_per_area=4, max_items_per_area=6))
AREAS = ["basic_it", "security_gdpr"]


@pytest.fixture(scope="module")
def bank():
    return load_default()


@pytest.fixture(scope="module")
def cat_bank(bank) -> CatBank:
    return CatBank.from_parameters(bank.params, CONFIG)


def _run(cat_bank: CatBank, seed: int = 5, n: int | None = None) -> Session:
    """A session answered by a fixed pattern (right, wrong, right, right, ...), stopped after ``n`` answers."""
    s = start_session(cat_bank, CONFIG, seed=seed, areas=AREAS)
    while (item := next_item(s, cat_bank)) is not None and (n is None or len(s.steps) < n):
        s = answer(s, cat_bank, item, int(len(s.steps) % 3 != 1))
    return s


@pytest.fixture(scope="module")
def finished(cat_bank) -> Session:
    s = _run(cat_bank)
    assert s.finished and 8 <= len(s.steps) <= 12
    return s


@pytest.fixture(scope="module")
def paused(cat_bank) -> Session:
    s = _run(cat_bank, n=5)
    assert not s.finished and len(s.steps) == 5
    return s


def _edit(session: Session, **changes) -> Session:
    """The session with fields replaced in its JSON (as someone editing the file would), validated again."""
    raw = json.loads(session.model_dump_json())
    for path, value in changes.items():
        node = raw
        *parents, last = path.split("__")
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        node[int(last) if last.isdigit() else last] = value
    return Session.model_validate(raw)


def test_replay_reproduces_a_finished_and_a_paused_session(finished, paused, cat_bank, bank) -> None:
    for s in (finished, paused):
        again = Session.model_validate_json(s.model_dump_json())  # as read from a file
        replay = verify_session(again, cat_bank)
        assert replay.model_dump(exclude={"engine"}) == again.model_dump(exclude={"engine"})
    assert verify_session(finished, bank.params).finished  # from the parameter set, with the session's config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steps__2__response": 0}, "step 3"),  # an edited answer: the estimate after it differs
        ({"steps__0__response": 0, "steps__1__response": 1}, "step 1"),
        ({"finished": True, "stop_rule": "all_areas_finished"}, "finished"),
        ({"steps__3__theta": 2.5}, "step 4.theta"),
        ({"areas__0__theta": 3.0}, "areas"),
        ({"config__stopping__max_items_per_area": 1, "config__stopping__min_items_per_area": 1}, "step 1.stop"),
        ({"steps__0__selection_theta": 1.0}, "step 1.selection_theta"),
        ({"excluded": ["BI-L1-001"]}, "excluded"),
    ],
)
def test_replay_refuses_an_edited_session(paused, cat_bank, bank, changes, message) -> None:
    edited = _edit(paused, **changes)
    with pytest.raises(SessionMismatch, match=message):
        verify_session(edited, bank.params if "config__stopping__max_items_per_area" in changes else cat_bank)


def test_replay_refuses_a_session_marked_finished_early(paused, bank) -> None:
    edited = _edit(paused, finished=True, stop_rule="all_areas_finished")
    with pytest.raises(SessionMismatch, match=r"finished: the replay gives False, the session stores True"):
        verify_session(edited, bank.params)


def test_replay_names_bad_log_entries_without_a_traceback(paused, cat_bank, bank) -> None:
    first = paused.steps[0].item
    cases = {
        "duplicate": (_edit(paused, steps__2__item=first), "step 3: item already asked at step 1"),
        "response 17": (_edit(paused, steps__1__response=17), r"step 2: response 17 is not a category of the item"),
        "unknown item": (_edit(paused, steps__0__item="NO-SUCH-ITEM"), "step 1: unknown item"),
        "parameter set": (_edit(paused, parameter_set="another-set-2027"), "parameter_set: the session uses"),
        "unknown area": (_edit(paused, areas__1__area="astrology"), "areas: unknown area"),
        "renumbered": (_edit(paused, steps__1__step=7), "step 2: numbered 7"),
    }
    for name, (edited, message) in cases.items():
        with pytest.raises(SessionMismatch, match=message):
            verify_session(edited, bank.params)
        with pytest.raises(SessionRefused, match=message) as err:  # the same through a (re-)sealed file
            read_session_file(seal_session(edited, "da").encode(), bank.params)
        assert err.value.reason == "replay", name


def test_session_file_round_trip_and_seal(paused, bank, digiskill_home: Path) -> None:
    text = seal_session(paused, "en", [["A"]] * len(paused.steps))
    envelope = read_session_file(text.encode(), bank.params)
    assert envelope.session == paused and envelope.language == "en" and envelope.choices[0] == ["A"]
    secret = digiskill_home / "session-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_bytes()) == 32
    raw = json.loads(text)
    assert raw["format"] == "digiskill.session-file/1" and set(raw) == {
        "format",
        "language",
        "choices",
        "session",
        "mac",
    }
    assert raw["mac"] == session_mac(paused, "en", raw["choices"], secret=session_secret())
    assert raw["mac"] != session_mac(paused, "en", raw["choices"], secret=b"\0" * 32)  # the key matters
    # any edit without the secret is refused by the MAC, before any replay
    for path, value in [
        (("session", "steps", 0, "response"), 1 - raw["session"]["steps"][0]["response"]),
        (("session", "finished"), True),
        (("session", "config", "stopping", "max_items_per_area"), 5),
        (("language",), "da"),
        (("choices", 0, 0), "B"),
    ]:
        edited = json.loads(text)
        node = edited
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
        with pytest.raises(SessionRefused, match="seal") as err:
            read_session_file(json.dumps(edited).encode(), bank.params)
        assert err.value.reason == "changed"
    # sealed on another installation
    other = seal_session(paused, "da", secret=b"\1" * 32)
    with pytest.raises(SessionRefused, match="choices"):  # more choices than answers
        read_session_file(seal_session(paused, "da", [["A"]] * 9).encode(), bank.params)
    with pytest.raises(SessionRefused) as err:
        read_session_file(other.encode(), bank.params)
    assert err.value.reason == "changed" and err.value.language == "da"
    # an unsealed (old-style) session
    with pytest.raises(SessionRefused, match="without a seal") as err:
        read_session_file(paused.model_dump_json().encode(), bank.params)
    assert err.value.reason == "not_a_session"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_as_a_session_file_are_refused(bank, data: bytes) -> None:
    with pytest.raises(SessionRefused):
        read_session_file(data, bank.params)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    doc=st.fixed_dictionaries(
        {"format": st.sampled_from(["digiskill.session-file/1", "x"]), "session": _json, "mac": _json},
        optional={"language": st.sampled_from(["da", "en", "fr"])},
    )
    | _json
)
def test_arbitrary_json_as_a_session_file_is_refused(bank, doc) -> None:
    with pytest.raises(SessionRefused):
        read_session_file(json.dumps(doc).encode(), bank.params)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_edited_session_json_is_refused_or_identical(paused, bank, data) -> None:
    """Replace one value anywhere in a sealed file: the file is refused, unless it still means the same."""
    raw = json.loads(seal_session(paused, "da"))
    node, path = raw, []
    while isinstance(node, dict | list) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        k = data.draw(st.sampled_from(keys))
        path.append(k)
        if not isinstance(node[k], dict | list) or data.draw(st.booleans()):
            break
        node = node[k]
    new = data.draw(_json)
    parent = raw
    for k in path[:-1]:
        parent = parent[k]
    if not path:
        return
    parent[path[-1]] = new
    try:
        envelope = read_session_file(json.dumps(raw).encode(), bank.params)
    except SessionRefused:
        return
    assert (envelope.session, envelope.language) == (
        paused,
        "da",
    )  # accepted only if it means the same (e.g. 1 written as 1.0)


def test_deeply_nested_and_huge_files_are_refused(bank, tmp_path: Path) -> None:
    with pytest.raises(SessionRefused):
        read_session_file(b"[" * 100_000 + b"]" * 100_000, bank.params)
    missing = tmp_path / "nothing.json"
    with pytest.raises(SessionRefused) as err:
        read_session_file(missing, bank.params)
    assert err.value.reason == "unreadable"


def test_simulated_answers_are_typed_choices_with_the_drawn_score(bank) -> None:
    rng = np.random.default_rng(11)
    seen = set()
    for item in bank.content.items:
        for score in range(item_categories(item)):
            reply = answer_with_score(item, score, rng)
            assert score_response(item, reply) == score
            seen.add((item.format, score))
        with pytest.raises(InputError):
            answer_with_score(item, item_categories(item), rng)
    assert {("ordering", 0), ("multiple_response", 3), ("true_false", 0), ("single_choice", 1)} <= seen


def test_drawn_categories_follow_the_probabilities() -> None:
    p = np.array([[0.2, 0.5, 0.3], [0.9, 0.1, 0.0]])
    x = draw_categories(np.broadcast_to(p, (20_000, 2, 3)), np.random.default_rng(0))
    freq = np.stack([(x == k).mean(axis=0) for k in range(3)], axis=-1)
    np.testing.assert_allclose(freq, p, atol=0.01)
    assert (x[:, 1] < 2).all()
