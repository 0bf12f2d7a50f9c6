"""Runs of the loop on a real repository with in-process backends that note their prompts:
the first iteration's verify fails, the second's change makes it pass."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio

from loopwright import AgentRequest, AgentResponse, FunctionBackend
from loopwright.loop.harness import Roles
from loopwright.loop.types import RunResult
from loopwright.runs import runner
from loopwright.runs.drive import drive
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

VERIFY = [sys.executable, "-c", "import os, sys; sys.exit(0 if os.path.exists('fixed.txt') else 1)"]
TITLES = {1: "Teach parse_date the ISO week form", 2: "Accept the W prefix in parse_date"}


class Backends:
    """A planner and clarifier that note their prompts, a worker whose second iteration
    writes ``fixed.txt``, a reviewer that always says complete (verify decides)."""

    def __init__(self, titles: dict[int, str] | None = None, flaky: bool = False) -> None:
        self.titles = titles or TITLES
        self.flaky = flaky
        """The worker's first attempt in iteration 2 fails."""
        self.plan_prompts: list[str] = []
        self.clarify_prompts: list[str] = []
        self.work_prompts: list[tuple[str, str]] = []

    def roles(self) -> Roles:
        return Roles(
            planner=FunctionBackend(self.plan, "function:planner"),
            workers=[FunctionBackend(self.work, "function:worker")],
            reviewers=[FunctionBackend(self.review, "function:reviewer")],
        )

    def plan(self, request: AgentRequest) -> str:
        if request.purpose == "clarify":
            self.clarify_prompts.append(request.prompt)
            return json.dumps({"criteria": ["the tests pass"], "questions": []})
        self.plan_prompts.append(request.prompt)
        title = self.titles.get(request.iteration or 1, "more")
        return json.dumps({"subgoals": [{"id": "s1", "title": title, "instructions": "do it"}]})

    def work(self, request: AgentRequest) -> AgentResponse:
        self.work_prompts.append((request.system, request.prompt))
        if request.iteration == 2 and self.flaky and request.work and request.work.attempt == 1:
            return AgentResponse(text="gave up: the parser is too tangled", ok=False, error="x")
        if request.iteration == 2:
            (Path(request.cwd) / "fixed.txt").write_text("fixed\n")
            return AgentResponse(text="parse_date now takes 2024-W05-3", duration=0.1)
        (Path(request.cwd) / "tried.txt").write_text(f"try {request.iteration}\n")
        return AgentResponse(text="first try at week dates", duration=0.1)

    def review(self, request: AgentRequest) -> str:
        return json.dumps({"complete": True, "score": 1.0, "issues": [], "next_steps": []})


async def loop_run(
    store: RunStore, repo: Path, goal: str, backends: Backends | None = None, **options: Any
) -> tuple[str, RunResult, Backends]:
    """One run of ``goal`` on ``repo`` to its end, through ``drive`` as a run host does."""
    backends = backends or Backends()
    request = build_request(
        goal,
        cwd=str(repo),
        verify=[VERIFY],
        budget={"max_iterations": 3},
        options={"retry_backoff": 0, "worker_retries": 1},
        **options,
    )
    run_id = runner.create_run(store, request)
    with anyio.fail_after(60):
        result = await drive(store, run_id, roles=backends.roles())
    return run_id, result, backends
