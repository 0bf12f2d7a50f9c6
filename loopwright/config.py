"""Settings that come from the environment: the state dir and input limits."""

from __future__ import annotations

import os
from pathlib import Path

MAX_GOAL_CHARS = 100_000
"""A goal longer than this is refused (it would not fit a planner prompt anyway)."""

PREVIEW_CHARS = 2_000
"""Text previews in events are cut to this many characters."""

WORKER_OUTPUT_CAP = 8 * 1024 * 1024
"""A worker's full output file stops growing past this many bytes (a marker says so)."""


def state_dir() -> Path:
    """``$LOOPWRIGHT_HOME``, else ``$XDG_STATE_HOME/loopwright``, else ~/.local/state/loopwright."""
    home = os.environ.get("LOOPWRIGHT_HOME")
    if home:
        return Path(home).expanduser().absolute()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return (base / "loopwright").absolute()
