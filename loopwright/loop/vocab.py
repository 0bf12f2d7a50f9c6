"""Every vocabulary of loopwright, each a ``Literal`` defined once and imported where used:
run states, event types, review quorum, question and cleanup policies, sandbox modes.
Lists and sets of them are derived with ``typing.get_args``, never spelled again. Also the
record of the event log, whose ``type`` is one of them.

Plain ``typing`` only: the CLI's parser and a run-host's start import it for nothing.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, cast, get_args

LiveState = Literal["queued", "running", "paused"]
"""A host owns the run (``paused``: it waits for a usage limit to reset, then goes on)."""
TerminalState = Literal["completed", "stopped", "failed", "cancelled"]
"""The run ended and never runs again (``interrupted`` and ``needs_input`` may resume)."""
RunState = Literal[LiveState, "needs_input", TerminalState, "interrupted"]
"""Every run state, in lifecycle order."""

ALL_STATES: tuple[RunState, ...] = get_args(RunState)
LIVE_STATES: tuple[LiveState, ...] = get_args(LiveState)
TERMINAL_STATES: frozenset[RunState] = frozenset(get_args(TerminalState))

Quorum = Literal["all", "majority", "any"]
"""How many reviewers must say complete."""
RemoteQuestionPolicy = Literal["auto", "ask"]
"""The question policies of a caller with no terminal of ours (MCP): assume, or ask."""
QuestionPolicy = Literal[RemoteQuestionPolicy, "console"]
"""``console``: prompt on this terminal (the CLI only)."""
CleanupPolicy = Literal["auto", "always", "never"]
"""What happens to a run's worktree at its end: kept iff it committed, removed, kept."""
RoutePolicy = Literal["fixed", "cloud", "local-first", "planner"]
"""Which worker takes each subgoal: in turn, the cloud one, the fastest fitting local one
(escalating a local failure to the cloud), or the plan's assignment (``hosts.routing``)."""
SandboxMode = Literal["off", "verify", "all"]
"""What a run confines in the bubblewrap sandbox: nothing, its verify commands, or also
its agent CLIs and the tool loop's commands."""
PatternName = Literal["loop", "consult", "delegate", "debate", "improve", "chat"]
"""What a run runs: the coding loop, or one of the patterns of ``loop/patterns`` (``chat``:
a ``loopwright chat`` session, driven by the REPL's own process, never by a run host)."""
ExchangeStep = Literal[
    "answer", "synthesis", "draft", "revision", "vote", "judge", "work", "review", "reply"
]
"""Which step of a pattern an ``exchange`` event (one backend call) was."""
PickMethod = Literal["judge", "vote"]
"""How a debate picks its answer: one judge backend, or the participants' votes."""
MemoryMode = Literal["off", "repo", "all"]
"""What a run's planner recalls of past runs, and whether the run is remembered: nothing
(and it is not remembered), lessons of runs in the same repository, or of any."""

EventType = Literal[
    "run_started",
    "resumed",
    "intake",
    "questions",
    "answers",
    "plan",
    "worker_started",
    "worker_output",
    "worker_finished",
    "model_call",
    "model_pull",
    "host_held",
    "host_released",
    "host_failover",
    "verify_started",
    "verify_finished",
    "review",
    "iteration_finished",
    "budget_exhausted",
    "warning",
    "error",
    "cancelled",
    "interrupted",
    "paused",
    "worktree_ready",
    "checkpoint",
    "merge",
    "outcomes",
    "security",
    "run_finished",
    "exchange",
    "disagreement",
    "decision",
    "memory_recalled",
    "cycle",
    "message",
    "command",
]
"""The ``type`` of each record of a run's event log (the README's table says their data)."""


def backend_event(name: str) -> EventType:
    """An event a backend adds, as an ``EventType``. Backends sit below the loop and name
    theirs (``worker_output``, ``model_call``, ``model_pull``, ``host_held``, ``warning``)
    as plain strings; ``tests/loop/test_vocab.py`` checks that every name they use is one."""
    return cast(EventType, name)


EventData = dict[str, Any]
"""What an event says: its keys depend on its ``type`` (the README's table)."""


class Event(TypedDict):
    """One record of a run's event log (``events.jsonl``, one JSON object a line)."""

    seq: int
    """Counts from 0 without gaps; later events refer to earlier ones by it."""
    ts: float
    run_id: NotRequired[str]
    """In every record of a run's log; not in a ``MemorySink``'s (there is no run)."""
    type: EventType
    iteration: int
    data: EventData
