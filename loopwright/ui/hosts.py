"""The Hosts page's facts, each from where it is really known.

There is no host pool yet (``hosts/`` has the profiles and routing, not the pool), so the
hosts are the Ollama hosts of the config file (and ``local``). Health and loaded models
are asked of each host when the page asks (bounded); speeds are what loopwright measured
on its own model calls (``hosts.profiles``' store, ``<state>/profiles.sqlite``), each with
its source; $/h is what the config says.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx

from ..backends.discovery import ollama_host_status
from ..backends.settings import ollama_hosts
from ..errors import UserError
from ..hosts.profiles import FILE_NAME, CallProfile, ProfileStore
from ..hosts.summary import summarize
from .pages.hosts import Speeds

__all__ = [
    "HEALTH_TIMEOUT",
    "SERIES_POINTS",
    "configured",
    "health",
    "measured",
    "profile_rows",
    "speed_series",
    "speeds",
    "store_path",
]

HEALTH_TIMEOUT = 3.0
SERIES_POINTS = 200
"""The newest measurements kept per host and model for the chart."""
Metric = Literal["gen_tps", "prompt_tps"]


def configured() -> tuple[list[dict[str, Any]], str | None]:
    """The configured Ollama hosts (no secrets: only how each authenticates), and the
    config's error when it cannot be read."""
    try:
        hosts = ollama_hosts()
    except UserError as exc:
        return [], str(exc)
    rows = [
        {
            "name": h.name,
            "url": h.url,
            "auth": h.auth,
            "usd_per_hour": h.usd_per_hour,
            "auto_pull": h.auto_pull,
        }
        for h in hosts.values()
    ]
    return rows, None


async def health(client: httpx.AsyncClient, timeout: float = HEALTH_TIMEOUT) -> dict[str, Any]:
    """Per host name: ``{ok, version, models, loaded}`` or ``{ok: false, error}``, asked
    in parallel, each within ``timeout``."""
    try:
        hosts = ollama_hosts()
    except UserError as exc:
        return {"error": str(exc), "hosts": {}}
    out: dict[str, Any] = {}

    async def one(name: str) -> None:
        host = hosts[name]
        try:
            with anyio.fail_after(timeout):
                row = await ollama_host_status(client, host)
        except TimeoutError:
            row = {"error": f"no answer from {host.url} within {timeout:g}s"}
        out[name] = {
            "ok": "error" not in row,
            "version": row.get("version"),
            "models": row.get("models") or [],
            "loaded": row.get("loaded") or [],
            "error": row.get("error"),
        }

    async with anyio.create_task_group() as tg:
        for name in hosts:
            tg.start_soon(one, name)
    return {"error": None, "hosts": {name: out[name] for name in hosts}}


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
