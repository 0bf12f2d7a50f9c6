"""Resume rebuilds where a loop stood from its event log alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from loopwright import AgentRequest, AgentResponse, FunctionBackend, Harness, ScriptedBackend
from loopwright.config import PREVIEW_CHARS
from loopwright.loop.harness import Roles
from loopwright.loop.types import IterationRecord, Subgoal, TaskResult, Verdict, VerifyResult
from loopwright.runs import runner
from loopwright.runs.drive import drive
from loopwright.runs.replay import replay
from loopwright.runs.request import RunRequest, build_request
from loopwright.runs.startup import begin
from loopwright.runs.store import RunStore

from ..loop.fences import same_boundary

PLAN = {"subgoals": [{"id": f"s{i}", "title": f"part {i}"} for i in range(3)]}
NEVER = {"json": {"complete": False, "score": 0.2, "issues": ["not yet"], "next_steps": []}}
VERIFY = [sys.executable, "-c", "print('FAILING' 'TEST ' * 300); raise SystemExit(1)"]


class Killed(BaseException):
    """Stands for the host process dying: nothing after it reaches the log."""


class Backends:
    """A planner that notes its prompts and workers that die in iteration ``kill_at``."""

    def __init__(self, kill_at: int | None) -> None:
        self.kill_at = kill_at
        self.plan_prompts: list[str] = []

    def roles(self) -> Roles:
        reviewer = ScriptedBackend({"reviewer": [NEVER]})
        return Roles(
            planner=FunctionBackend(self.plan, "function:planner"),
            workers=[FunctionBackend(self.work, "function:worker")],
            reviewers=[reviewer],
        )

    def plan(self, request: AgentRequest) -> str:
        self.plan_prompts.append(request.prompt)
        return json.dumps(PLAN)

    def work(self, request: AgentRequest) -> AgentResponse:
        assert request.work is not None and request.output is not None
        if request.iteration == self.kill_at:
            raise Killed
        if request.work.subgoal_id == "s2":
            return AgentResponse(text="", ok=False, error="broken", duration=0.25)
        request.output.write(f"{request.work.title} done\n" * 200)  # long: to a file
        return AgentResponse(text=f"{request.work.title} done", duration=0.5)


def _new_run(store: RunStore, tmp_path: Path) -> str:
    work = tmp_path / "work"
    work.mkdir()
    request = build_request(
        "fix it",
        cwd=str(work),
        isolate=False,
        criteria=["tests pass"],
        verify=[VERIFY],
        budget={"max_iterations": 3},
        options={"retry_backoff": 0, "worker_retries": 0},
    )
    return runner.create_run(store, request)


def _as_logged(record: IterationRecord) -> IterationRecord:
    verify = [v.model_copy(update={"output": v.output[-PREVIEW_CHARS:]}) for v in record.verify]
    return record.model_copy(update={"verify": verify})


async def test_a_run_killed_mid_way_resumes_with_the_same_history_from_a_log_in_the_new_shape(
    store: RunStore, tmp_path: Path
) -> None:
    run_id = _new_run(store, tmp_path)
    first = Backends(kill_at=3)
    recorder = begin(store, run_id, resume=False)
    request = RunRequest.model_validate(store.read_request(run_id))
    harness = Harness(request.loop, first.roles(), recorder)
    with anyio.fail_after(30), pytest.raises(Killed):
        await harness.run()
    recorder.close()
    assert len(harness.state.history) == 2

    state = replay(store.paths(run_id).events, store.read_status(run_id))
    assert state.iterations == 2
    assert state.history == [_as_logged(r) for r in harness.state.history]

    again = Backends(kill_at=None)
    with anyio.fail_after(30):
        result = await drive(store, run_id, resume=True, roles=again.roles())
    assert result.iterations == 3 and result.state == "stopped"
    # iteration 3 is planned from the same history, whether the run died in it or not
    assert [same_boundary(p) for p in again.plan_prompts] == [same_boundary(first.plan_prompts[2])]
    assert "part 2\nbroken" in again.plan_prompts[0] and "FAILINGTEST" in again.plan_prompts[0]


def test_a_log_in_the_old_shape_still_resumes(store: RunStore, tmp_path: Path) -> None:
    run_id = _new_run(store, tmp_path)
    record = IterationRecord(
        iteration=1,
        subgoals=[Subgoal(id="s1", title="t")],
        results=[TaskResult(subgoal_id="s1", title="t", status="ok", attempts=1, summary="ok")],
        verify=[VerifyResult(argv=["true"], passed=True, exit_code=0, output="fine")],
        verdicts=[Verdict(complete=False, issues=["more"])],
        passed=False,
    )
    old: dict[str, Any] = {"passed": False, "reasons": ["r"], "record": record.model_dump()}
    line = {"seq": 0, "ts": 1.0, "run_id": run_id, "type": "iteration_finished"}
    store.paths(run_id).events.write_text(json.dumps({**line, "iteration": 1, "data": old}) + "\n")
    state = replay(store.paths(run_id).events, store.read_status(run_id))
    assert state.iterations == 1 and state.history == [record]


async def test_a_damaged_worker_finished_line_loses_that_iterations_history_not_its_count(
    store: RunStore, tmp_path: Path
) -> None:
    run_id = _new_run(store, tmp_path)
    with anyio.fail_after(30):
        await drive(store, run_id, roles=Backends(kill_at=None).roles())
    events = store.paths(run_id).events
    lines = events.read_text().splitlines()
    first = next(n for n, line in enumerate(lines) if '"worker_finished"' in line)
    lines[first] = lines[first][:40]  # torn in the middle: the reader skips it
    events.write_text("\n".join(lines) + "\n")
    state = replay(events, store.read_status(run_id))
    assert state.iterations == 3
    assert [r.iteration for r in state.history] == [2, 3]
