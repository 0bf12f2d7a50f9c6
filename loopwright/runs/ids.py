"""Run ids that sort by time: ``YYYYMMDD-HHMMSSmmm-xxxxxx`` (UTC, ms, random hex)."""

from __future__ import annotations

import re
import secrets
import threading
import time

from ..errors import UserError

RUN_ID_RE = re.compile(r"[0-9]{8}-[0-9]{9}-[0-9a-f]{6}")
"""Matched whole (``fullmatch``: ``$`` lets a trailing newline through); ``[0-9]``, not
``\\d``, which takes the digits of every script."""
_lock = threading.Lock()
_last_ms = 0


def new_run_id() -> str:
    global _last_ms
    with _lock:  # monotonic within a process even when the clock steps back
        ms = max(int(time.time() * 1000), _last_ms + 1)
        _last_ms = ms
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(ms / 1000))
    return f"{stamp}{ms % 1000:03d}-{secrets.token_hex(3)}"


def check_run_id(run_id: str, field: str = "run_id") -> str:
    """Refuse anything but the id format (``../x``, absolute paths) before any file access."""
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
        shown = repr(run_id)[:80]
        raise UserError(f"{field} {shown} is not a run id (like 20261123-071300123-a3f9c2)", field)
    return run_id
