"""iteration_finished says only what no other event says, and refers to the rest by seq."""

from __future__ import annotations

import json
import sys
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
)
from loopwright.config import PREVIEW_CHARS
from loopwright.loop.history import Refs, iteration_event, rebuild
from loopwright.loop.types import (
    Budget,
    IterationRecord,
    Subgoal,
    TaskResult,
    Verdict,
)

PLAN3 = {"json": {"subgoals": [{"id": f"s{i}", "title": f"part {i}"} for i in range(3)]}}
NEVER = {"json": {"complete": False, "score": 0.2, "issues": ["not yet"], "next_steps": []}}
WORKER_TEXT = "WORKERTEXT " * 400
VERIFY = [sys.executable, "-c", "print('VERIFY' 'OUT ' * 400); raise SystemExit(1)"]


def _worker(request: AgentRequest) -> AgentResponse:
    assert request.work is not None
    if request.work.subgoal_id == "s1" and request.work.attempt == 1:
        return AgentResponse(text="", ok=False, error="flaky")
    assert request.output is not None
    request.output.write(WORKER_TEXT)
    return AgentResponse(text=WORKER_TEXT)


async def _two_iterations(tmp_path: Path) -> tuple[Harness, MemorySink]:
    scripted = ScriptedBackend({"planner": [PLAN3], "reviewer": [NEVER]})
    roles = Roles(planner=scripted, workers=[FunctionBackend(_worker)], reviewers=[scripted])
    config = LoopConfig(
        goal="make it so",
        success_criteria=["it is so"],
        cwd=str(tmp_path),
        verify_commands=[VERIFY],
        retry_backoff=0,
        budget=Budget(max_iterations=2),
    )
    sink = MemorySink()
    harness = Harness(config, roles, sink)
    with anyio.fail_after(30):
        await harness.run()
    return harness, sink


async def test_iteration_finished_carries_no_worker_text_and_names_the_worker_finished_seqs(
    tmp_path: Path,
) -> None:
    _, sink = await _two_iterations(tmp_path)
    [first, _] = sink.of_type("iteration_finished")
    said = json.dumps(first["data"])
    assert "WORKERTEXT" not in said and "VERIFYOUT" not in said
    by_seq = {e["seq"]: e for e in sink.events}
    results = first["data"]["record"]["results"]
    referred = [by_seq[r["seq"]] for r in results]
    assert [e["type"] for e in referred] == ["worker_finished"] * 3
    assert [(e["data"]["subgoal"], e["data"]["attempt"]) for e in referred] == [
        ("s0", 1),
        ("s1", 2),  # the attempt that holds the result, not the failed first one
        ("s2", 1),
    ]
    assert [e["iteration"] for e in referred] == [1, 1, 1]
    [verify] = first["data"]["record"]["verify"]
    assert by_seq[verify["seq"]]["type"] == "verify_finished" and verify["passed"] is False
    assert by_seq[first["data"]["record"]["plan"]]["type"] == "plan"
    assert by_seq[first["data"]["record"]["review"]]["type"] == "review"


async def test_the_referred_events_rebuild_the_iteration_the_harness_kept(tmp_path: Path) -> None:
    harness, sink = await _two_iterations(tmp_path)
    data = {e["seq"]: e["data"] for e in sink.events}
    rebuilt = [rebuild(e["data"]["record"], data) for e in sink.of_type("iteration_finished")]
    assert rebuilt == [_as_logged(r) for r in harness.state.history]


def test_a_subgoal_whose_merge_conflicted_keeps_its_error_in_the_record() -> None:
    worked = TaskResult(subgoal_id="s1", title="t", status="ok", attempts=1, summary="did it")
    merged = worked.model_copy(update={"status": "failed", "error": "merge conflict in a.py"})
    record = _record([merged])
    events: dict[int, Any] = {
        0: {"subgoals": [{"id": "s1", "title": "t"}]},
        1: _finished_data(worked),
        2: {"passed": True, "results": []},
        3: {"verdicts": [v.model_dump() for v in record.verdicts], "quorum": "all"},
    }
    data = iteration_event(record, ["s1 failed"], Refs(0, {"s1": 1}, 2, 3), [worked])
    entry = data["record"]["results"][0]
    assert entry == {"seq": 1, "status": "failed", "error": "merge conflict in a.py"}
    assert rebuild(data["record"], events) == record


def test_a_record_written_before_events_referred_to_each_other_still_rebuilds() -> None:
    result = TaskResult(subgoal_id="s1", title="t", status="ok", attempts=1, summary="did it")
    record = _record([result])
    old = record.model_dump()  # the whole record, as iteration_finished used to carry it
    assert rebuild(old, {}) == record


def _record(results: list[TaskResult]) -> IterationRecord:
    return IterationRecord(
        iteration=1,
        subgoals=[Subgoal(id="s1", title="t")],
        results=results,
        verify=[],
        verdicts=[Verdict(complete=False, issues=["x"])],
        passed=False,
    )


def _finished_data(r: TaskResult) -> dict[str, Any]:
    return {
        "subgoal": r.subgoal_id,
        "title": r.title,
        "attempt": r.attempts,
        "backend": r.backend,
        "status": r.status,
        "error": r.error,
        "duration": r.duration,
        "usage": {},
        "preview": r.summary,
        "output_path": None,
    }


def _as_logged(record: IterationRecord) -> IterationRecord:
    """What the log keeps of a record: the tail of each verify output (as it always did)."""
    verify = [v.model_copy(update={"output": v.output[-PREVIEW_CHARS:]}) for v in record.verify]
    return record.model_copy(update={"verify": verify})
