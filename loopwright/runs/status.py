"""``RunStatus``: what a run's ``status.json`` holds, defined once.

A ``TypedDict``, not a pydantic model, on purpose: the run-host takes its run (reads,
updates and rewrites the status) before it imports pydantic, so that a detached run shows
as started within tens of milliseconds; and every reader (``status``, ``tail -f``, the
server's polls) reads it many times a second. A ``TypedDict`` costs nothing at run time
and still lets the type checker hold every reader and writer to one shape. The file is
loopwright's own (written atomically by ``RunStore``), so it is not validated on read;
readers of a status written by an older version use ``.get`` for what it may lack.
"""

from __future__ import annotations

from typing import Any, Required, TypedDict

from ..loop.vocab import RunState


class StatusFields(TypedDict, total=False):
    """What a run's host changes as it goes (``RunRecorder.set_state``'s keywords)."""

    phase: str
    """queued, starting, workspace, intake, plan, work, verify, review, decide, needs_input
    or done."""
    iteration: int
    """The iteration the run has reached (begun, not necessarily finished)."""
    pid: int | None
    """The run-host's pid, None before it runs."""
    pid_start: int | None
    """The host's start time (clock ticks since boot): a reused pid is not taken for it."""
    usage: dict[str, float]
    """``UsageTotals.as_dict()``: agent calls, tokens, known cost."""
    elapsed: float
    """Seconds run, as of ``updated_at`` (``tally.elapsed_now`` adds the time since)."""
    questions: list[dict[str, Any]] | None
    """While ``needs_input``: the questions, each ``loop.types.Question`` as JSON."""
    error: str | None
    resume_at: float
    """While ``paused``: when the usage limit resets (epoch seconds)."""
    wake_signal: str | None
    """The signal that wakes a paused host (``loopwright resume``); None: it cannot be."""
    workspace: dict[str, Any]
    """The run's git workspace record (``git.worktree``): repo, branch, path, base, ..."""


class RunStatus(StatusFields):
    """A run's ``status.json``: its state and where it stands; replaced atomically."""

    run_id: Required[str]
    state: Required[RunState]
    started_at: Required[float]
    updated_at: Required[float]
    goal: Required[str]
