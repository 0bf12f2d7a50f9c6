"""Budget checks that raise ``BudgetExceeded`` before a limit would be crossed, and the
time limits (``max_seconds``, and ``max_cost_usd`` while priced hosts are held) that
cancel what runs when they are reached."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio

from ..backends.base import Emit, Usage
from ..errors import BudgetExceeded
from .holds import Clock, Holds, Released
from .types import Budget, UsageTotals

SLACK = 0.001
"""Seconds past the moment a hold's cost reaches the budget at which the run is stopped,
so that by then the cost has reached it by the holds' own clock too."""


class BudgetTracker:
    def __init__(
        self,
        budget: Budget,
        usage: UsageTotals,
        elapsed_before: float = 0.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.budget = budget
        self.usage = usage
        self._start = time.monotonic() - elapsed_before
        self.holds = Holds(clock)
        """The priced hosts the run holds; their cost accrues into ``usage`` (``settle``)."""
        self._settled = 0.0
        self._scopes: list[tuple[anyio.CancelScope, float]] = []

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def remaining_seconds(self) -> float:
        return max(0.0, self.budget.max_seconds - self.elapsed())

    def check_before_iteration(self, iteration: int) -> None:
        if iteration > self.budget.max_iterations:
            raise BudgetExceeded(
                "max_iterations", f"max_iterations={self.budget.max_iterations} reached"
            )
        self.check_before_call(counting=False)

    def check_before_call(self, counting: bool = True) -> None:
        b, u = self.budget, self.usage
        self.settle()
        if self.remaining_seconds() <= 0:
            raise BudgetExceeded("max_seconds", f"max_seconds={b.max_seconds:g} reached")
        if counting and u.agent_calls >= b.max_agent_calls:
            raise BudgetExceeded("max_agent_calls", f"max_agent_calls={b.max_agent_calls} reached")
        if u.tokens >= b.max_tokens:
            raise BudgetExceeded("max_tokens", f"max_tokens={b.max_tokens} reached ({u.tokens})")
        if self._cost_reached():
            raise self._cost_exceeded()

    def _cost_reached(self) -> bool:
        b, u = self.budget, self.usage
        return u.cost_usd >= b.max_cost_usd > 0 or (b.max_cost_usd == 0 and u.cost_usd > 0)

    def _cost_exceeded(self) -> BudgetExceeded:
        return BudgetExceeded(
            "max_cost_usd",
            f"max_cost_usd={self.budget.max_cost_usd:g} reached (${self.usage.cost_usd:.4f})",
        )

    def start_call(self) -> None:
        """Check, then count one backend call (counted before it runs, as it costs anyway)."""
        self.check_before_call()
        self.usage.agent_calls += 1

    def record(self, usage: Usage) -> None:
        self.usage.input_tokens += usage.input_tokens
        self.usage.output_tokens += usage.output_tokens
        if usage.cost_usd is None:
            self.usage.unknown_cost_calls += 1
        else:
            self.usage.cost_usd += usage.cost_usd
        self.retime()

    # --- held hosts -----------------------------------------------------------------
    def settle(self) -> None:
        """Bring what the held hosts have cost up to now into the run's cost."""
        accrued = self.holds.cost()
        if accrued > self._settled:
            self.usage.cost_usd += accrued - self._settled
            self.usage.host_cost_usd += accrued - self._settled
            self._settled = accrued

    def through(self, emit: Callable[[str, dict[str, Any]], None]) -> Emit:
        """``emit`` for a backend's events, which sees the holds first: a ``host_held``
        holds that host from now (``Holds.hold``; logged once per hold), a
        ``host_released`` (a backend gave up a host that failed) ends the hold, logged
        with what it cost. Backends know it by ``charges_holds`` (``backends.hold``)."""
        return HoldingEmit(self, emit)

    def release(self, host: str | None = None) -> list[Released]:
        """End the run's hold on ``host`` (on every host when None), its cost settled."""
        ended = self.holds.release(host)
        self.settle()
        self.retime()
        return ended

    @contextlib.contextmanager
    def limits(self) -> Iterator[None]:
        """Run the body until the run's time is up, or until what it holds has spent what
        is left of ``max_cost_usd``; then it is cancelled and ``BudgetExceeded`` raised."""
        until = anyio.current_time() + self.remaining_seconds()
        with anyio.CancelScope(deadline=until) as scope:
            self._scopes.append((scope, until))
            self.retime()
            try:
                yield
            finally:
                self._scopes.remove((scope, until))
        if scope.cancelled_caught:
            self.settle()
            if self._cost_reached():
                raise self._cost_exceeded()
            raise BudgetExceeded("max_seconds", f"max_seconds={self.budget.max_seconds:g} reached")

    def retime(self) -> None:
        """Move the limits' deadlines to when the held hosts reach the cost budget."""
        if not self._scopes:
            return
        self.settle()
        rate, b = self.holds.rate(), self.budget
        reached = math.inf
        if rate > 0:
            left = max(0.0, b.max_cost_usd - self.usage.cost_usd)
            reached = anyio.current_time() + left / rate + SLACK
        for scope, until in self._scopes:
            scope.deadline = min(until, reached)


class HoldingEmit:
    """A backend's ``emit`` that charges holds to a ``BudgetTracker`` (``through``)."""

    charges_holds = True
    """What ``backends.hold`` looks for: without it a call charges its own duration."""

    def __init__(self, budget: BudgetTracker, emit: Callable[[str, dict[str, Any]], None]):
        self.budget = budget
        self.emit = emit

    def __call__(self, type: str, data: dict[str, Any]) -> None:
        b = self.budget
        if type == "host_held":
            rate = data.get("usd_per_hour")
            rate = float(rate) if isinstance(rate, int | float) else 0.0
            if not b.holds.hold(str(data.get("host")), rate):
                return
            b.retime()
        elif type == "host_released":
            ended = b.release(str(data.get("host")))
            if not ended:
                return
            data = ended[0].event()
        self.emit(type, data)
