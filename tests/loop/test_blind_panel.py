"""A panel of reviewers is blind: no reviewer's prompt holds another's verdict, whatever
order they answer in; how they differed is recorded with each iteration's review."""

from __future__ import annotations

import json
from pathlib import Path

import anyio

from loopwright import AgentRequest, FunctionBackend, Harness, MemorySink, Roles, ScriptedBackend

from .test_loop import config


def verdict(complete: bool, score: float, marker: str) -> str:
    issues = [f"ISSUE-FROM-{marker}"]
    return json.dumps({"complete": complete, "score": score, "issues": issues, "next_steps": []})


async def test_no_reviewer_sees_another_reviewers_verdict_even_when_they_answer_in_turn(
    tmp_path: Path,
) -> None:
    prompts: dict[str, list[str]] = {"A": [], "B": [], "C": []}
    a_done, b_done = anyio.Event(), anyio.Event()

    def a(request: AgentRequest) -> str:
        prompts["A"].append(request.prompt)
        a_done.set()
        return verdict(True, 0.9, "A")

    async def b(request: AgentRequest) -> str:
        prompts["B"].append(request.prompt)
        await a_done.wait()  # answers after A
        b_done.set()
        return verdict(False, 0.3, "B")

    async def c(request: AgentRequest) -> str:
        prompts["C"].append(request.prompt)
        await b_done.wait()  # answers after A and B, and needs a repair
        if len(prompts["C"]) == 1:
            return "not json at all"
        return verdict(True, 0.8, "C")

    reviewers = [FunctionBackend(f, spec=f"rev:{n}") for n, f in (("A", a), ("B", b), ("C", c))]
    worker = ScriptedBackend()
    roles = Roles(planner=worker, workers=[worker], reviewers=reviewers)
    sink = MemorySink()
    cfg = config(tmp_path, budget={"max_iterations": 1})
    with anyio.fail_after(30):
        await Harness(cfg, roles, sink).run()
    assert len(prompts["C"]) == 2  # its first reply was repaired after A and B had answered
    for name, seen in prompts.items():
        for prompt in seen:
            assert "ISSUE-FROM" not in prompt, f"reviewer {name} saw another's verdict"
    (review,) = sink.of_type("review")
    split = review["data"]["disagreement"]
    assert split == {
        "split": True,
        "complete": ["rev:A", "rev:C"],
        "incomplete": ["rev:B"],
        "score_spread": 0.6,
    }


async def test_a_panel_that_agrees_is_not_split(tmp_path: Path) -> None:
    reviewers = [FunctionBackend(lambda r: verdict(True, 1.0, "X"), spec=f"r{n}") for n in (1, 2)]
    worker = ScriptedBackend()
    sink = MemorySink()
    roles = Roles(planner=worker, workers=[worker], reviewers=reviewers)
    await Harness(config(tmp_path), roles, sink).run()
    assert sink.of_type("review")[0]["data"]["disagreement"]["split"] is False
