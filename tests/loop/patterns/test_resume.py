"""A resumed debate or delegate goes on from its log (``Earlier``): the calls whose
exchange the log holds are not made again, and what they cost still counts.

Each test runs the pattern once until a forced point where "the host dies" (``Died``, a
``BaseException`` that nothing in the pattern catches, raised by a backend or by the
sink), then runs it again over the first run's events with fresh recording backends and
checks who was asked."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import anyio
import pytest

from loopwright import AgentRequest, Usage
from loopwright.loop.budget import BudgetTracker
from loopwright.loop.events import MemorySink
from loopwright.loop.patterns import Earlier, PatternContext, context, debate, delegate
from loopwright.loop.types import Budget
from loopwright.loop.vocab import EventType

from ..fences import quoted_once
from .panel import Recording, exchanges

QUESTION = "Tabs or spaces?"
TASK = "Add a --version flag to the CLI"
COST = Usage(10, 5, 0.01)
YES = json.dumps({"complete": True, "score": 0.9, "issues": [], "next_steps": []})
PATCH = "diff --git a/cli.py b/cli.py\n+VERSION = '1'\n"


class Died(BaseException):
    """The run's host process dying at this point (no pattern code catches it)."""


class DyingSink(MemorySink):
    """A run's log whose host dies as it is about to record an event of ``type``."""

    def __init__(self, type: EventType) -> None:
        super().__init__()
        self.dies_at = type

    def emit(self, type: EventType, iteration: int, data: dict[str, Any]) -> int:
        if type == self.dies_at:
            raise Died(type)
        return super().emit(type, iteration, data)


def debater(name: str, keep_from: int = 99, vote: int = 1) -> Callable[[AgentRequest], str]:
    """Drafts ``<name> DRAFT round 0 words0``, revises to ``... round N wordsN`` until
    round ``keep_from``, then keeps its draft; as a voter or judge, picks ``vote``."""

    def reply(request: AgentRequest) -> str:
        if request.purpose == "judge":
            return json.dumps({"pick": vote, "reason": f"{name} likes it"})
        n = request.iteration
        if n >= keep_from:
            return json.dumps({"critique": "fine", "changed": False, "answer": "ignored"})
        text = f"{name} DRAFT round {n} words{n}"
        return text if n == 0 else json.dumps({"critique": "c", "changed": True, "answer": text})

    return reply


def dies(reply: Callable[[AgentRequest], str], when: Callable[[AgentRequest], bool]) -> Any:
    def answer(request: AgentRequest) -> str:
        if when(request):
            raise Died(request.purpose)
        return reply(request)

    return answer


def resumed_ctx(first: MemorySink, budget: Budget | None = None) -> tuple[PatternContext, Earlier]:
    """The context of the resumed run: its usage starts at what the first run's log cost."""
    earlier = Earlier.of(first.events)
    tracker = BudgetTracker(budget or Budget(), replace(earlier.used))
    return PatternContext(MemorySink(), tracker, ""), earlier


def sink_of(ctx: PatternContext) -> MemorySink:
    assert isinstance(ctx.sink, MemorySink)
    return ctx.sink


def steps(sink: MemorySink) -> list[tuple[str, int, int | None]]:
    return [(x["step"], x["round"], x["participant"]) for x in exchanges(sink)]


def dying_in(round: int) -> tuple[Recording, Recording]:
    """ALPHA and BETA (each call costing ``COST``); the host dies at BETA's call in
    ``round``, once ALPHA's call of that round is in the log."""
    alpha_done = anyio.Event()

    def alpha(request: AgentRequest) -> str:
        if request.iteration == round:
            alpha_done.set()
        return debater("ALPHA")(request)

    async def beta(request: AgentRequest) -> str:
        if request.iteration == round:
            await alpha_done.wait()
            raise Died(f"round {round}")
        return debater("BETA")(request)

    return Recording("m:1", alpha, COST), Recording("m:2", beta, COST)


