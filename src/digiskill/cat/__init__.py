"""Adaptive testing (CAT): configuration, sessions, the stateless step and the array kernels behind them.

* :mod:`~digiskill.cat.config`: :class:`CatConfig` and its rule blocks (start, selection, estimator, quadrature,
  exposure, content balancing, stopping), with documented defaults.
* :mod:`~digiskill.cat.arrays`: :class:`CatBank`, a parameter set prepared once for a configuration.
* :mod:`~digiskill.cat.rules` (selectors, exposure control), :mod:`~digiskill.cat.balancing`,
  :mod:`~digiskill.cat.stopping`, :mod:`~digiskill.cat.criteria`,
  :mod:`~digiskill.cat.estimate`: each rule once, vectorised over N tests (a session N = 1, the simulation N simulees);
  :mod:`~digiskill.cat.select`: one step of one test on plain numpy arrays; :mod:`~digiskill.cat.pcg`: the
  simulees' exposure draws, bit-identical to a session's ``default_rng([seed, step])``.
* :mod:`~digiskill.cat.joint`: the multidimensional test (``dimensionality: multidimensional``): one joint estimate
  of the session's areas under their correlation, D/DP/T/A-optimal selection; one strategy for sessions and simulation.
* :mod:`~digiskill.cat.session`: :class:`Session`, :func:`start_session`, :func:`next_item`, :func:`answer`.
* :mod:`~digiskill.cat.replay`: :func:`verify_session` replays a stored session and compares every field.
* :mod:`~digiskill.cat.sessionfile`: sealed session files (HMAC-SHA256 with a per-installation secret).
* :mod:`~digiskill.cat.respond`: simulated respondents (a drawn score, typed as a choice of options).
* :mod:`~digiskill.cat.stateless`: :func:`next_step` for systems that keep their own state.
* :mod:`~digiskill.cat.simulate`: lockstep simulation of many tests, reports, Sympson–Hetter derivation.
* :mod:`~digiskill.cat.bench`: ``python -m digiskill.cat.bench`` times one step on a 10,000-item bank.
"""

from .arrays import CatBank
from .config import (
    CatConfig,
    ContentBalancing,
    ExposureControl,
    QuadratureConfig,
    SelectionRule,
    StartRule,
    StoppingRules,
)
from .replay import SessionMismatch, verify_session
from .session import AreaState, Candidate, Session, StepRecord, answer, next_item, prepare, start_session
from .stateless import StepResult, next_step

__all__ = [
    "AreaState",
    "Candidate",
    "CatBank",
    "CatConfig",
    "ContentBalancing",
    "ExposureControl",
    "QuadratureConfig",
    "SelectionRule",
    "Session",
    "SessionMismatch",
    "StartRule",
    "StepRecord",
    "StepResult",
    "StoppingRules",
    "answer",
    "next_item",
    "next_step",
    "prepare",
    "start_session",
    "verify_session",
]
