"""Which models each provider and Ollama host offers (this asks them over the network),
and summaries of the recorded Ollama profiles."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from statistics import mean
from typing import Any

import anyio
import httpx

from ..errors import ProviderError
from .models.ollama_api import get_json, read_profiles
from .settings import Endpoint, OllamaHost, endpoints, ollama_hosts

TIMEOUT = 10.0
Listing = dict[str, Any]


async def ollama_host_status(client: httpx.AsyncClient, host: OllamaHost) -> Listing:
    """Version, pulled models and loaded models of one host; ``error`` when it is down."""
    row: Listing = {"url": host.url, "auth": host.auth}
    try:
        row["version"] = (await get_json(client, host, "GET", "/api/version")).get("version")
        tags = await get_json(client, host, "GET", "/api/tags")
        ps = await get_json(client, host, "GET", "/api/ps")
    except ProviderError as exc:
        return {**row, "error": str(exc)}
    row["models"] = [m.get("name") for m in tags.get("models") or []]
    row["loaded"] = [m.get("name") for m in ps.get("models") or []]
    return row


async def _openai_models(client: httpx.AsyncClient, ep: Endpoint) -> Listing:
    headers = {"Authorization": f"Bearer {ep.api_key}"} if ep.api_key else {}
    r = await client.get(f"{ep.base_url}/models", headers=headers)
    if r.status_code >= 400:
        hint = f"; check {ep.key_env}" if r.status_code in (401, 403) and ep.key_env else ""
        return {"url": ep.base_url, "error": f"{r.status_code} from {ep.base_url}/models{hint}"}
    data = r.json().get("data") or []
    return {"url": ep.base_url, "models": sorted(str(m.get("id")) for m in data)}


async def _anthropic_models(_client: httpx.AsyncClient) -> Listing:
    from .models.anthropic import KEY, http_client, make_client, map_error

    if not os.environ.get(KEY):
        return {"error": f"{KEY} not set"}
    async with http_client(TIMEOUT) as http:
        try:
            page = await make_client(http).models.list(limit=100)
        except Exception as exc:  # the SDK's errors, mapped to what to fix
            return {"error": str(map_error(exc))}
        return {"models": [m.id for m in page.data]}


async def _gemini_models(client: httpx.AsyncClient) -> Listing:
    from .models.gemini import _key, make_client, map_error

    if _key() is None:
        return {"error": "GEMINI_API_KEY not set"}
    try:
        pager = await make_client(client).aio.models.list()
        return {"models": [m.name.removeprefix("models/") async for m in pager]}
    except Exception as exc:  # includes the missing-SDK UserError, reported as a row
        return {"error": str(exc) if not hasattr(exc, "code") else str(map_error(exc))}


def _bind(fn: Callable[[httpx.AsyncClient, Any], Awaitable[Listing]], client: httpx.AsyncClient,
          arg: Any) -> Callable[[], Awaitable[Listing]]:  # fmt: skip
    return lambda: fn(client, arg)


def _jobs(
    client: httpx.AsyncClient, provider: str | None
) -> dict[str, Callable[[], Awaitable[Listing]]]:
    jobs: dict[str, Callable[[], Awaitable[Listing]]] = {}
    if provider in (None, "anthropic"):
        jobs["anthropic"] = lambda: _anthropic_models(client)
    if provider in (None, "gemini"):
        jobs["gemini"] = lambda: _gemini_models(client)
    for name, ep in endpoints().items():
        serves = "openrouter" if name == "openrouter" else "openai"
        if provider in (None, serves) and (ep.api_key or name not in ("openai", "openrouter")):
            label = name if name in ("openai", "openrouter") else f"openai@{name}"
            jobs[label] = _bind(_openai_models, client, ep)
    if provider in (None, "ollama"):
        for host in ollama_hosts().values():
            jobs[f"ollama@{host.name}"] = _bind(ollama_host_status, client, host)
    return jobs


async def list_models(
    provider: str | None = None, client: httpx.AsyncClient | None = None
) -> Listing:
    """``{"anthropic": {"models": [...]}, "ollama@local": {...}, ...}``, asked in parallel."""
    out: Listing = {}
    async with httpx.AsyncClient(timeout=TIMEOUT) if client is None else _Keep(client) as c:
        jobs = _jobs(c, provider)

        async def one(name: str, job: Callable[[], Awaitable[Listing]]) -> None:
            try:
                with anyio.fail_after(TIMEOUT + 1):
                    out[name] = await job()
            except (TimeoutError, httpx.HTTPError) as exc:
                out[name] = {"error": f"{type(exc).__name__}: {exc}"}

        async with anyio.create_task_group() as tg:
            for name, job in jobs.items():
                tg.start_soon(one, name, job)
    return {k: out[k] for k in jobs}


class _Keep:
    """A client given by the caller: used, not closed."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        return None


def profile_summary(model: str | None = None) -> list[dict[str, Any]]:
    """Per host and model: calls, mean tokens/s, mean load time, last num_ctx and version."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in read_profiles(model):
        groups.setdefault((str(p.get("host")), str(p.get("model"))), []).append(p)
    rows = []
    for (host, name), items in sorted(groups.items()):
        last = items[-1]

        def avg(key: str, items: list[dict[str, Any]] = items) -> float | None:
            values = [float(i[key]) for i in items if isinstance(i.get(key), int | float)]
            return round(mean(values), 2) if values else None

        rows.append({
            "host": host, "model": name, "calls": len(items),
            "gen_tps": avg("gen_tps"), "prompt_tps": avg("prompt_tps"),
            "load_s": round((avg("load_duration") or 0) / 1e9, 3),
            "total_s": round((avg("total_duration") or 0) / 1e9, 3),
            "num_ctx": last.get("num_ctx"), "context_length": last.get("context_length"),
            "version": last.get("version"),
        })  # fmt: skip
    return rows


async def ollama_health(timeout: float = 3.0) -> list[dict[str, Any]]:
    """One row per configured Ollama host for ``doctor``: ``{name, ok, detail}``, bounded."""
    rows: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=timeout) as client:

        async def one(host: OllamaHost) -> None:
            try:
                with anyio.fail_after(timeout + 0.5):
                    status = await ollama_host_status(client, host)
            except TimeoutError:
                status = {"error": f"Ollama host {host.name!r} at {host.url}: no answer"}
            ok = "error" not in status
            count = len(status.get("models") or [])
            detail = f"{host.url}: Ollama {status.get('version')}, {count} model(s)"
            detail = detail if ok else str(status["error"])
            rows.append({"name": f"ollama host {host.name}", "ok": ok, "detail": detail})

        async with anyio.create_task_group() as tg:
            for host in ollama_hosts().values():
                tg.start_soon(one, host)
    return sorted(rows, key=lambda r: str(r["name"]))
