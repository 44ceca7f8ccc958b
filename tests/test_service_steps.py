"""The database steps of a citizen's request run the same way through both drivers (service/steps.py): each call's
result goes back into the request in order and a problem raised inside it reaches the caller. (The real calls run in
tests/test_service.py: its PostgreSQL half takes every citizen step through the asynchronous driver.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from digiskill.service.problems import ProblemError
from digiskill.service.steps import arun_steps, run_steps


@dataclass(frozen=True)
class Double:
    value: int

    def run(self, svc) -> int:
        svc.append(("sync", self.value))
        return 2 * self.value

    async def arun(self, svc) -> int:
        await asyncio.sleep(0)
        svc.append(("async", self.value))
        return 2 * self.value


def steps(n: int):
    total = 0
    for i in range(1, n + 1):
        total += yield Double(i)
    if total > 100:
        raise ProblemError(409, "too much", code="busy")
    return total


def test_both_drivers_send_each_result_back_in_order():
    calls_sync: list = []
    calls_async: list = []
    assert run_steps(calls_sync, steps(4)) == 2 * (1 + 2 + 3 + 4)
    assert asyncio.run(arun_steps(calls_async, steps(4))) == 20
    assert [v for _, v in calls_sync] == [v for _, v in calls_async] == [1, 2, 3, 4]
    assert {k for k, _ in calls_async} == {"async"}


def test_a_problem_inside_the_steps_reaches_the_caller():
    with pytest.raises(ProblemError, match="too much"):
        run_steps([], steps(10))
    with pytest.raises(ProblemError, match="too much"):
        asyncio.run(arun_steps([], steps(10)))


def test_steps_without_any_call_return_at_once():
    assert run_steps([], steps(0)) == 0
    assert asyncio.run(arun_steps([], steps(0))) == 0