async def test_a_debate_resumed_in_round_two_asks_only_the_missing_revision_and_the_judge() -> None:
    first = MemorySink()
    one, two = dying_in(2)
    judge = Recording("m:judge", debater("JUDGE", vote=2), COST)
    with pytest.raises(Died), anyio.fail_after(10):
        await debate(QUESTION, [one, two], rounds=2, judge=judge, converge_at=0.0,
                     ctx=context(first))  # fmt: skip
    assert steps(first) == [("draft", 0, 1), ("draft", 0, 2), ("revision", 1, 1),
                            ("revision", 1, 2), ("revision", 2, 1)]  # fmt: skip

    ctx, earlier = resumed_ctx(first)
    one, two = Recording("m:1", debater("ALPHA2"), COST), Recording("m:2", debater("BETA"), COST)
    judge = Recording("m:judge", debater("JUDGE", vote=2), COST)
    result = await debate(QUESTION, [one, two], rounds=2, judge=judge, converge_at=0.0,
                          ctx=ctx, earlier=earlier)  # fmt: skip
    assert result.state == "completed", result.error
    assert one.requests == [] and len(two.requests) == 1 and len(judge.requests) == 1
    quoted_once(two.prompts[0], "ALPHA DRAFT round 1 words1")  # the recovered drafts
    assert [sorted(r.drafts.values()) for r in result.rounds] == [
        ["ALPHA DRAFT round 0 words0", "BETA DRAFT round 0 words0"],
        ["ALPHA DRAFT round 1 words1", "BETA DRAFT round 1 words1"],
        ["ALPHA DRAFT round 2 words2", "BETA DRAFT round 2 words2"],
    ]
    assert result.pick is not None and result.pick.answer == "BETA DRAFT round 2 words2"
    assert result.usage.agent_calls == 7 and result.usage.cost_usd == pytest.approx(0.07)
    assert result.usage.input_tokens == 70
    sink = sink_of(ctx)
    assert steps(sink) == [("revision", 2, 2), ("judge", 2, None)]
    (resumed,) = sink.of_type("resumed")
    assert resumed["data"] == {"pattern": "debate", "step": "revision", "round": 2, "kept": 5,
                               "asking": [2]}  # fmt: skip
    assert [e["iteration"] for e in sink.of_type("disagreement")] == [2]  # 0, 1 are logged


async def test_a_resumed_debate_whose_judge_needed_a_repair_asks_the_judge_only_for_it() -> None:
    first = MemorySink()
    replies = iter(["which one?", "never mind"])

    def judging(request: AgentRequest) -> str:
        if "which one?" in request.prompt:  # the repair: the host dies during it
            raise Died("repair")
        return next(replies)

    one, two = Recording("m:1", debater("ALPHA")), Recording("m:2", debater("BETA"))
    with pytest.raises(Died):
        await debate(QUESTION, [one, two], rounds=1, judge=Recording("m:j", judging),
                     converge_at=0.0, ctx=context(first))  # fmt: skip

    ctx, earlier = resumed_ctx(first)
    one, two = Recording("m:1", debater("X")), Recording("m:2", debater("Y"))
    judge = Recording("m:j", json.dumps({"pick": 2, "reason": "clearer"}))
    result = await debate(QUESTION, [one, two], rounds=1, judge=judge, converge_at=0.0,
                          ctx=ctx, earlier=earlier)  # fmt: skip
    assert one.requests == two.requests == []
    (repair,) = judge.requests
    quoted_once(repair.prompt, "which one?")  # the first reply, from the log
    assert [x.text for x in result.picking] == ["which one?", json.dumps(
        {"pick": 2, "reason": "clearer"})]  # fmt: skip
    assert result.pick is not None and result.pick.answer == "BETA DRAFT round 1 words1"
    assert steps(sink_of(ctx)) == [("judge", 1, None)]


