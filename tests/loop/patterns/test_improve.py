"""The improve pattern over a workspace that only records: keep, revert, choose, stop."""

from __future__ import annotations

import json

from loopwright import AgentRequest, AgentResponse, FunctionBackend
from loopwright.loop.events import MemorySink
from loopwright.loop.patterns.common import context
from loopwright.loop.patterns.improve import improve
from loopwright.loop.types import VerifyResult


class Ledger:
    """An ImproveWorkspace that notes what it was asked to do."""

    def __init__(self) -> None:
        self.log: list[str] = []

    async def begin(self, cycle: int) -> None:
        self.log.append(f"begin {cycle}")

    async def attempt(self, cycle: int, subject: str) -> str:
        return f"diff --git a/f{cycle}.py b/f{cycle}.py\n+x\n"

    async def keep(self, cycle: int, subject: str) -> str:
        self.log.append(f"keep {cycle}")
        return f"sha{cycle}"

    async def revert(self, cycle: int, subject: str) -> str | None:
        self.log.append(f"revert {cycle}")
        return f"branch{cycle}"


async def test_verify_decides_keep_or_revert_and_the_reviewer_names_the_next_step() -> None:
    outcomes = iter([True, False, True])
    steps = iter([["b"], ["never used"], []])
    prompts: list[str] = []

    def work(request: AgentRequest) -> AgentResponse:
        prompts.append(request.prompt)
        return AgentResponse(text="done")

    def review(request: AgentRequest) -> str:
        return json.dumps({"complete": True, "issues": [], "next_steps": next(steps)})

    async def verify() -> list[VerifyResult]:
        ok = next(outcomes)
        return [VerifyResult(argv=["t"], passed=ok, exit_code=0 if ok else 1, output="E boom")]

    ledger, sink = Ledger(), MemorySink()
    result = await improve(
        "make it better", FunctionBackend(work, "f:w"), FunctionBackend(review, "f:r"),
        verify=verify, workspace=ledger, ctx=context(sink),
    )  # fmt: skip
    assert ledger.log == ["begin 1", "keep 1", "begin 2", "revert 2", "begin 3", "keep 3"]
    assert [c.verdict for c in result.cycles] == ["kept", "reverted", "kept"]
    assert [c.improvement for c in result.cycles] == ["make it better", "b", "b"]
    assert result.state == "completed" and "nothing left" in result.stop_reason
    assert result.good == "sha3" and result.cycles[1].branch == "branch2"
    assert "E boom" in prompts[2] and "E boom" not in prompts[1]
    assert len(sink.of_type("cycle")) == 3


async def test_max_cycles_and_a_stop_end_it_after_a_settled_cycle() -> None:
    def work(request: AgentRequest) -> AgentResponse:
        return AgentResponse(text="done")

    def review(request: AgentRequest) -> str:
        return json.dumps({"complete": True, "issues": [], "next_steps": ["more"]})

    async def verify() -> list[VerifyResult]:
        return []

    w, r = FunctionBackend(work, "f:w"), FunctionBackend(review, "f:r")
    two = await improve("t", w, r, verify=verify, workspace=Ledger(), max_cycles=2)
    assert (two.state, len(two.cycles)) == ("completed", 2)
    stopped = await improve("t", w, r, verify=verify, workspace=Ledger(), stop=lambda: True)
    assert (stopped.state, len(stopped.cycles)) == ("cancelled", 1)
    assert stopped.cycles[0].review is None  # asked to stop: the review step is skipped
