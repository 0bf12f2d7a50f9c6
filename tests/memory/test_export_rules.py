"""Who judges a worker turn for export: verify, else the review gate; a failed merge
rejects; an unfinished iteration, an empty reply and two equal replies make no line."""

from __future__ import annotations

import time
from typing import Any

from loopwright.memory.export import dpo_rows, sft_rows, turns


def _event(type: str, iteration: int, seq: int, **data: Any) -> dict[str, Any]:
    return {"seq": seq, "ts": time.time(), "type": type, "iteration": iteration, "data": data}


def _finished(seq: int, status: str, preview: str, attempt: int = 1) -> dict[str, Any]:
    return _event("worker_finished", 1, seq, subgoal="s1", title="t", attempt=attempt,
                  backend="b", status=status, error=None, preview=preview)  # fmt: skip


REQUEST = {"loop": {"goal": "g", "cwd": "/w"}}
PLAN = _event("plan", 1, 1, subgoals=[{"id": "s1", "title": "t"}])


def test_without_verify_commands_the_gate_decides_and_the_turn_is_not_verified() -> None:
    events = [PLAN, _finished(2, "ok", "done"), _event("verify_finished", 1, 3, results=[]),
              _event("iteration_finished", 1, 4, passed=True, record={"results": []})]  # fmt: skip
    [turn] = turns("r", REQUEST, events)
    assert turn.accepted and not turn.verified
    assert len(list(sft_rows([turn]))) == 1 and list(sft_rows([turn], only_verified=True)) == []


def test_a_merge_that_failed_rejects_the_turn_and_an_unfinished_iteration_is_left_out() -> None:
    record = {"results": [{"seq": 2, "status": "failed", "error": "merge conflict"}]}
    events = [PLAN, _finished(2, "ok", "done"),
              _event("verify_finished", 1, 3, results=[{"argv": ["true"], "passed": True}]),
              _event("iteration_finished", 1, 4, passed=False, record=record),
              _event("plan", 2, 5, subgoals=[{"id": "s1", "title": "t"}]),
              {**_finished(6, "ok", "late"), "iteration": 2}]  # fmt: skip
    [turn] = turns("r", REQUEST, events)
    assert not turn.accepted and turn.why == "its merge into the iteration failed"


def test_two_equal_replies_make_no_pair_and_an_empty_reply_no_line() -> None:
    events = [PLAN, _finished(2, "failed", "same"), _finished(3, "ok", "same", 2),
              _finished(4, "failed", "", 3),
              _event("verify_finished", 1, 5, results=[{"argv": ["true"], "passed": True}]),
              _event("iteration_finished", 1, 6, passed=True, record={"results": []})]  # fmt: skip
    judged = turns("r", REQUEST, events)
    assert [t.accepted for t in judged] == [False, True, False]
    assert list(dpo_rows(judged)) == []
