"""No test may skip: every test must run from a fresh clone (issue 12, part 5; ``.ci/run`` relies on it).

A test that skips while it runs (``pytest.skip``, a ``skipif`` mark) is reported as failed; a module skipped while it
is collected (``pytest.importorskip`` at module level, ``pytest.skip(allow_module_level=True)``) makes the run's exit
status 1, with the modules listed at the end. Set ``DIGISKILL_ALLOW_SKIPS=1`` to allow skips locally, e.g. without
the optional dev dependencies. Loaded by ``tests/conftest.py``.
"""

from __future__ import annotations

import os

import pytest

ALLOW = "DIGISKILL_ALLOW_SKIPS"
_collection_skips: list[str] = []


def _allowed() -> bool:
    return bool(os.environ.get(ALLOW))


def _reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    return report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """A skipped test is a failed test (an expected failure, ``xfail``, is not a skip)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and not _allowed():
        report.outcome = "failed"
        report.longrepr = f"skipped tests are not allowed (set {ALLOW}=1 to allow): {_reason(report)}"


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _collection_skips.append(f"{report.nodeid}: {_reason(report)}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A module skipped at collection fails the run (also when it leaves no test to run)."""
    ok = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    if _collection_skips and not _allowed() and session.exitstatus in ok:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    if _collection_skips and not _allowed():
        terminalreporter.write_sep("=", f"skipped modules are not allowed (set {ALLOW}=1 to allow)", red=True)
        for line in _collection_skips:
            terminalreporter.write_line(line)
