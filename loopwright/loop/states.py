"""Run states (plain constants: importing them costs nothing)."""

from __future__ import annotations

TERMINAL_STATES: frozenset[str] = frozenset({"completed", "stopped", "failed", "cancelled"})
LIVE_STATES: tuple[str, ...] = ("queued", "running", "paused")
"""A host owns the run (``paused``: it waits for a usage limit to reset, then goes on)."""
ALL_STATES: tuple[str, ...] = (
    "queued", "running", "paused", "needs_input", "completed", "stopped", "failed",
    "cancelled", "interrupted",
)  # fmt: skip
"""Every run state, in lifecycle order (``types.RunState`` spells the same for the checker)."""
