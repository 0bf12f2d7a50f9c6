"""The Hosts page's facts, each from where it is really known.

The hosts are the pool (``hosts.pool``: the config file's hosts and the running rented
ones) with $/h, age, idle time and the median speed measured on each. Health and the
models present and loaded are asked of each host only when the page's script asks
(``PoolProbe``): off the event loop, one probe at a time whose answer the requests that
waited for it share, each host within ``PROBE_TIMEOUT`` and the whole within
``PROBE_LIMIT``. Speeds per model x host over time are what loopwright measured on its
own model calls (the profile store, ``<state>/profiles.sqlite``), each with its source.
"""

from __future__ import annotations

import time
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import Any, Literal

import anyio

from ..errors import UserError
from ..hosts.pool import pool_status
from ..hosts.profiles import FILE_NAME, CallProfile, ProfileStore
from ..hosts.summary import summarize
from .pages.hosts import Pool, Speeds

__all__ = [
    "PROBE_FRESH",
    "PROBE_LIMIT",
    "PROBE_TIMEOUT",
    "SERIES_POINTS",
    "Pool",
    "PoolProbe",
    "measured",
    "pool_now",
    "profile_rows",
    "speed_series",
    "speeds",
    "store_path",
]

PROBE_TIMEOUT = 3.0
"""Seconds each host's probe may take (its requests together); all hosts at once."""
PROBE_LIMIT = PROBE_TIMEOUT + 5.0
"""Seconds a probe of the whole pool may take, reading the config and stores included."""
PROBE_FRESH = 5.0
"""Seconds a probe's answer is given again instead of asking the hosts again."""
SERIES_POINTS = 200
"""The newest measurements kept per host and model for the chart."""
Metric = Literal["gen_tps", "prompt_tps"]


def pool_now(home: Path, probe: bool, timeout: float | None = None) -> Pool:
    """The pool as ``pool_status`` sees it, with speeds from the profile store under
    ``home``, each host probed within ``timeout`` (``PROBE_TIMEOUT``) when ``probe``.
    Blocking (config, stores, probes): call it from a worker thread."""
    store = ProfileStore(store_path(home))
    each = PROBE_TIMEOUT if timeout is None else timeout
    try:
        found = anyio.run(partial(pool_status, probe, timeout=each, store=store))
    except UserError as exc:  # a config file that cannot be read is shown, not a 500
        return Pool([], str(exc), probe)
    finally:
        store.close()
    return Pool([s.as_dict() for s in found], None, probe)


class PoolProbe:
    """Asks the pool's hosts how they are for the dashboard, bounded and shared: the event
    loop never waits on a host (the probe runs in a worker thread), a request arriving
    during a probe waits for that one, and an answer younger than ``PROBE_FRESH`` is
    given again."""

    def __init__(self, home: Path, limit: float = PROBE_LIMIT) -> None:
        self.home = home
        self.limit = limit
        self._lock = anyio.Lock()
        self._last: tuple[float, Pool] | None = None

    def waiting(self) -> int:
        """How many requests wait for the probe under way."""
        return self._lock.statistics().tasks_waiting

    async def status(self) -> Pool:
        async with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < PROBE_FRESH:
                return self._last[1]
            run = partial(pool_now, self.home, True)
            try:
                with anyio.fail_after(self.limit):
                    found = await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
            except TimeoutError:  # the thread ends within its own bounds; nobody waits
                return Pool([], f"the pool did not answer within {self.limit:g} s", True)
            self._last = (time.monotonic(), found)
            return found


def store_path(home: Path) -> Path:
    """The profile store under ``home``; it exists once a run made its first model call."""
    return home / FILE_NAME


def measured(home: Path) -> list[CallProfile]:
    """Every model call loopwright recorded under ``home``, oldest first (none, and no file
    created, when there is no store yet)."""
    store = ProfileStore(store_path(home))
    try:
        return store.calls()
    finally:
        store.close()


def profile_rows(calls: list[CallProfile]) -> list[dict[str, Any]]:
    """Per model x host: calls, median and p90 of each speed, sources (``summarize``)."""
    return summarize(calls)


def speed_series(
    calls: list[CallProfile], metric: Metric = "gen_tps"
) -> dict[str, list[tuple[float, float]]]:
    """``"model@host" -> [(ts, tokens/s), ...]`` of ``metric`` (generated or prompt
    tokens/s), oldest first, the newest ``SERIES_POINTS`` measurements of each; calls
    that did not measure it (a prompt speed from token counts alone) are left out."""
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for c in calls:
        value = getattr(c, metric)
        if isinstance(value, int | float):
            series[f"{c.model}@{c.host}"].append((c.ts, float(value)))
    return {key: points[-SERIES_POINTS:] for key, points in sorted(series.items())}


def speeds(home: Path) -> Speeds:
    """The Hosts page's view of the profile store under ``home``."""
    path = store_path(home)
    calls = measured(home)
    return Speeds(
        str(path), path.exists(), profile_rows(calls),
        speed_series(calls, "gen_tps"), speed_series(calls, "prompt_tps"),
    )  # fmt: skip