async def test_a_debate_that_died_recording_its_pick_resumes_without_asking_anyone() -> None:
    first = DyingSink("decision")
    one, two = Recording("m:1", debater("ALPHA")), Recording("m:2", debater("BETA"))
    judge = Recording("m:j", json.dumps({"pick": 1, "reason": "r"}))
    with pytest.raises(Died):
        await debate(QUESTION, [one, two], rounds=1, judge=judge, ctx=context(first),
                     converge_at=0.0)  # fmt: skip

    ctx, earlier = resumed_ctx(first)
    panel = [Recording("m:1", "asked again"), Recording("m:2", "asked again")]
    judge = Recording("m:j", "asked again")
    result = await debate(QUESTION, panel, rounds=1, judge=judge, converge_at=0.0, ctx=ctx,
                          earlier=earlier)  # fmt: skip
    assert result.state == "completed" and panel[0].requests == panel[1].requests == []
    assert judge.requests == []
    assert result.pick is not None and result.pick.answer == "ALPHA DRAFT round 1 words1"
    sink = sink_of(ctx)
    assert exchanges(sink) == [] and sink.of_type("resumed") == []
    (decision,) = sink.of_type("decision")
    assert decision["data"]["participant"] == 1


async def test_a_resumed_debate_decides_convergence_from_the_recovered_drafts() -> None:
    first = MemorySink()
    voted = anyio.Event()

    def alpha(request: AgentRequest) -> str:
        if request.purpose == "judge":
            voted.set()
        return debater("ALPHA", keep_from=1, vote=2)(request)

    async def beta(request: AgentRequest) -> str:
        if request.purpose == "judge":
            await voted.wait()
            raise Died("vote")
        return debater("BETA", keep_from=1)(request)

    with pytest.raises(Died), anyio.fail_after(10):
        await debate(QUESTION, [Recording("m:1", alpha), Recording("m:2", beta)], rounds=3,
                     ctx=context(first))  # fmt: skip

    ctx, earlier = resumed_ctx(first)
    one, two = Recording("m:1", debater("A2")), Recording("m:2", debater("B2", vote=2))
    result = await debate(QUESTION, [one, two], rounds=3, ctx=ctx, earlier=earlier)
    assert one.requests == [] and [r.purpose for r in two.requests] == ["judge"]
    assert result.converged and result.stop_reason == "converged after round 1"
    assert len(result.rounds) == 2 and result.rounds[1].kept == [1, 2]
    assert result.pick is not None and result.pick.by == "vote"
    assert result.pick.votes == {1: 0, 2: 2}  # ALPHA's vote from the log, BETA's asked now
    assert result.pick.answer == "BETA DRAFT round 0 words0"


async def test_a_resumed_debate_stops_on_the_budget_left_after_what_the_log_spent() -> None:
    first = MemorySink()
    one, two = dying_in(1)
    with pytest.raises(Died), anyio.fail_after(10):
        await debate(QUESTION, [one, two], rounds=2, ctx=context(first), converge_at=0.0)
    ctx, earlier = resumed_ctx(first, Budget(max_agent_calls=4))
    one, two = Recording("m:1", debater("A2"), COST), Recording("m:2", debater("BETA"), COST)
    result = await debate(QUESTION, [one, two], rounds=2, ctx=ctx, converge_at=0.0,
                          earlier=earlier)  # fmt: skip
    assert result.state == "stopped"
    assert result.stop_reason == "budget: max_agent_calls=4 reached"
    assert one.requests == [] and [r.iteration for r in two.requests] == [1]
    assert [len(r.exchanges) for r in result.rounds] == [2, 2, 0]  # round 2 was not begun
    assert result.usage.agent_calls == 4 and result.usage.cost_usd == pytest.approx(0.04)
    assert sink_of(ctx).of_type("budget_exhausted")


class FakeWorkspace:
    """Stands in for the run's worktree; ``left``: what an interrupted attempt changed."""

    def __init__(self, left: list[str] | None = None) -> None:
        self.calls: list[str] = []
        self.left = left or []

    async def begin(self) -> None:
        self.calls.append("begin")

    async def changes(self) -> str:
        self.calls.append("changes")
        return PATCH

    async def resume(self) -> list[str]:
        self.calls.append("resume")
        return self.left


