"""Ollama's native API for everything but chat: version, tags, ps, show, pull; the
per-model facts a chat needs (context length, fixed ``num_ctx``, tool support); and the
recorded performance profiles (``<state>/ollama/profiles.jsonl``)."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ...config import state_dir
from ...errors import ProviderError
from ...fsmodes import open_nofollow, private_dir
from ..settings import OllamaHost
from .http import error_text, ndjson, transport_error

DEFAULT_MAX_CTX = 32_768
FALLBACK_CTX = 8_192
NS = 1e9


@dataclass
class ModelFacts:
    """What a chat needs to know about one model on one host, learned once."""

    version: str = ""
    context_length: int | None = None
    num_ctx: int = FALLBACK_CTX
    tools: bool | None = None
    ready: bool = False


_FACTS: dict[tuple[str, str], ModelFacts] = {}


def facts_for(host: OllamaHost, model: str) -> ModelFacts:
    """Shared per process, so ``num_ctx`` stays fixed (a change reloads the model)."""
    return _FACTS.setdefault((host.url, model), ModelFacts())


def unreachable(host: OllamaHost, exc: httpx.HTTPError) -> ProviderError:
    if isinstance(exc, httpx.ConnectError):
        return ProviderError(
            f"Ollama not reachable at {host.url} (host {host.name!r}): start `ollama serve` "
            "there or fix the host's url",
            host_down=True,
        )
    return transport_error(f"Ollama host {host.name!r}", host.url, exc)


def not_found(host: OllamaHost, model: str) -> ProviderError:
    where = "" if host.name == "local" else " (on that machine, or set auto_pull = true)"
    return ProviderError(
        f"model {model} not on host {host.name} ({host.url}): run `ollama pull {model}`{where}",
        status=404,
    )


async def get_json(
    client: httpx.AsyncClient, host: OllamaHost, method: str, path: str, body: Any = None
) -> dict[str, Any]:
    try:
        r = await client.request(method, host.url + path, json=body, headers=host.headers)
    except httpx.HTTPError as exc:
        raise unreachable(host, exc) from exc
    if r.status_code == 401 or r.status_code == 403:
        raise ProviderError(
            f"Ollama host {host.name!r} refused our credentials ({r.status_code}); check its "
            f"token_env or basic auth in loopwright.toml"
        )
    if r.status_code >= 400:
        raise ProviderError(
            f"Ollama host {host.name!r} {path}: {r.status_code} {error_text(r.content)}",
            status=r.status_code,
            retryable=r.status_code >= 500,
        )
    value = r.json()
    return value if isinstance(value, dict) else {}


def context_length(show: dict[str, Any]) -> int | None:
    for key, value in (show.get("model_info") or {}).items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None


def configured_num_ctx(show: dict[str, Any]) -> int | None:
    for line in str(show.get("parameters") or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "num_ctx" and parts[1].isdigit():
            return int(parts[1])
    return None


async def learn(
    client: httpx.AsyncClient, host: OllamaHost, model: str, facts: ModelFacts, max_ctx: int
) -> None:
    """Fill ``facts`` from ``/api/version`` and ``/api/show`` (404: not on the host)."""
    version = await get_json(client, host, "GET", "/api/version")
    try:
        show = await get_json(client, host, "POST", "/api/show", {"model": model})
    except ProviderError as exc:
        if exc.status == 404:
            raise not_found(host, model) from exc
        raise
    facts.version = str(version.get("version", ""))
    facts.context_length = context_length(show)
    caps = show.get("capabilities")
    facts.tools = "tools" in caps if isinstance(caps, list) else None
    ctx = configured_num_ctx(show) or min(facts.context_length or FALLBACK_CTX, max_ctx)
    facts.num_ctx = ctx
    facts.ready = True


async def pull(
    client: httpx.AsyncClient,
    host: OllamaHost,
    model: str,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """``/api/pull`` streamed; ``progress`` gets each status change and every ~10%."""
    last = ("", -1)
    try:
        async with client.stream(
            "POST", f"{host.url}/api/pull", json={"model": model}, headers=host.headers
        ) as r:
            if r.status_code >= 400:
                detail = error_text(await r.aread())
                raise ProviderError(f"pull {model} on {host.name}: {r.status_code} {detail}")
            async for line in ndjson(r):
                if "error" in line:
                    raise ProviderError(f"pull {model} on {host.name}: {line['error']}")
                total, done = line.get("total") or 0, line.get("completed") or 0
                step = (str(line.get("status", "")), int(10 * done / total) if total else -1)
                if progress is not None and step != last:
                    progress({"model": model, "host": host.name, **line})
                last = step
    except httpx.HTTPError as exc:
        raise unreachable(host, exc) from exc


def profile(final: dict[str, Any], facts: ModelFacts) -> dict[str, Any]:
    """The timing profile of a finished ``/api/chat`` (durations in ns; missing is 0)."""
    keys = ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
            "eval_count", "eval_duration")  # fmt: skip
    p: dict[str, Any] = {k: int(final.get(k) or 0) for k in keys}

    def rate(count: str, dur: str) -> float | None:
        return round(p[count] * NS / p[dur], 2) if p[dur] else None

    p["prompt_tps"] = rate("prompt_eval_count", "prompt_eval_duration")
    p["gen_tps"] = rate("eval_count", "eval_duration")
    p["num_ctx"] = facts.num_ctx
    p["context_length"] = facts.context_length
    p["version"] = facts.version
    return p


def profiles_path() -> Path:
    return state_dir() / "ollama" / "profiles.jsonl"


_OPEN: dict[Path, int] = {}


def _appender(path: Path) -> int:
    """An O_APPEND descriptor kept open per path (opening per call cost more than the
    call's own parsing); one ``os.write`` per line keeps threads from interleaving."""
    fd = _OPEN.get(path)
    if fd is None:
        private_dir(path.parent)
        fd = _OPEN[path] = open_nofollow(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        if len(_OPEN) == 1:
            atexit.register(close_profiles)
    return fd


def close_profiles() -> None:
    for fd in _OPEN.values():
        os.close(fd)
    _OPEN.clear()


def record_profile(host: OllamaHost, model: str, p: dict[str, Any]) -> None:
    """Append one profile (0600 file, 0700 dir); a write failure never fails a call."""
    line = json.dumps({"ts": round(time.time(), 3), "host": host.name, "model": model, **p})
    with contextlib.suppress(OSError):
        os.write(_appender(profiles_path()), (line + "\n").encode())


def read_profiles(model: str | None = None) -> list[dict[str, Any]]:
    try:
        lines = profiles_path().read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and (model is None or item.get("model") == model):
            out.append(item)
    return out
