"""A run's iterations and model use, folded from its event log and kept up to date.

The fold reads each log once: the dashboard keeps one per recently viewed run with the
byte cursor it reached, and each look reads only what was appended since (``eventlog``'s
cursors), so a 100,000-event run costs one pass, then O(new events).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..loop.vocab import Event
from ..runs.eventlog import read_events

__all__ = ["Fold", "Iteration", "ModelUse", "Subgoal", "Timelines"]

BATCH = 5_000
KEEP_RUNS = 32
"""Folds kept in memory: the runs most recently looked at."""
KEEP_NOTES = 20
"""Warnings and errors kept per run (the newest)."""


@dataclass
class Subgoal:
    id: str
    title: str
    status: str = "planned"
    """planned, running, ok or failed."""
    backend: str = ""
    attempt: int = 0
    error: str | None = None
    duration: float | None = None
    output_path: str | None = None


@dataclass
class Iteration:
    number: int
    subgoals: dict[str, Subgoal] = field(default_factory=dict)
    verify: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    passed: bool | None = None
    """None while the iteration runs."""
    reasons: list[str] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    """The ``checkpoint`` event's data: sha, files, verdict, branch."""


@dataclass
class ModelUse:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unknown_cost_calls: int = 0


@dataclass
class Fold:
    """What the dashboard shows of one run's log, as of ``cursor``."""

    cursor: str = "0"
    events: int = 0
    iterations: dict[int, Iteration] = field(default_factory=dict)
    models: dict[str, ModelUse] = field(default_factory=dict)
    notes: list[Event] = field(default_factory=list)
    """The newest warnings and errors."""

    def iteration(self, number: int) -> Iteration:
        return self.iterations.setdefault(number, Iteration(number))

    def add(self, event: Event) -> None:
        self.events += 1
        handler = _HANDLERS.get(event.get("type", ""))
        if handler is not None:
            data = event.get("data")
            handler(self, event, data if isinstance(data, dict) else {})


def _plan(fold: Fold, event: Event, data: dict[str, Any]) -> None:
    it = fold.iteration(event["iteration"])  # a plan made again (a resume) replaces it
    it.subgoals = {}
    for s in data.get("subgoals") or []:
        if isinstance(s, dict):
            sid = str(s.get("id", ""))
            it.subgoals[sid] = Subgoal(sid, str(s.get("title", "")))


def _subgoal(fold: Fold, event: Event, data: dict[str, Any]) -> Subgoal:
    it = fold.iteration(event["iteration"])
    sid = str(data.get("subgoal", ""))
    return it.subgoals.setdefault(sid, Subgoal(sid, str(data.get("title", ""))))


def _worker_started(fold: Fold, event: Event, data: dict[str, Any]) -> None:
    s = _subgoal(fold, event, data)
    s.status, s.backend = "running", str(data.get("backend", ""))
    s.attempt = int(data.get("attempt") or 1)


def _worker_finished(fold: Fold, event: Event, data: dict[str, Any]) -> None:
    s = _subgoal(fold, event, data)
    s.status = "ok" if data.get("status") == "ok" else "failed"
    s.backend = str(data.get("backend") or s.backend)
    s.attempt = int(data.get("attempt") or s.attempt or 1)
    s.error = data.get("error")
    s.duration = data.get("duration")
    s.output_path = data.get("output_path")


def _verify(fold: Fold, event: Event, data: dict[str, Any]) -> None:
    fold.iteration(event["iteration"]).verify = [
        r for r in data.get("results") or [] if isinstance(r, dict)
    ]


def _review(fold: Fold, event: Event, data: dict[str, Any]) -> None:
    fold.iteration(event["iteration"]).verdicts = [
        v for v in data.get("verdicts") or [] if isinstance(v, dict)
    ]


def _finished(fold: Fold, event: Event, data: dict[str, Any]) -> None:
    it = fold.iteration(event["iteration"])
    it.passed = bool(data.get("passed"))
    it.reasons = [str(r) for r in data.get("reasons") or []]


def _checkpoint(fold: Fold, event: Event, data: dict[str, Any]) -> None:
    fold.iteration(event["iteration"]).checkpoint = data


def _model_call(fold: Fold, event: Event, data: dict[str, Any]) -> None:
    name = f"{data.get('provider', '?')}:{data.get('model', '?')}"
    use = fold.models.setdefault(name, ModelUse())
    use.calls += 1
    use.input_tokens += _int(data.get("input_tokens"))
    use.output_tokens += _int(data.get("output_tokens"))
    cost = data.get("cost_usd")
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        use.cost_usd += float(cost)
    else:
        use.unknown_cost_calls += 1


def _note(fold: Fold, event: Event, data: dict[str, Any]) -> None:
    fold.notes = [*fold.notes[-(KEEP_NOTES - 1) :], event]


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0


_HANDLERS = {
    "plan": _plan,
    "worker_started": _worker_started,
    "worker_finished": _worker_finished,
    "verify_finished": _verify,
    "review": _review,
    "iteration_finished": _finished,
    "checkpoint": _checkpoint,
    "model_call": _model_call,
    "warning": _note,
    "error": _note,
}


class Timelines:
    """The folds of recently viewed runs; ``get`` brings one up to date with its log."""

    def __init__(self, keep: int = KEEP_RUNS) -> None:
        self.keep = keep
        self._folds: OrderedDict[Path, Fold] = OrderedDict()
        self.lock = threading.Lock()
        """Held while a fold is updated; callers hold it while they read one too."""

    def get(self, events_path: Path) -> Fold:
        """The fold of the log at ``events_path``, caught up; call with ``lock`` held."""
        fold = self._folds.pop(events_path, None) or Fold()
        try:
            size = events_path.stat().st_size
        except FileNotFoundError:
            size = 0
        if int(fold.cursor) > size:  # not the log we folded (a run dir made anew)
            fold = Fold()
        while True:
            page = read_events(events_path, fold.cursor, limit=BATCH)
            for event in page.events:
                fold.add(event)
            fold.cursor = page.cursor
            if not page.more:
                break
        self._folds[events_path] = fold
        while len(self._folds) > self.keep:
            self._folds.popitem(last=False)
        return fold
