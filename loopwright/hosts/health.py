"""Is a host up, and which models does it have and hold loaded: asked over HTTP, every
probe bounded by a short timeout, all hosts at once.

- Ollama: ``GET /api/version`` (up), ``/api/ps`` (loaded), ``/api/tags`` (present).
- OpenAI-compatible servers (llama.cpp's ``llama-server``, vLLM): ``GET /health`` (200
  up; llama-server answers 503 while it loads its model; a server without the route,
  404, is judged by the next call alone) and ``GET /v1/models`` (the models it serves,
  which are the ones it holds loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from .named import Host

PROBE_TIMEOUT = 2.0
"""Seconds one host's probe may take in all (its two or three requests)."""
ERROR_CHARS = 200


@dataclass(frozen=True)
class Health:
    """What a probe found; ``reason`` says why a host is down."""

    healthy: bool
    reason: str = ""
    models: tuple[str, ...] = ()
    loaded: tuple[str, ...] = ()
    version: str | None = None


class _Down(Exception):
    """A probe's answer that makes the host down (the message is the reason)."""


def _message(r: httpx.Response) -> str:
    try:
        data: Any = r.json()
    except ValueError:
        return r.text.strip()[:ERROR_CHARS]
    err = data.get("error", "") if isinstance(data, dict) else ""
    if isinstance(err, dict):
        err = err.get("message", "")
    return str(err)[:ERROR_CHARS]


async def _get(client: httpx.AsyncClient, host: Host, url: str) -> Any:
    r = await client.get(url, headers=host.headers)
    path = url.removeprefix(host.url)
    if r.status_code in (401, 403):
        hint = f" (check {host.key_env})" if host.key_env else " (check the host's token)"
        raise _Down(f"{path} refused our credentials: HTTP {r.status_code}{hint}")
    if r.status_code >= 400:
        said = _message(r)
        raise _Down(f"{path} answered HTTP {r.status_code}" + (f": {said}" if said else ""))
    try:
        return r.json()
    except ValueError as exc:
        raise _Down(f"{path} answered with no JSON") from exc


def _names(data: Any, key: str, field: str) -> tuple[str, ...]:
    items = data.get(key) if isinstance(data, dict) else None
    found = [str(m.get(field)) for m in items or [] if isinstance(m, dict) and m.get(field)]
    return tuple(sorted(found))


async def _ollama(client: httpx.AsyncClient, host: Host) -> Health:
    version = await _get(client, host, f"{host.url}/api/version")
    ps = await _get(client, host, f"{host.url}/api/ps")
    tags = await _get(client, host, f"{host.url}/api/tags")
    said = version.get("version") if isinstance(version, dict) else None
    return Health(True, "", _names(tags, "models", "name"), _names(ps, "models", "name"),
                  str(said) if said else None)  # fmt: skip


async def _openai(client: httpx.AsyncClient, host: Host) -> Health:
    r = await client.get(f"{host.url}/health", headers=host.headers)
    if r.status_code >= 400 and r.status_code != 404:  # 404: no health route: /models decides
        said = _message(r)
        raise _Down(f"/health answered HTTP {r.status_code}" + (f": {said}" if said else ""))
    models = _names(await _get(client, host, f"{host.api_url}/models"), "data", "id")
    return Health(True, "", models, models)


def _why(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"no connection ({exc or 'refused'})"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


async def probe(client: httpx.AsyncClient, host: Host, timeout: float = PROBE_TIMEOUT) -> Health:
    """One host's health; never raises for a host that is down (``reason`` says why)."""
    ask = _ollama if host.kind == "ollama" else _openai
    try:
        with anyio.fail_after(timeout):
            return await ask(client, host)
    except TimeoutError:
        return Health(False, f"no answer within {timeout:g}s at {host.url}")
    except _Down as exc:
        return Health(False, f"{exc} at {host.url}")
    except httpx.HTTPError as exc:
        return Health(False, f"{_why(exc)} at {host.url}")


async def probe_all(
    hosts: Sequence[Host], client: httpx.AsyncClient | None = None, timeout: float = PROBE_TIMEOUT
) -> list[Health]:
    """Each host's health, in the order given, asked concurrently; bounded by ``timeout``."""
    found: list[Health | None] = [None] * len(hosts)

    async def one(i: int, c: httpx.AsyncClient) -> None:
        found[i] = await probe(c, hosts[i], timeout)

    async def every(c: httpx.AsyncClient) -> None:
        async with anyio.create_task_group() as tg:
            for i in range(len(hosts)):
                tg.start_soon(one, i, c)

    if client is not None:
        await every(client)
    else:
        async with httpx.AsyncClient(timeout=timeout) as own:
            await every(own)
    return [h or Health(False, "not probed") for h in found]
