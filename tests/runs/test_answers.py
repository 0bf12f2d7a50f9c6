"""Answers to a run's questions: every one answered, none to a question it did not ask."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.errors import UserError
from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..helpers import write_scenario

ASKS = {"json": {"criteria": ["x"], "questions": [{"id": "q1", "text": "Which?"},
                                                  {"id": "q2", "text": "Where?"}]}}  # fmt: skip


def test_an_answer_to_a_question_the_run_did_not_ask_is_refused_naming_it(
    store: RunStore, tmp_path: Path
) -> None:
    spec = write_scenario(tmp_path / "s.json", {"clarifier": [ASKS]})
    run = runner.start_thread(store, build_request("g", backend=spec, questions="ask"))
    assert run.wait(30)["state"] == "needs_input"
    with pytest.raises(UserError, match=r"asked no question 'q9'; it asked: q1, q2") as caught:
        runner.resume(store, run.run_id, {"q1": "a", "q2": "b", "q9": "c"}, spawn=False)
    assert caught.value.field == "answers"
    with pytest.raises(UserError, match="answers missing for question"):
        runner.resume(store, run.run_id, {"q1": "a"}, spawn=False)
    assert store.read_status(run.run_id)["state"] == "needs_input"
