"""Runs and patterns that wait on a held priced host are stopped at their cost budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from loopwright import (
    AgentRequest,
    AgentResponse,
    FunctionBackend,
    Harness,
    MemorySink,
    Roles,
    ScriptedBackend,
)
from loopwright.loop.patterns.common import context
from loopwright.loop.patterns.consult import consult
from loopwright.loop.types import Budget

from .test_loop import NEVER, PLAN3, config


def waits_on_a_slow_host(request: AgentRequest) -> Any:
    async def call() -> AgentResponse:
        assert request.emit is not None
        request.emit("host_held", {"host": "vast-1", "usd_per_hour": 3600.0})  # $1 a second
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    return call()


async def test_a_run_that_only_waits_on_a_held_host_is_stopped_at_its_cost_budget(
    tmp_path: Path,
) -> None:
    scripted = ScriptedBackend({"planner": [PLAN3], "reviewer": [NEVER]})
    slow = FunctionBackend(waits_on_a_slow_host, "ollama:m@vast-1")
    sink = MemorySink()
    cfg = config(tmp_path, budget={"max_cost_usd": 0.2, "max_seconds": 60})
    with anyio.fail_after(20):
        result = await Harness(cfg, Roles(scripted, [slow], [scripted]), sink).run()
    assert result.state == "stopped" and result.stop_reason.startswith("budget: max_cost_usd=0.2")
    assert [e["data"]["limit"] for e in sink.of_type("budget_exhausted")] == ["max_cost_usd"]
    assert len(sink.of_type("host_held")) == 1  # three subgoals at once, one hold
    [released] = [e["data"] for e in sink.of_type("host_released")]
    assert released["host"] == "vast-1" and 0.2 <= released["cost_usd"] < 1.0
    assert result.usage.host_cost_usd == pytest.approx(released["cost_usd"], abs=1e-6)
    assert result.usage.cost_usd == pytest.approx(result.usage.host_cost_usd, abs=1e-6)
    assert result.duration < 5


async def test_a_consult_waiting_on_a_held_host_is_stopped_at_its_cost_budget() -> None:
    sink = MemorySink()
    ctx = context(sink, Budget(max_cost_usd=0.1, max_seconds=60))
    slow = FunctionBackend(waits_on_a_slow_host, "ollama:m@vast-1")
    with anyio.fail_after(20):
        result = await consult("which?", [slow, slow], ctx=ctx)
    assert result.state == "stopped" and result.stop_reason.startswith("budget: max_cost_usd")
    [released] = [e["data"] for e in sink.of_type("host_released")]
    assert result.usage.host_cost_usd == pytest.approx(released["cost_usd"], abs=1e-6)
    assert released["cost_usd"] >= 0.1
