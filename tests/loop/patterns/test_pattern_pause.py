"""Patterns (consult, delegate, debate) wait out a usage limit as the loop does: the call
waits for the reset (the run ``paused``), then runs again; a reset after the time budget
stops the pattern at once."""

from __future__ import annotations

import anyio

from loopwright import AgentRequest, AgentResponse, FunctionBackend
from loopwright.loop.events import MemorySink
from loopwright.loop.patterns import context, debate
from loopwright.loop.types import Budget

from ..test_pause import SHORT, LimitedOnce

QUESTION = "Which queue should the service use?"


async def test_a_debate_draft_that_meets_a_usage_limit_waits_for_it_and_is_drafted_again() -> None:
    limited = LimitedOnce(SHORT)
    other = FunctionBackend(lambda r: "keep the monolith", spec="other")
    sink = MemorySink()
    with anyio.fail_after(30):
        result = await debate(QUESTION, [FunctionBackend(limited, "limited"), other], rounds=0,
                              ctx=context(sink))  # fmt: skip
    assert result.state == "completed" and len(limited.calls) == 3  # limited, again, its vote
    assert [x.ok for x in result.rounds[0].exchanges] == [True, True]
    assert sink.pauses == [sink.of_type("paused")[0]["data"]["resume_at"], None]


async def test_a_usage_limit_that_resets_after_a_patterns_time_budget_stops_it_at_once() -> None:
    def limited(request: AgentRequest) -> AgentResponse:
        return LimitedOnce(3000)(request)

    sink = MemorySink()
    with anyio.fail_after(10):
        result = await debate(
            QUESTION,
            [FunctionBackend(limited, "limited"), FunctionBackend(lambda r: "x", spec="x")],
            rounds=0,
            ctx=context(sink, Budget(max_seconds=60)),
        )
    assert result.state == "stopped" and "usage limit" in result.stop_reason
    assert not sink.of_type("paused")
