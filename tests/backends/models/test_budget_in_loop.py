"""The tool loop keeps inside the run's token and cost budgets (the request's tokens_left
and cost_left)."""

from __future__ import annotations

from loopwright.backends.base import AgentRequest, Usage
from loopwright.backends.models.chat import Meter
from loopwright.backends.models.toolloop import _budget_out


def meter(usage: Usage, cost_left: float | None = None, tokens_left: int | None = None) -> Meter:
    request = AgentRequest(
        "work", "", "", "/", 1, may_edit=True, cost_left=cost_left, tokens_left=tokens_left
    )
    return Meter(chat=None, request=request, usage=usage)  # type: ignore[arg-type]


def test_the_cost_budget_stops_the_loop_once_spent() -> None:
    assert _budget_out(meter(Usage(10, 10, 0.01), cost_left=0.05)) is None
    out = _budget_out(meter(Usage(10, 10, 0.05), cost_left=0.05))
    assert out == "cost budget ran out during the tool loop"


def test_an_unknown_price_does_not_count_as_free_or_as_spent() -> None:
    # Unknown cost cannot be checked against USD: only the token budget applies then.
    assert _budget_out(meter(Usage(10, 10, None), cost_left=0.0, tokens_left=100)) is None
    out = _budget_out(meter(Usage(10, 10, None), cost_left=1.0, tokens_left=15))
    assert out == "token budget ran out during the tool loop"
