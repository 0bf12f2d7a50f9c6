"""How an iteration is written into the event log, and read back to resume a run.

Each thing is said once. A worker's result is in its ``worker_finished`` event, the
subgoals in ``plan``, the verify results and output in ``verify_finished``, the verdicts
in ``review``; ``iteration_finished`` holds the gate's decision and refers to those events
by seq::

    {"passed": false, "reasons": ["verify failed: pytest -q"],
     "record": {"iteration": 2, "plan": 31,
                "results": [{"seq": 34, "status": "ok"},
                            {"seq": 36, "status": "failed", "error": "merge conflict ..."}],
                "verify": [{"seq": 38, "passed": false}],
                "review": 40, "passed": false}}

``results`` follow the plan's order, each naming the subgoal's last ``worker_finished``;
``error`` is there only when the iteration's view differs from the worker's (its merge
conflicted). ``verify`` has one entry per command, in the order of that event's results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import PREVIEW_CHARS
from .types import IterationRecord, Subgoal, TaskResult, Verdict, VerifyResult

REFERRED = frozenset({"plan", "worker_finished", "verify_finished", "review"})
"""The event types an ``iteration_finished`` refers to."""


@dataclass
class Refs:
    """The seqs of the events that hold one iteration's parts."""

    plan: int
    workers: dict[str, int]
    """subgoal id -> its last ``worker_finished``"""
    verify: int
    review: int


def verify_event(verify: list[VerifyResult]) -> dict[str, Any]:
    """``verify_finished``: each command's result with the tail of its output."""
    return {
        "passed": all(v.passed for v in verify),
        "results": [
            {**v.model_dump(exclude={"output"}), "output_tail": v.output[-PREVIEW_CHARS:]}
            for v in verify
        ],
    }


def iteration_event(
    record: IterationRecord, reasons: list[str], refs: Refs, worked: list[TaskResult]
) -> dict[str, Any]:
    """``iteration_finished`` for ``record``; ``worked`` are the results as the workers left
    them (before their merge), which is what their ``worker_finished`` events say."""
    said = {w.subgoal_id: w.error for w in worked}
    results = []
    for r in record.results:
        entry: dict[str, Any] = {"seq": refs.workers[r.subgoal_id], "status": r.status}
        if r.error != said.get(r.subgoal_id):
            entry["error"] = r.error
        results.append(entry)
    body = {
        "iteration": record.iteration,
        "plan": refs.plan,
        "results": results,
        "verify": [{"seq": refs.verify, "passed": v.passed} for v in record.verify],
        "review": refs.review,
        "passed": record.passed,
    }
    return {"passed": record.passed, "reasons": reasons, "record": body}


def rebuild(record: Mapping[str, Any], events: Mapping[int, Mapping[str, Any]]) -> IterationRecord:
    """The ``IterationRecord`` an ``iteration_finished`` record stands for. ``events`` maps
    seq to the data of the events it refers to; a missing one raises ``KeyError``."""
    if "subgoals" in record:  # written before events referred to each other: whole
        return IterationRecord.model_validate(record)
    plan, review = events[record["plan"]], events[record["review"]]
    results = [_result(entry, events[entry["seq"]]) for entry in record["results"]]
    verify = [
        _verify(events[entry["seq"]]["results"][n]) for n, entry in enumerate(record["verify"])
    ]
    return IterationRecord(
        iteration=record["iteration"],
        subgoals=[Subgoal.model_validate(s) for s in plan["subgoals"]],
        results=results,
        verify=verify,
        verdicts=[Verdict.model_validate(v) for v in review["verdicts"]],
        passed=record["passed"],
    )


def _result(entry: Mapping[str, Any], finished: Mapping[str, Any]) -> TaskResult:
    return TaskResult(
        subgoal_id=finished["subgoal"],
        title=finished["title"],
        status=entry["status"],
        attempts=finished["attempt"],
        summary=finished["preview"],
        error=entry["error"] if "error" in entry else finished["error"],
        duration=finished["duration"],
        backend=finished.get("backend", ""),
    )


def _verify(result: Mapping[str, Any]) -> VerifyResult:
    fields = {k: v for k, v in result.items() if k != "output_tail"}
    return VerifyResult.model_validate({**fields, "output": result["output_tail"]})
