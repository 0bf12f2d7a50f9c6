"""A run's time and iterations as they really are, for status readers and end results.

The host writes ``elapsed`` only when it writes the status (phase changes), so the stored
value of a live run is as old as its last write: readers add the time since then. A run
that ends inside an iteration (cancelled, out of time, failed) has begun one iteration
more than it finished: its result counts that iteration and says it was cut short.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..loop.vocab import RunState
from .status import RunStatus

if TYPE_CHECKING:
    from ..loop.types import RunResult

TICKING: frozenset[RunState] = frozenset({"running", "paused"})
"""States in which the host is alive and the run's clock runs."""


def elapsed_now(status: RunStatus, now: float | None = None) -> float:
    """Seconds the run has run: the stored value, plus the time since it was written while
    the run's clock is running."""
    stored = float(status.get("elapsed") or 0.0)
    written = status.get("updated_at")
    if status.get("state") not in TICKING or not written:
        return stored
    now = time.time() if now is None else now
    return round(stored + max(0.0, now - float(written)), 3)


def with_elapsed_now(status: RunStatus) -> RunStatus:
    """``status`` (changed in place and returned) with ``elapsed`` as of now."""
    status["elapsed"] = elapsed_now(status)
    return status


def as_it_ran(result: RunResult, status: RunStatus) -> None:
    """Fill in what a result made outside the harness lacks, from the host's own status:
    the iteration the run had reached (``status["iteration"]``) and its running time."""
    if not result.duration:
        result.duration = elapsed_now(status)
    finished, reached = result.iterations, int(status.get("iteration") or 0)
    if reached > finished:
        result.iterations = reached
        result.summary = (
            f"{result.state} during iteration {reached} ({finished} finished): {result.stop_reason}"
        )
