"""The host ledger: which run held which priced host, and when; and the pool's idle time.

A run holds a host priced by the hour (a rented one, or one with ``usd_per_hour`` in the
config) from its first call to it until the run ends (``loop.holds``); the run pays for
that time in its own cost and budget. ``runs`` writes each hold here as the run's events
pass (``host_held`` opens it, ``host_released`` or the run's end closes it; a live run's
open hold is extended as its events go by, so a run whose host process died leaves a
hold that ends at its last event, not one that runs on for ever).

A rented host is billed from its creation to its destruction whether anyone uses it or
not: its **idle time**, the rental span less the union of every run's holds (two runs
holding it at once are idle neither), is charged to the pool's own ledger, never to a
run. A config host has no rental span loopwright knows of, so it has no idle cost.

The store is ``<state>/ledger.sqlite`` (0600, its folder 0700); several run hosts write
it at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import state_dir
from ..fsmodes import PrivateSqlite
from .rented import RentedHost, load_rented

__all__ = [
    "FILE_NAME",
    "Hold",
    "Ledger",
    "held_cost",
    "held_seconds",
    "idle_cost",
    "idle_of",
    "idle_seconds",
    "union_seconds",
]

FILE_NAME = "ledger.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS holds (
    host TEXT NOT NULL, run_id TEXT NOT NULL, start REAL NOT NULL, end REAL NOT NULL,
    usd_per_hour REAL NOT NULL, open INTEGER NOT NULL,
    PRIMARY KEY (host, run_id, start)
);
CREATE INDEX IF NOT EXISTS holds_by_run ON holds (run_id);
"""
COLUMNS = ("host", "run_id", "start", "end", "usd_per_hour", "open")


@dataclass(frozen=True)
class Hold:
    """One run's hold on one host, in epoch seconds."""

    host: str
    run_id: str
    start: float
    end: float
    """When it was released; for an open hold, when the run was last seen holding it."""
    usd_per_hour: float
    open: bool

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)

    @property
    def cost_usd(self) -> float:
        return self.usd_per_hour * self.seconds / 3600


def union_seconds(spans: Iterable[tuple[float, float]], lo: float, hi: float) -> float:
    """Seconds of ``[lo, hi]`` covered by at least one of ``spans`` (overlaps once)."""
    covered, reach = 0.0, lo
    for start, end in sorted((max(s, lo), min(e, hi)) for s, e in spans):
        if end <= reach:
            continue
        covered += end - max(start, reach)
        reach = end
    return covered


def idle_seconds(start: float, end: float, holds: Iterable[Hold]) -> float:
    """Seconds of a rental from ``start`` to ``end`` that no run held the host."""
    return max(0.0, end - start) - union_seconds(((h.start, h.end) for h in holds), start, end)


class Ledger:
    """The SQLite store of holds, opened on first use; safe from any thread of a process."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / FILE_NAME
        self._sql = PrivateSqlite(self.path, SCHEMA, timeout=5.0)

    def open_hold(self, host: str, run_id: str, start: float, usd_per_hour: float) -> None:
        """``run_id`` holds ``host`` from ``start`` (a second hold of it is ignored)."""
        with self._sql.transaction() as db:
            held = db.execute(
                "SELECT 1 FROM holds WHERE host=? AND run_id=? AND open=1", (host, run_id)
            ).fetchone()
            if held is None:
                db.execute(
                    "INSERT OR IGNORE INTO holds VALUES (?, ?, ?, ?, ?, 1)",
                    (host, run_id, start, start, usd_per_hour),
                )

    def seen(self, run_id: str, when: float) -> None:
        """The run was alive at ``when``: its open holds last at least until then."""
        with self._sql.transaction() as db:
            db.execute("UPDATE holds SET end=max(end, ?) WHERE run_id=? AND open=1", (when, run_id))

    def close_holds(self, run_id: str, when: float, host: str | None = None) -> None:
        """End the run's open holds (on ``host`` only, when given) at ``when``."""
        query = "UPDATE holds SET end=max(end, ?), open=0 WHERE run_id=? AND open=1"
        args: tuple[Any, ...] = (when, run_id)
        if host is not None:
            query, args = query + " AND host=?", (*args, host)
        with self._sql.transaction() as db:
            db.execute(query, args)

    def holds(
        self, host: str | None = None, run_id: str | None = None, since: float = 0.0
    ) -> list[Hold]:
        """The holds (of ``host``, of ``run_id``) that lasted past ``since``, oldest first."""
        if not self.path.exists():
            return []
        query = f"SELECT {', '.join(COLUMNS)} FROM holds WHERE end >= ?"
        args: list[Any] = [since]
        for column, value in (("host", host), ("run_id", run_id)):
            if value is not None:
                query += f" AND {column} = ?"
                args.append(value)
        with self._sql.transaction() as db:
            rows = db.execute(query + " ORDER BY start", args).fetchall()
        return [Hold(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    def close(self) -> None:
        self._sql.close()


def _rented(name: str) -> RentedHost | None:
    return next((h for h in load_rented(include_destroyed=True) if h.name == name), None)


def _span(host: RentedHost, now: float) -> tuple[float, float]:
    end = host.destroyed_at if host.destroyed_at is not None else now
    return host.created_at, max(host.created_at, end)


def idle_of(host: RentedHost, holds: Iterable[Hold], now: float | None = None) -> float:
    """Seconds the rented ``host`` has been paid for with no run holding it."""
    start, end = _span(host, time.time() if now is None else now)
    return idle_seconds(start, end, holds)


def _holds_of(name: str, ledger: Ledger | None) -> list[Hold]:
    if ledger is not None:
        return ledger.holds(name)
    own = Ledger()
    try:
        return own.holds(name)
    finally:
        own.close()


def idle_cost(name: str, ledger: Ledger | None = None, now: float | None = None) -> float:
    """USD the rented host ``name`` cost the pool idle (0 for a host that is not rented)."""
    host = _rented(name)
    if host is None:
        return 0.0
    return idle_of(host, _holds_of(name, ledger), now) * host.usd_per_hour / 3600


def held_seconds(name: str, ledger: Ledger | None = None) -> float:
    """Seconds runs held host ``name``, each run's hold counted (overlaps twice)."""
    return sum(h.seconds for h in _holds_of(name, ledger))


def held_cost(name: str, ledger: Ledger | None = None) -> float:
    """USD runs were charged for holding host ``name``."""
    return sum(h.cost_usd for h in _holds_of(name, ledger))
