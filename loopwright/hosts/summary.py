"""Medians, 90th percentiles and their movement over time, per model x host, from the
recorded call profiles (``loopwright hosts profile``)."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from .profiles import CallProfile

METRICS = ("gen_tps", "prompt_tps", "load_s", "wall_s")
TREND_PERIODS = 8
"""Days shown in a row's trend at most (the latest ones)."""


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation; None for no values."""
    data = sorted(values)
    if not data:
        return None
    k = (len(data) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    value = data[lo] + (data[hi] - data[lo]) * (k - lo)
    return round(value, 3)


def figure(value: float | int | None) -> str:
    """A measured number for people: three significant figures or so, ``?`` unknown."""
    if value is None:
        return "?"
    if isinstance(value, int) or value >= 100:
        return f"{value:.0f}"
    text = f"{value:.1f}" if value >= 10 else f"{value:.2g}" if value < 0.1 else f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50)


def _of(calls: Iterable[CallProfile], metric: str) -> list[float]:
    return [v for c in calls if isinstance(v := getattr(c, metric), int | float)]


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def trend(calls: Sequence[CallProfile]) -> list[dict[str, Any]]:
    """Per day (UTC), the calls and their median speeds: how the numbers moved."""
    days: dict[str, list[CallProfile]] = defaultdict(list)
    for c in calls:
        days[_day(c.ts)].append(c)
    return [
        {
            "day": day,
            "calls": len(group),
            "gen_tps": median(_of(group, "gen_tps")),
            "prompt_tps": median(_of(group, "prompt_tps")),
        }
        for day, group in sorted(days.items())[-TREND_PERIODS:]
    ]


def summarize(calls: Sequence[CallProfile]) -> list[dict[str, Any]]:
    """One row per model x host: counts, median and p90 of each metric, the largest context
    seen, how many calls were cut at the cap or had estimated usage, and the trend."""
    groups: dict[tuple[str, str], list[CallProfile]] = defaultdict(list)
    for c in calls:
        groups[(c.model, c.host)].append(c)
    rows = []
    for (model, host), group in sorted(groups.items()):
        row: dict[str, Any] = {"model": model, "host": host, "calls": len(group)}
        for metric in METRICS:
            values = _of(group, metric)
            row[metric] = {"median": median(values), "p90": percentile(values, 90)}
        contexts = [c.context for c in group if c.context]
        row["context"] = max(contexts) if contexts else None
        row["truncated"] = sum(c.outcome == "truncated" for c in group)
        row["failed"] = sum(c.outcome == "failed" for c in group)
        row["estimated"] = sum(c.estimated for c in group)
        row["sources"] = sorted({c.source for c in group})
        row["first"], row["last"] = group[0].ts, group[-1].ts
        row["trend"] = trend(group)
        rows.append(row)
    return rows
