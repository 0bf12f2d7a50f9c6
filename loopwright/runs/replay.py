"""Rebuild where a loop stands from its event log, to resume it in a new process."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..loop.history import REFERRED, rebuild
from ..loop.types import KEEP_HISTORY, IterationRecord, LoopState, Question, UsageTotals
from ..loop.vocab import Event
from .eventlog import read_events
from .status import RunStatus


@dataclass
class _Replay:
    state: LoopState
    records: dict[int, IterationRecord] = field(default_factory=dict)
    referred: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Data of the events the next ``iteration_finished`` may refer to, by seq: those
    since the last one (an iteration redone after a crash refers to its own)."""
    iterations: int = 0


def replay(events_path: Path, status: RunStatus) -> LoopState:
    r = _Replay(
        LoopState(
            usage=UsageTotals.from_dict(status.get("usage") or {}),
            elapsed=float(status.get("elapsed") or 0.0),
        )
    )
    cursor: str | None = None
    while True:
        page = read_events(events_path, cursor, limit=5000)
        for event in page.events:
            _apply(r, event)
        cursor = page.cursor
        if not page.more:
            break
    r.state.iterations = r.iterations
    r.state.history = [r.records[k] for k in sorted(r.records)[-KEEP_HISTORY:]]
    return r.state


def _apply(r: _Replay, event: Event) -> None:
    kind, data, state = event.get("type"), event.get("data") or {}, r.state
    if kind in REFERRED:
        r.referred[event["seq"]] = data
    elif kind == "intake":
        state.criteria = list(data.get("criteria") or [])
    elif kind == "questions":
        state.questions = [Question.model_validate(q) for q in data.get("questions", [])]
    elif kind == "answers":
        state.answers.update({str(k): str(v) for k, v in (data.get("answers") or {}).items()})
    elif kind == "iteration_finished" and "record" in data:
        r.iterations = max(r.iterations, event["iteration"])
        # A damaged line (skipped by the reader) loses that iteration's history, not its count.
        with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
            record = rebuild(data["record"], r.referred)
            r.records[record.iteration] = record
        r.referred.clear()
