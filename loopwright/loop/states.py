"""Run states (plain constants: importing them costs nothing)."""

from __future__ import annotations

TERMINAL_STATES: frozenset[str] = frozenset({"completed", "stopped", "failed", "cancelled"})
LIVE_STATES: tuple[str, ...] = ("queued", "running")
