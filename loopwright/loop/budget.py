"""Budget checks that raise ``BudgetExceeded`` before a limit would be crossed."""

from __future__ import annotations

import time

from ..backends.base import Usage
from ..errors import BudgetExceeded
from .types import Budget, UsageTotals


class BudgetTracker:
    def __init__(self, budget: Budget, usage: UsageTotals, elapsed_before: float = 0.0) -> None:
        self.budget = budget
        self.usage = usage
        self._start = time.monotonic() - elapsed_before

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
        if self.remaining_seconds() <= 0:
            raise BudgetExceeded("max_seconds", f"max_seconds={b.max_seconds:g} reached")
        if counting and u.agent_calls >= b.max_agent_calls:
            raise BudgetExceeded("max_agent_calls", f"max_agent_calls={b.max_agent_calls} reached")
        if u.tokens >= b.max_tokens:
            raise BudgetExceeded("max_tokens", f"max_tokens={b.max_tokens} reached ({u.tokens})")
        if u.cost_usd >= b.max_cost_usd > 0 or (b.max_cost_usd == 0 and u.cost_usd > 0):
            raise BudgetExceeded(
                "max_cost_usd", f"max_cost_usd={b.max_cost_usd:g} reached (${u.cost_usd:.4f})"
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