async def test_a_resumed_delegate_whose_work_finished_goes_to_the_review() -> None:
    first = MemorySink()
    worker = Recording("ollama:coder@box", "Added VERSION", COST)
    dying = Recording("anthropic:caller", dies(lambda r: YES, lambda r: True))
    with pytest.raises(Died):
        await delegate(TASK, worker, reviewer=dying, workspace=FakeWorkspace(), ctx=context(first))

    ctx, earlier = resumed_ctx(first)
    worker = Recording("ollama:coder@box", "asked again")
    reviewer, ws = Recording("anthropic:caller", YES, COST), FakeWorkspace()
    result = await delegate(TASK, worker, reviewer=reviewer, workspace=ws, ctx=ctx,
                            earlier=earlier)  # fmt: skip
    assert result.state == "completed" and worker.requests == []
    assert result.work is not None and result.work.text == "Added VERSION"
    assert ws.calls == ["resume", "changes"] and result.patch == PATCH
    (review,) = reviewer.requests
    quoted_once(review.prompt, "Added VERSION")
    assert result.usage.agent_calls == 2 and result.usage.cost_usd == pytest.approx(0.02)
    sink = sink_of(ctx)
    assert steps(sink) == [("review", 0, None)]
    (resumed,) = sink.of_type("resumed")
    assert resumed["data"] == {"pattern": "delegate", "step": "review", "round": 0, "kept": 1}


async def test_a_resumed_delegate_whose_work_did_not_finish_restarts_it_in_the_same_worktree() -> (
    None
):
    first = MemorySink()
    dying = Recording("ollama:coder@box", dies(lambda r: "", lambda r: True))
    with pytest.raises(Died):
        await delegate(TASK, dying, workspace=FakeWorkspace(), ctx=context(first))

    ctx, earlier = resumed_ctx(first)
    worker, ws = Recording("ollama:coder@box", "Finished it"), FakeWorkspace(["half.txt"])
    result = await delegate(TASK, worker, workspace=ws, ctx=ctx, earlier=earlier)
    assert result.state == "completed" and ws.calls == ["resume", "changes"]
    (work,) = worker.requests
    assert work.prompt.startswith(TASK) and "interrupted" in work.prompt
    assert "changes to 1 file(s)" in work.prompt and "half.txt" not in work.prompt
    (resumed,) = sink_of(ctx).of_type("resumed")
    assert resumed["data"] == {"pattern": "delegate", "step": "work", "round": 0, "kept": 0,
                               "restarted": True, "files": ["half.txt"], "changed": 1}  # fmt: skip


async def test_a_resumed_delegate_takes_a_recorded_review_instead_of_asking_again() -> None:
    first = DyingSink("decision")
    worker, reviewer = Recording("m:w", "done"), Recording("m:r", YES)
    with pytest.raises(Died):
        await delegate(TASK, worker, reviewer=reviewer, ctx=context(first))
    ctx, earlier = resumed_ctx(first)
    worker, reviewer = Recording("m:w", "again"), Recording("m:r", "again")
    result = await delegate(TASK, worker, reviewer=reviewer, ctx=ctx, earlier=earlier)
    assert worker.requests == reviewer.requests == []
    assert result.state == "completed" and result.verdict is not None
    assert len(sink_of(ctx).of_type("decision")) == 1


def test_an_exchange_the_log_cut_is_asked_again_but_its_cost_still_counts() -> None:
    whole = {"step": "draft", "spec": "m:1", "purpose": "debate", "participant": 1,
             "text": "short", "input_tokens": 3, "output_tokens": 2, "cost_usd": 0.5}  # fmt: skip
    cut = {**whole, "participant": 2, "text": "x" * 16_000, "truncated": 20_000, "cost_usd": None}
    events = [{"type": "exchange", "iteration": 0, "data": d} for d in (whole, cut)]
    events.append({"type": "disagreement", "iteration": 0, "data": {}})
    earlier = Earlier.of(events)
    assert [x.participant for x in earlier.exchanges] == [1]
    assert earlier.take("draft", 0, 2, "m:1") is None and earlier.take("draft", 0, 1, "m:2") is None
    assert earlier.used.agent_calls == 2 and earlier.used.input_tokens == 6
    assert earlier.used.cost_usd == 0.5 and earlier.used.unknown_cost_calls == 1
    assert not earlier.unrecorded("disagreement", 0) and earlier.unrecorded("decision", 0)
