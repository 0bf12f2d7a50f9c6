"""The harness on its own: in-memory sink, scripted and function backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

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
from loopwright.loop.types import Budget

from .fences import outside, quoted_once

PLAN3 = {"json": {"subgoals": [{"id": f"s{i}", "title": f"part {i}"} for i in range(3)]}}
NEVER = {"json": {"complete": False, "score": 0.2, "issues": ["not yet"], "next_steps": []}}
YES = {"json": {"complete": True, "score": 1.0}}


def config(tmp_path: Path, **kw: Any) -> LoopConfig:
    budget = kw.pop("budget", {})
    return LoopConfig(
        goal="make it so",
        success_criteria=kw.pop("criteria", ["it is so"]),
        cwd=str(tmp_path),
        retry_backoff=0,
        budget=Budget(**budget),
        **kw,
    )


def scripted(**roles: Any) -> Roles:
    b = ScriptedBackend(roles)
    return Roles(planner=b, workers=[b], reviewers=[b])


async def run(cfg: LoopConfig, roles: Roles, sink: MemorySink | None = None) -> Any:
    with anyio.fail_after(30):
        return await Harness(cfg, roles, sink or MemorySink()).run()


@pytest.mark.parametrize(
    ("budget", "limit"),
    [
        ({"max_iterations": 3}, "max_iterations"),
        ({"max_agent_calls": 7}, "max_agent_calls"),
        ({"max_tokens": 1000}, "max_tokens"),
        ({"max_cost_usd": 0.05}, "max_cost_usd"),
    ],
)
async def test_a_runaway_loop_stops_on_each_budget(
    tmp_path: Path, budget: dict[str, Any], limit: str
) -> None:
    worker = {
        "text": "did a bit",
        "usage": {"input_tokens": 300, "output_tokens": 100, "cost_usd": 0.01},
    }
    sink = MemorySink()
    result = await run(
        config(tmp_path, budget=budget),
        scripted(planner=[PLAN3], worker=[worker], reviewer=[NEVER]),
        sink,
    )
    assert result.state == "stopped"
    assert [e["data"]["limit"] for e in sink.of_type("budget_exhausted")] == [limit]
    u, b = result.usage, Budget(**budget)
    assert u.agent_calls <= b.max_agent_calls and result.iterations <= b.max_iterations
    assert u.tokens <= b.max_tokens + 3 * 400  # stops before the next call once crossed


async def test_max_seconds_stops_mid_iteration_and_kills_running_workers(tmp_path: Path) -> None:
    script = f"sleep 60 & echo $! > {tmp_path}/gc.pid; sleep 60"
    sink = MemorySink()
    roles = scripted(planner=[PLAN3], worker=[{"run": ["sh", "-c", script]}], reviewer=[NEVER])
    with anyio.fail_after(20):
        result = await run(config(tmp_path, budget={"max_seconds": 1.0}), roles, sink)
    assert result.state == "stopped" and "max_seconds" in result.stop_reason
    assert sink.of_type("budget_exhausted")[0]["data"]["limit"] == "max_seconds"
    from ..helpers import wait_dead

    await wait_dead(int((tmp_path / "gc.pid").read_text()))


async def test_a_failing_worker_becomes_a_failed_result_the_reviewer_sees(tmp_path: Path) -> None:
    seen: list[AgentRequest] = []

    def reviewer(req: AgentRequest) -> str:
        seen.append(req)
        return json.dumps({"complete": True})

    def worker(req: AgentRequest) -> AgentResponse:
        if req.work is not None and req.work.subgoal_id == "s1":
            return AgentResponse(text="", ok=False, error="model said no")
        return AgentResponse(text="fine")

    planner = ScriptedBackend({"planner": [PLAN3]})
    roles = Roles(planner, [FunctionBackend(worker)], [FunctionBackend(reviewer)])
    result = await run(config(tmp_path, budget={"max_iterations": 1}, worker_retries=1), roles)
    assert result.state == "stopped"
    failed = [r for r in result.last_results if r.status == "failed"]
    assert [(r.subgoal_id, r.attempts, r.error) for r in failed] == [("s1", 2, "model said no")]
    assert "- subgoal 2: FAILED after 2 attempts" in outside(seen[0].prompt)
    quoted_once(seen[0].prompt, "part 1\nmodel said no")
    assert seen[0].facts is not None and seen[0].facts.subgoals_failed == ("part 1",)


async def test_a_worker_that_raises_is_a_failed_result_not_a_crash(tmp_path: Path) -> None:
    def worker(req: AgentRequest) -> str:
        raise RuntimeError("backend bug")

    planner = ScriptedBackend({"planner": [PLAN3], "reviewer": [NEVER]})
    roles = Roles(planner, [FunctionBackend(worker)], [planner])
    sink = MemorySink()
    result = await run(config(tmp_path, budget={"max_iterations": 1}), roles, sink)
    assert {r.status for r in result.last_results} == {"failed"}
    assert all("RuntimeError: backend bug" in (r.error or "") for r in result.last_results)
    finished = sink.of_type("worker_finished")
    assert len(finished) == 6 and {e["data"]["status"] for e in finished} == {"failed"}


async def test_a_verify_failure_blocks_completion_even_when_reviewers_approve(
    tmp_path: Path,
) -> None:
    cfg = config(tmp_path, verify_commands=[["false"]], budget={"max_iterations": 2})
    result = await run(cfg, scripted(reviewer=[YES]))
    assert result.state == "stopped" and result.iterations == 2
    assert result.verify[0].passed is False and result.verdicts[0].complete is True


async def test_invalid_planner_json_is_repaired_once(tmp_path: Path) -> None:
    planner = ["Sure! Here is my plan: step one, step two.", PLAN3]
    sink = MemorySink()
    result = await run(config(tmp_path), scripted(planner=planner, reviewer=[YES]), sink)
    assert result.state == "completed"
    assert [s["id"] for s in sink.of_type("plan")[0]["data"]["subgoals"]] == ["s0", "s1", "s2"]


async def test_invalid_planner_json_twice_fails_with_a_quote_of_the_reply(tmp_path: Path) -> None:
    sink = MemorySink()
    result = await run(config(tmp_path), scripted(planner=["no json here, sorry"]), sink)
    assert result.state == "failed"
    assert "planner" in (result.error or "") and "no json here, sorry" in (result.error or "")
    assert sink.of_type("error")


async def test_later_iterations_replan_with_feedback_and_failures(tmp_path: Path) -> None:
    prompts: list[str] = []

    def planner(req: AgentRequest) -> str:
        prompts.append(req.prompt)
        return json.dumps({"subgoals": [{"title": "again"}]})

    reviewer = {"json": {"complete": False, "issues": ["tests are red"], "next_steps": ["fix x"]}}
    cfg = config(
        tmp_path,
        verify_commands=[["sh", "-c", "echo BROKEN-THING; exit 1"]],
        budget={"max_iterations": 2},
    )
    s = ScriptedBackend({"reviewer": [reviewer]})
    await run(cfg, Roles(FunctionBackend(planner), [s], [s]))
    assert "Iteration" not in prompts[0]
    assert "tests are red" in prompts[1] and "fix x" in prompts[1] and "BROKEN-THING" in prompts[1]


async def test_subgoals_run_in_parallel(tmp_path: Path) -> None:
    started = 0
    all_in = anyio.Event()

    async def worker(req: AgentRequest) -> str:
        nonlocal started
        started += 1
        if started == 3:
            all_in.set()
        await all_in.wait()  # only returns if all three run at once
        return "ok"

    planner = ScriptedBackend({"planner": [PLAN3], "reviewer": [YES]})
    result = await run(config(tmp_path), Roles(planner, [FunctionBackend(worker)], [planner]))
    assert result.state == "completed"


async def test_concurrency_limits_parallel_workers(tmp_path: Path) -> None:
    running = peak = 0

    async def worker(req: AgentRequest) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.01)
        running -= 1
        return "ok"

    planner = ScriptedBackend({"planner": [PLAN3], "reviewer": [YES]})
    await run(config(tmp_path, concurrency=2), Roles(planner, [FunctionBackend(worker)], [planner]))
    assert peak == 2


@pytest.mark.parametrize(
    ("quorum", "state"), [("all", "stopped"), ("majority", "completed"), ("any", "completed")]
)
async def test_reviewer_quorum_decides(tmp_path: Path, quorum: str, state: str) -> None:
    yes, no = ScriptedBackend({"reviewer": [YES]}), ScriptedBackend({"reviewer": [NEVER]})
    yes2 = ScriptedBackend({"reviewer": [YES]}, spec="scripted-2")
    cfg = config(tmp_path, review_quorum=quorum, budget={"max_iterations": 1})
    result = await run(cfg, Roles(yes, [yes], [yes, no, yes2]))
    assert result.state == state and len(result.verdicts) == 3


async def test_a_reviewer_with_unusable_replies_counts_as_not_complete(tmp_path: Path) -> None:
    cfg = config(tmp_path, budget={"max_iterations": 1})
    result = await run(cfg, scripted(reviewer=["looks good to me!"]))
    assert result.state == "stopped"
    assert "no usable reply" in result.verdicts[0].issues[0]


async def test_intake_drafts_criteria_when_none_are_given(tmp_path: Path) -> None:
    clarifier = {"json": {"criteria": ["file exists", "tests pass"], "questions": []}}
    sink = MemorySink()
    result = await run(config(tmp_path, criteria=[]), scripted(clarifier=[clarifier]), sink)
    assert result.criteria == ["file exists", "tests pass"]
    assert sink.of_type("intake")[0]["data"] == {
        "criteria": ["file exists", "tests pass"],
        "drafted": True,
    }


QUESTION = {
    "json": {
        "criteria": ["x"],
        "questions": [{"id": "q1", "text": "Which DB?", "default": "sqlite"}],
    }
}


async def test_auto_policy_proceeds_on_the_questions_defaults(tmp_path: Path) -> None:
    prompts: list[str] = []
    s = ScriptedBackend({"clarifier": [QUESTION]})

    def planner(req: AgentRequest) -> str:
        prompts.append(req.prompt)
        return json.dumps({"subgoals": []})

    cfg = config(tmp_path, criteria=[], questions="auto")
    result = await run(cfg, Roles(FunctionBackend(planner), [s], [s], clarifier=s))
    assert result.state == "completed"
    assert "q1: sqlite" in prompts[0]


async def test_ask_policy_stops_with_the_questions(tmp_path: Path) -> None:
    sink = MemorySink()
    result = await run(config(tmp_path, questions="ask"), scripted(clarifier=[QUESTION]), sink)
    assert result.state == "needs_input"
    assert [q.id for q in result.questions] == ["q1"]
    assert not sink.of_type("plan")


async def test_usage_and_unknown_costs_are_totalled_honestly(tmp_path: Path) -> None:
    def worker(req: AgentRequest) -> AgentResponse:
        return AgentResponse(text="x", usage=Usage(10, 5, None))

    s = ScriptedBackend({"planner": [PLAN3], "reviewer": [YES]})
    result = await run(config(tmp_path), Roles(s, [FunctionBackend(worker)], [s]))
    assert result.usage.unknown_cost_calls == 3 and result.usage.cost_usd == 0
    assert (result.usage.input_tokens, result.usage.output_tokens) == (30, 15)


async def test_scripted_edits_stay_inside_the_working_dir(tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    evil = {"text": "x", "edits": [{"path": "../escaped.txt", "write": "no"}]}
    result = await run(
        config(work, budget={"max_iterations": 1}, worker_retries=0),
        scripted(worker=[evil], reviewer=[YES]),
    )
    assert not (tmp_path / "escaped.txt").exists()
    assert "leaves the working dir" in (result.last_results[0].error or "")
