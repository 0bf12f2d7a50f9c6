"""delegate: the named backend does the task; the caller's backend reviews it."""

from __future__ import annotations

import json

from loopwright import AgentResponse
from loopwright.loop.events import MemorySink
from loopwright.loop.patterns import context, delegate
from loopwright.loop.types import Budget

from ..fences import quoted_once
from .panel import Recording, exchanges

TASK = "Add a --version flag to the CLI"
YES = json.dumps({"complete": True, "score": 0.9, "issues": [], "next_steps": []})
NO = json.dumps({"complete": False, "score": 0.3, "issues": ["no test"], "next_steps": ["add"]})
PATCH = "diff --git a/cli.py b/cli.py\n--- a/cli.py\n+++ b/cli.py\n+VERSION = '1'\n"


class FakeWorkspace:
    """Stands in for the run's git worktree: hands the reviewer a fixed diff."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def begin(self) -> None:
        self.calls.append("begin")

    async def changes(self) -> str:
        self.calls.append("changes")
        return PATCH

    async def resume(self) -> list[str]:
        self.calls.append("resume")
        return []


async def test_the_review_is_made_by_the_callers_backend_against_the_task() -> None:
    sink = MemorySink()
    worker = Recording("ollama:qwen-coder@box", "Added VERSION; DELEGATE-REPORT")
    caller = Recording("anthropic:claude", YES)
    ws = FakeWorkspace()
    result = await delegate(TASK, worker, reviewer=caller, workspace=ws, ctx=context(sink))
    assert result.state == "completed" and result.stop_reason == "the reviewer accepted the work"
    (work,) = worker.requests
    assert (work.purpose, work.may_edit, work.prompt) == ("work", True, TASK)
    (review,) = caller.requests
    assert review.purpose == "review" and not review.may_edit
    quoted_once(review.prompt, "Added VERSION; DELEGATE-REPORT")
    quoted_once(review.prompt, "+VERSION = '1'")
    quoted_once(review.prompt, TASK)
    assert "adds 1 and removes 0 line(s)" in review.prompt
    assert ws.calls == ["begin", "changes"]
    assert result.patch == PATCH and result.verdict is not None and result.verdict.complete
    assert result.verdict.reviewer == "anthropic:claude"
    assert [(e["step"], e["spec"]) for e in exchanges(sink)] == [
        ("work", "ollama:qwen-coder@box"),
        ("review", "anthropic:claude"),
    ]
    (decision,) = sink.of_type("decision")
    assert decision["data"]["complete"] is True and decision["data"]["by"] == "review"


async def test_work_the_reviewer_finds_incomplete_stops_with_its_issues() -> None:
    result = await delegate(TASK, Recording("w", "did half"), reviewer=Recording("r", NO))
    assert result.state == "stopped"
    assert result.stop_reason == "the reviewer found the work incomplete"
    assert result.verdict is not None and result.verdict.issues == ["no test"]
    assert result.work is not None and result.work.text == "did half"


async def test_a_failed_delegate_is_not_sent_for_review() -> None:
    reviewer = Recording("r", YES)
    failing = Recording("w", lambda r: AgentResponse(text="", ok=False, error="crashed"))
    result = await delegate(TASK, failing, reviewer=reviewer)
    assert result.state == "failed" and "crashed" in result.stop_reason
    assert not reviewer.requests


async def test_without_a_reviewer_the_work_comes_back_unreviewed() -> None:
    result = await delegate(TASK, Recording("w", "done"), may_edit=False)
    assert result.state == "completed" and "not reviewed" in result.stop_reason
    assert result.review is None and result.patch is None


async def test_an_unreadable_review_is_repaired_once() -> None:
    replies = iter(["looks good to me", YES])
    reviewer = Recording("r", lambda r: next(replies))
    result = await delegate(TASK, Recording("w", "done"), reviewer=reviewer)
    assert result.state == "completed"
    assert len(reviewer.requests) == 2
    quoted_once(reviewer.prompts[1], "looks good to me")


async def test_the_budget_stops_delegate_before_the_review_keeping_the_work() -> None:
    reviewer = Recording("r", YES)
    ctx = context(MemorySink(), Budget(max_agent_calls=1))
    result = await delegate(TASK, Recording("w", "done"), reviewer=reviewer, ctx=ctx)
    assert result.state == "stopped" and "max_agent_calls" in result.stop_reason
    assert result.work is not None and result.work.text == "done"
    assert not reviewer.requests
