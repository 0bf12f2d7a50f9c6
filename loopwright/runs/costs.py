"""What runs and hosts cost, for ``loopwright cost``: each run's API cost and the cost of
holding priced hosts (both from its status, the run's own ledger), each host's holds
(``hosts.ledger``), and what the rented hosts cost the pool idle: their rental span,
within the window asked for, less the union of the runs' holds."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..errors import RunNotFound
from ..hosts.ledger import FILE_NAME, Hold, Ledger, idle_seconds
from ..hosts.rented import RentedHost, load_rented
from .store import RunStore

__all__ = ["PAGE", "cost_report"]

PAGE = 500


def _cents(usd: float) -> float:
    return round(usd, 6)


def run_cost(store: RunStore, run_id: str, holds: Iterable[Hold]) -> dict[str, Any]:
    """One run's costs: API calls and held hosts (its status), and its holds by host."""
    status = store.read_status(run_id)
    usage = status.get("usage") or {}
    total = float(usage.get("cost_usd") or 0.0)
    host = float(usage.get("host_cost_usd") or 0.0)
    return {
        "run_id": run_id,
        "state": status.get("state"),
        "api_cost_usd": _cents(total - host),
        "host_cost_usd": _cents(host),
        "cost_usd": _cents(total),
        "unknown_cost_calls": int(usage.get("unknown_cost_calls") or 0),
        "holds": [
            {
                "host": h.host,
                "seconds": round(h.seconds, 3),
                "cost_usd": _cents(h.cost_usd),
                "open": h.open,
            }
            for h in holds
            if h.run_id == run_id
        ],
    }


def _run_ids(store: RunStore, since: float | None) -> list[str]:
    """The runs started since ``since`` (every run when None), oldest first."""
    found: list[str] = []
    before: str | None = None
    while True:
        rows = store.index.list(limit=PAGE, before=before)
        found += [r["run_id"] for r in rows if since is None or r["created_at"] >= since]
        if len(rows) < PAGE:
            return found[::-1]
        before = rows[-1]["run_id"]


def _rental(host: RentedHost, holds: list[Hold], lo: float, now: float) -> dict[str, Any]:
    """A rented host's paid time within ``[lo, now]``, and the part no run held."""
    end = host.destroyed_at if host.destroyed_at is not None else now
    start, end = max(host.created_at, lo), max(max(host.created_at, lo), end)
    idle = idle_seconds(start, end, holds)
    rate = host.usd_per_hour / 3600
    return {
        "rented_s": round(end - start, 3),
        "rental_cost_usd": _cents((end - start) * rate),
        "idle_s": round(idle, 3),
        "idle_cost_usd": _cents(idle * rate),
        "destroyed": host.destroyed_at is not None,
    }


def host_costs(holds: list[Hold], since: float | None, now: float) -> list[dict[str, Any]]:
    """Per host: the runs that held it and what that cost; for a rented host also its
    rental within the window and its idle time and cost."""
    rented = {h.name: h for h in load_rented(include_destroyed=True)}
    names = sorted({h.host for h in holds} | set(rented))
    rows = []
    for name in names:
        mine = [h for h in holds if h.host == name]
        rent = rented.get(name)
        if rent is not None and since is not None and (rent.destroyed_at or now) < since:
            continue  # billing ended before the window
        rate = rent.usd_per_hour if rent else max((h.usd_per_hour for h in mine), default=0.0)
        row: dict[str, Any] = {
            "name": name,
            "source": "rented" if rent else "config",
            "usd_per_hour": rate,
            "runs": len({h.run_id for h in mine}),
            "held_s": round(sum(h.seconds for h in mine), 3),
            "held_cost_usd": _cents(sum(h.cost_usd for h in mine)),
        }
        if rent is not None:
            row.update(_rental(rent, mine, since or rent.created_at, now))
        rows.append(row)
    return rows


def cost_report(
    store: RunStore,
    run_id: str | None = None,
    since: float | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """``loopwright cost``: runs (one, or those started since ``since``), hosts, the pool's
    idle cost and the totals. With ``run_id`` the hosts are that run's and the pool is
    left out (its idle time is no run's)."""
    now = time.time() if now is None else now
    ledger = Ledger(store.home / FILE_NAME)
    try:
        holds = ledger.holds(run_id=run_id, since=since or 0.0)
    finally:
        ledger.close()
    if run_id is not None:
        runs = [run_cost(store, run_id, holds)]
    else:
        runs = []
        for r in _run_ids(store, since):
            try:
                runs.append(run_cost(store, r, holds))
            except (RunNotFound, OSError, ValueError):  # removed meanwhile, or unreadable
                continue
    hosts = host_costs(holds, since, now)
    if run_id is not None:
        hosts = [h for h in hosts if h["runs"]]
    idle = None if run_id is not None else sum(h.get("idle_cost_usd", 0.0) for h in hosts)
    api = sum(r["api_cost_usd"] for r in runs)
    held = sum(r["host_cost_usd"] for r in runs)
    return {
        "since": since,
        "runs": runs,
        "hosts": hosts,
        "pool": None if idle is None else {"idle_cost_usd": _cents(idle)},
        "total": {
            "api_cost_usd": _cents(api),
            "host_cost_usd": _cents(held),
            "idle_cost_usd": _cents(idle or 0.0),
            "cost_usd": _cents(api + held + (idle or 0.0)),
        },
    }
