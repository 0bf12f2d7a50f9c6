"""A run's measurements into the profile store (``hosts.profiles``) as its events pass:
each ``model_call`` becomes a call profile, each ``outcomes`` event the subgoals'
estimates against what they took. The store opens on the first such event, so a run
with no model calls (scripted) never touches it; a write that fails is dropped once and
said on stderr: a profile is never worth failing a run."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from ..hosts.profiles import FILE_NAME, Outcome, ProfileStore, from_model_call
from ..hosts.routing import StoreCard

__all__ = ["ProfileWriter"]


class ProfileWriter:
    def __init__(self, home: Path) -> None:
        self.store = ProfileStore(home / FILE_NAME)
        self.broken = False

    def see(self, type: str, data: dict[str, Any]) -> None:
        """Record ``data`` when the event is one the profiles keep."""
        if self.broken or type not in ("model_call", "outcomes"):
            return
        try:
            if type == "model_call":
                profile = from_model_call(data, time.time())
                if profile is not None:
                    self.store.add_call(profile)
            else:
                self.store.add_outcomes([_outcome(o) for o in data.get("subgoals") or []])
        except (sqlite3.Error, OSError, TypeError, ValueError) as exc:
            self.broken = True
            print(f"loopwright: profiles not recorded: {exc}", file=sys.stderr)

    def source(self) -> StoreCard:
        """The routing card over the same store (this run's writes included)."""
        return StoreCard(self.store)

    def close(self) -> None:
        self.store.close()


def _outcome(item: dict[str, Any]) -> Outcome:
    return Outcome(
        ts=time.time(),
        worker=str(item["worker"]),
        local=bool(item.get("local")),
        est_tokens=item.get("est_tokens"),
        est_seconds=item.get("est_seconds"),
        tokens=int(item.get("tokens") or 0),
        seconds=float(item.get("seconds") or 0.0),
        passed=bool(item.get("passed")),
        attempt=int(item.get("attempt") or 1),
    )
