"""What a run writes matches its one typed definition: ``status.json`` is a ``RunStatus``,
each line of ``events.jsonl`` an ``Event``, each index row an ``IndexRow``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

from loopwright.loop.types import Question
from loopwright.loop.vocab import ALL_STATES, Event, EventType
from loopwright.runs import runner
from loopwright.runs.index import IndexRow
from loopwright.runs.request import build_request
from loopwright.runs.status import RunStatus
from loopwright.runs.store import RunStore

from ..helpers import events_of, write_scenario

ASKS = {"json": {"criteria": ["x"], "questions": [{"id": "q1", "text": "Which DB?"}]}}


def assert_status(status: dict[str, Any]) -> None:
    assert RunStatus.__required_keys__ <= status.keys() <= RunStatus.__annotations__.keys()
    assert status["state"] in ALL_STATES
    for q in status.get("questions") or []:
        Question.model_validate(q)


def assert_event(event: dict[str, Any]) -> None:
    assert event.keys() == Event.__annotations__.keys()
    assert event["type"] in get_args(EventType)
    assert isinstance(event["seq"], int) and isinstance(event["iteration"], int)
    assert isinstance(event["ts"], float) and isinstance(event["data"], dict)


def test_a_run_writes_status_events_and_rows_of_their_declared_shapes(
    store: RunStore, tmp_path: Path
) -> None:
    spec = write_scenario(tmp_path / "s.json", {"clarifier": [ASKS]})
    run_id = runner.start(store, build_request("build it", backend=spec, questions="ask"))
    status_file = store.paths(run_id).status
    assert_status(json.loads(status_file.read_text()))  # as created, before its host runs
    assert runner.wait(store, run_id, timeout=30)["state"] == "needs_input"
    assert_status(json.loads(status_file.read_text()))
    runner.resume(store, run_id, {"q1": "sqlite"})
    assert runner.wait(store, run_id, timeout=30)["state"] == "completed"
    assert_status(json.loads(status_file.read_text()))
    events = events_of(store.paths(run_id).events)
    for event in events:
        assert_event(event)
    assert {e["run_id"] for e in events} == {run_id}
    (row,) = store.index.list()
    assert row.keys() == IndexRow.__annotations__.keys() and row["state"] == "completed"


def test_a_run_cancelled_from_outside_writes_a_declared_status_and_result(
    store: RunStore, tmp_path: Path
) -> None:
    spec = write_scenario(tmp_path / "s.json", {"worker": [{"delay": 30, "text": "slow"}]})
    run_id = runner.start(store, build_request("wait", backend=spec))
    runner.wait(store, run_id, timeout=30, states=frozenset({"running"}))
    status = runner.cancel(store, run_id)
    assert status["state"] == "cancelled"
    assert_status(json.loads(store.paths(run_id).status.read_text()))
    for event in events_of(store.paths(run_id).events):
        assert_event(event)
    result = store.read_result(run_id)
    assert result is not None and result["state"] == "cancelled" and result["run_id"] == run_id
