"""The priced hosts a run holds, and what holding them has cost so far.

A host with a price per hour (a rented GPU, a config host with ``usd_per_hour``) is paid
for by the hour whether it generates or waits, so a run is charged for the time it holds
one, not for its calls' durations: from its first call to the host (the backend says so
with a ``host_held`` event) until the run ends or releases it. Several calls at once to
one host are one hold. The cost accrues by the clock, so a run that only waits on a slow
host still spends, and its budget stops it (``BudgetTracker``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass
class Hold:
    host: str
    usd_per_hour: float
    start: float
    """When the hold began, by the holds' clock."""
    end: float | None = None
    """When it was released; None while it is held."""

    def seconds(self, now: float) -> float:
        return max(0.0, (now if self.end is None else self.end) - self.start)

    def cost(self, now: float) -> float:
        return self.usd_per_hour * self.seconds(now) / 3600


@dataclass(frozen=True)
class Released:
    """A hold that ended: what the ``host_released`` event says."""

    host: str
    usd_per_hour: float
    seconds: float
    cost_usd: float

    def event(self) -> dict[str, object]:
        return {
            "host": self.host,
            "usd_per_hour": self.usd_per_hour,
            "seconds": round(self.seconds, 3),
            "cost_usd": round(self.cost_usd, 6),
        }


class Holds:
    """A run's holds on priced hosts, on ``clock`` (monotonic seconds; injected in tests)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.all: list[Hold] = []

    def hold(self, host: str, usd_per_hour: float) -> bool:
        """Hold ``host`` from now at ``usd_per_hour``; False when it is held already (or
        costs nothing): one hold per host, however many calls go to it."""
        if usd_per_hour <= 0 or any(h.host == host and h.end is None for h in self.all):
            return False
        self.all.append(Hold(host, usd_per_hour, self.clock()))
        return True

    def release(self, host: str | None = None) -> list[Released]:
        """End the hold on ``host`` (every hold when None); what each ended hold cost."""
        now, ended = self.clock(), []
        for h in self.all:
            if h.end is None and host in (None, h.host):
                h.end = now
                ended.append(Released(h.host, h.usd_per_hour, h.seconds(now), h.cost(now)))
        return ended

    def cost(self) -> float:
        """USD every hold of the run has cost up to now."""
        now = self.clock()
        return sum(h.cost(now) for h in self.all)

    def rate(self) -> float:
        """USD per second the open holds cost together now."""
        return sum(h.usd_per_hour for h in self.all if h.end is None) / 3600
