"""Rebuild where a loop stands from its event log, to resume it in a new process."""

from __future__ import annotations

from pathlib import Path

from ..loop.types import KEEP_HISTORY, IterationRecord, LoopState, Question, UsageTotals
from ..loop.vocab import Event
from .eventlog import read_events
from .status import RunStatus


def replay(events_path: Path, status: RunStatus) -> LoopState:
    state = LoopState(
        usage=UsageTotals.from_dict(status.get("usage") or {}),
        elapsed=float(status.get("elapsed") or 0.0),
    )
    records: dict[int, IterationRecord] = {}
    cursor: str | None = None
    while True:
        page = read_events(events_path, cursor, limit=5000)
        for event in page.events:
            _apply(state, records, event)
        cursor = page.cursor
        if not page.more:
            break
    done = sorted(records)
    state.iterations = done[-1] if done else 0
    state.history = [records[k] for k in done[-KEEP_HISTORY:]]
    return state


def _apply(state: LoopState, records: dict[int, IterationRecord], event: Event) -> None:
    kind, data = event.get("type"), event.get("data") or {}
    if kind == "intake":
        state.criteria = list(data.get("criteria") or [])
    elif kind == "questions":
        state.questions = [Question.model_validate(q) for q in data.get("questions", [])]
    elif kind == "answers":
        state.answers.update({str(k): str(v) for k, v in (data.get("answers") or {}).items()})
    elif kind == "iteration_finished" and "record" in data:
        record = IterationRecord.model_validate(data["record"])
        records[record.iteration] = record
