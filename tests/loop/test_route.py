"""Routing in the harness: the card in the planner's prompt, assignments checked, a
worker per attempt, escalation, and estimates against actuals in the next plan."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from loopwright import (
    AgentRequest,
    AgentResponse,
    FunctionBackend,
    Harness,
    LoopConfig,
    MemorySink,
    Roles,
    ScriptedBackend,
    Usage,
)
from loopwright.backends.base import Capabilities
from loopwright.hosts.routing import WorkerFacts, WorkerRef
from loopwright.loop import schemas

LOCAL = Capabilities(edits_files=True, local=True)
CLOUD = Capabilities(edits_files=True, local=False)
YES = {"json": {"complete": True, "score": 1.0}}
NO = {"json": {"complete": False, "score": 0.1, "issues": ["not yet"], "next_steps": []}}


class Card:
    """A stand-in performance source: fixed facts, the refs it was asked about."""

    def __init__(self, **facts: WorkerFacts) -> None:
        self.facts = facts
        self.asked: list[list[WorkerRef]] = []

    def card(self, workers: Sequence[WorkerRef]) -> list[WorkerFacts]:
        self.asked.append(list(workers))
        return [self.facts.get(w.spec, WorkerFacts(w.spec, w.local)) for w in workers]


def worker(name: str, caps: Capabilities, ok: bool = True) -> FunctionBackend:
    def fn(request: AgentRequest) -> AgentResponse:
        return AgentResponse(f"{name} did it", ok=ok, error=None if ok else f"{name} failed",
                             usage=Usage(400, 100, 0.0))  # fmt: skip

    return FunctionBackend(fn, f"function:{name}", caps)


def planner(plans: list[dict[str, Any]], prompts: list[AgentRequest]) -> FunctionBackend:
    def fn(request: AgentRequest) -> str:
        prompts.append(request)
        return json.dumps(plans[min(len(prompts), len(plans)) - 1])

    return FunctionBackend(fn, "function:planner", CLOUD)


def config(tmp_path: Path, **kw: Any) -> LoopConfig:
    return LoopConfig(goal="go", success_criteria=["done"], cwd=str(tmp_path), retry_backoff=0,
                      **kw)  # fmt: skip


async def run(cfg: LoopConfig, roles: Roles, card: Card | None = None) -> MemorySink:
    sink = MemorySink()
    with anyio.fail_after(30):
        await Harness(cfg, roles, sink, performance=card).run()
    return sink


FAST = WorkerFacts("function:local", True, gen_tps=80.0, prompt_tps=800.0, load_s=0.5)
SUBGOALS = {"subgoals": [{"id": "s1", "title": "small fix", "instructions": "do it"}]}


async def test_the_fixed_route_keeps_todays_behaviour_and_prompt(tmp_path: Path) -> None:
    prompts: list[AgentRequest] = []
    reviewer = ScriptedBackend({"reviewer": [YES]})
    roles = Roles(planner([SUBGOALS], prompts), [worker("cloud", CLOUD)], [reviewer])
    sink = await run(config(tmp_path), roles, Card())
    assert "Performance card" not in prompts[0].prompt
    assert prompts[0].response_schema == schemas.plan(8)
    [started] = sink.of_type("worker_started")
    assert started["data"]["backend"] == "function:cloud" and "route" not in started["data"]


async def test_local_first_sends_a_small_subgoal_to_the_fast_local_worker(tmp_path: Path) -> None:
    prompts: list[AgentRequest] = []
    reviewer = ScriptedBackend({"reviewer": [YES]})
    workers = [worker("cloud", CLOUD), worker("local", LOCAL)]
    card = Card(**{"function:local": FAST})
    sink = await run(config(tmp_path, route="local-first"), Roles(
        planner([SUBGOALS], prompts), workers, [reviewer]), card)  # fmt: skip
    [started] = sink.of_type("worker_started")
    assert started["data"]["backend"] == "function:local"
    assert started["data"]["route"].startswith("local-first")
    text = prompts[0].prompt
    assert text.startswith("Performance card of the available workers (measured by loopwright)")
    assert "function:local (local): generates 80 tok/s" in text
    assert "function:cloud (cloud): generates unmeasured" in text
    assert [r.local for r in card.asked[0]] == [False, True]


async def test_a_subgoal_that_failed_locally_is_retried_on_the_cloud_worker(tmp_path: Path) -> None:
    prompts: list[AgentRequest] = []
    reviewer = ScriptedBackend({"reviewer": [YES]})
    workers = [worker("cloud", CLOUD), worker("local", LOCAL, ok=False)]
    card = Card(**{"function:local": FAST})
    cfg = config(tmp_path, route="local-first", worker_retries=1)
    sink = await run(cfg, Roles(planner([SUBGOALS], prompts), workers, [reviewer]), card)
    started = [e["data"] for e in sink.of_type("worker_started")]
    assert [(s["attempt"], s["backend"]) for s in started] == [
        (1, "function:local"), (2, "function:cloud"),
    ]  # fmt: skip
    assert started[1]["route"] == "escalated: failed on function:local"
    [outcomes] = sink.of_type("outcomes")
    tried = [(o["worker"], o["attempt"], o["tokens"], o["passed"])
             for o in outcomes["data"]["subgoals"]]  # fmt: skip
    assert tried == [("function:local", 1, 500, False), ("function:cloud", 2, 500, True)]


async def test_the_planner_assigns_workers_and_a_missing_one_is_dropped(tmp_path: Path) -> None:
    plan = {"subgoals": [
        {"id": "s1", "title": "a", "instructions": "x", "worker": "function:cloud",
         "est_tokens": 3000},
        {"id": "s2", "title": "b", "instructions": "y", "worker": "openai:nope"},
    ]}  # fmt: skip
    prompts: list[AgentRequest] = []
    reviewer = ScriptedBackend({"reviewer": [YES]})
    workers = [worker("cloud", CLOUD), worker("local", LOCAL)]
    card = Card(**{"function:local": FAST})
    sink = await run(config(tmp_path, route="planner"), Roles(
        planner([plan], prompts), workers, [reviewer]), card)  # fmt: skip
    started = {e["data"]["subgoal"]: e["data"] for e in sink.of_type("worker_started")}
    assert started["s1"]["backend"] == "function:cloud"
    assert started["s1"]["route"] == "planner's assignment"
    assert started["s2"]["backend"] == "function:local"  # dropped: routed local-first
    [warning] = sink.of_type("warning")
    assert "'openai:nope', which is not one of this run's workers" in warning["data"]["message"]
    schema = prompts[0].response_schema
    assert schema is not None
    subgoal = schema["properties"]["subgoals"]["items"]["properties"]
    assert subgoal["worker"]["enum"] == ["function:cloud", "function:local"]
    assert '"worker"' in prompts[0].system and '"est_tokens"' in prompts[0].system


async def test_the_next_plan_sees_each_estimate_against_what_it_took(tmp_path: Path) -> None:
    plan = {"subgoals": [{"id": "s1", "title": "a", "instructions": "x", "est_tokens": 700}]}
    prompts: list[AgentRequest] = []
    reviewer = ScriptedBackend({"reviewer": [NO, YES]})
    roles = Roles(planner([plan], prompts), [worker("local", LOCAL)], [reviewer])
    cfg = config(tmp_path, route="local-first", budget={"max_iterations": 2})
    sink = await run(cfg, roles, Card(**{"function:local": FAST}))
    first = sink.of_type("outcomes")[0]["data"]["subgoals"][0]
    assert (first["est_tokens"], first["tokens"], first["passed"]) == (700, 500, True)
    assert first["est_seconds"] is not None
    assert "estimate against actual" not in prompts[0].prompt
    again = prompts[1].prompt
    assert "Last iteration, estimate against actual (measured by loopwright):" in again
    assert "- subgoal 1 on function:local: estimated 700 tokens" in again
    assert "took 500 tokens" in again
