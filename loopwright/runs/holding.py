"""A run's holds on priced hosts into the host ledger (``hosts.ledger``) as its events
pass: ``host_held`` opens a hold, ``host_released`` closes it, and while a hold is open
the run's events extend it (at most once per ``SEEN_INTERVAL``), so a run whose host
process dies leaves a hold that ends near its last event. The ledger opens on the first
``host_held``, so a run on free hosts never touches it; a write that fails is dropped
once and said on stderr: the run's own cost is in its status either way."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from ..hosts.ledger import FILE_NAME, Ledger

__all__ = ["SEEN_INTERVAL", "HoldWriter"]

SEEN_INTERVAL = 30.0
"""Seconds between two extensions of a live run's open holds."""


class HoldWriter:
    def __init__(self, home: Path, run_id: str) -> None:
        self.ledger = Ledger(home / FILE_NAME)
        self.run_id = run_id
        self.holding = 0
        """Holds opened and not yet closed."""
        self.broken = False
        self._seen = 0.0

    def see(self, type: str, data: dict[str, Any], when: float | None = None) -> None:
        """Record what the event says of the run's holds (``when``: its time)."""
        if self.broken or (type != "host_held" and not self.holding):
            return
        when = time.time() if when is None else when
        try:
            if type == "host_held":
                rate = float(data.get("usd_per_hour") or 0.0)
                self.ledger.open_hold(str(data.get("host")), self.run_id, when, rate)
                self.holding += 1
            elif type == "host_released":
                self.ledger.close_holds(self.run_id, when, str(data.get("host")))
                self.holding = max(0, self.holding - 1)
            elif when - self._seen >= SEEN_INTERVAL:
                self.ledger.seen(self.run_id, when)
            else:
                return
            self._seen = when
        except (sqlite3.Error, OSError, TypeError, ValueError) as exc:
            self.broken = True
            print(f"loopwright: host holds not recorded: {exc}", file=sys.stderr)

    def close(self) -> None:
        """The run's host is done: whatever it still holds ends now."""
        if self.holding and not self.broken:
            try:
                self.ledger.close_holds(self.run_id, time.time())
            except (sqlite3.Error, OSError) as exc:
                print(f"loopwright: host holds not closed: {exc}", file=sys.stderr)
        self.holding = 0
        self.ledger.close()
