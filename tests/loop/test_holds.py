"""Holding a priced host: its cost accrues by the clock into the run's cost and budget."""

from __future__ import annotations

from typing import Any

import pytest

from loopwright import Usage
from loopwright.errors import BudgetExceeded
from loopwright.loop.budget import BudgetTracker
from loopwright.loop.holds import Holds
from loopwright.loop.types import Budget, UsageTotals


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tracker(clock: Clock, **budget: Any) -> BudgetTracker:
    return BudgetTracker(Budget(**budget), UsageTotals(), clock=clock)


def test_a_hold_accrues_by_the_time_it_is_held_not_by_its_calls() -> None:
    clock, logged = Clock(), list[tuple[str, dict[str, Any]]]()
    b = tracker(clock)
    emit = b.through(lambda t, d: logged.append((t, d)))
    for _ in range(3):  # three calls at once to one host: one hold
        emit("host_held", {"host": "gpu", "usd_per_hour": 3.6})
    emit("model_call", {"cost_usd": 0.0})
    clock.now += 100
    b.check_before_call()
    assert b.usage.cost_usd == pytest.approx(0.1) and b.usage.host_cost_usd == pytest.approx(0.1)
    clock.now += 50
    [ended] = b.release()
    clock.now += 1000  # released: nothing more accrues
    b.settle()
    assert b.usage.cost_usd == pytest.approx(0.15)
    assert ended.event() == {"host": "gpu", "usd_per_hour": 3.6, "seconds": 150.0,
                             "cost_usd": 0.15}  # fmt: skip
    assert [t for t, _ in logged] == ["host_held", "model_call"]


def test_api_costs_and_hold_costs_share_one_budget() -> None:
    clock = Clock()
    b = tracker(clock, max_cost_usd=1.0)
    b.through(lambda t, d: None)("host_held", {"host": "gpu", "usd_per_hour": 36.0})
    b.record(Usage(10, 10, 0.5))
    clock.now += 49  # 0.49 held + 0.5 API
    b.check_before_call()
    clock.now += 2
    with pytest.raises(BudgetExceeded) as raised:
        b.check_before_call()
    assert raised.value.limit == "max_cost_usd"
    assert b.usage.host_cost_usd == pytest.approx(0.51)


def test_free_hosts_and_second_holds_of_a_host_start_nothing() -> None:
    holds = Holds(Clock())
    assert not holds.hold("local", 0.0)
    assert holds.hold("gpu", 1.0) and not holds.hold("gpu", 1.0)
    assert holds.hold("gpu2", 2.0) and holds.rate() == pytest.approx(3.0 / 3600)


def test_a_backend_that_gives_up_a_host_ends_the_runs_hold_on_it() -> None:
    clock, logged = Clock(), list[tuple[str, dict[str, Any]]]()
    b = tracker(clock)
    emit = b.through(lambda t, d: logged.append((t, d)))
    emit("host_held", {"host": "gpu", "usd_per_hour": 36.0})
    clock.now += 10
    emit("host_released", {"host": "gpu"})  # e.g. it failed and calls went elsewhere
    emit("host_released", {"host": "gpu"})  # not held any more: nothing to say
    clock.now += 100
    b.settle()
    assert b.usage.host_cost_usd == pytest.approx(0.1)
    assert logged[1] == ("host_released", {"host": "gpu", "usd_per_hour": 36.0,
                                           "seconds": 10.0, "cost_usd": 0.1})  # fmt: skip
    assert len(logged) == 2 and b.release() == []
