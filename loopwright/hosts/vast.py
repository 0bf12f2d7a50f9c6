"""A Vast.ai client over its REST API (httpx; no ``vastai`` package): search offers,
create an instance, wait until it runs, find its public address, list the account's
instances, destroy one.

The key comes from ``$VAST_API_KEY`` and travels only in the ``Authorization`` header; no
error, log line or event carries it (messages are built from the status and Vast's own
``msg``/``error`` text, and scrubbed of the key all the same). ``$VAST_API_URL`` (default
https://console.vast.ai/api/v0) must be https, or http on a loopback address (tests).
Every wait is bounded: a 429 is retried after ``Retry-After`` (or a doubling backoff) a
few times, then it is a ``HostError``; waiting for ``running`` stops at its timeout.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import HostError, UserError

__all__ = [
    "DEFAULT_URL",
    "Endpoint",
    "Offer",
    "VastClient",
    "api_settings",
    "endpoint",
]

DEFAULT_URL = "https://console.vast.ai/api/v0"
_WAITING = {None, "created", "loading", "rebooting", "unknown", "scheduling"}
_FAILED = {"exited", "stopped", "frozen", "offline"}

Sleep = Callable[[float], Awaitable[None]]


def api_settings(env: dict[str, str] | None = None) -> tuple[str, str]:
    """``(key, base_url)`` from ``VAST_API_KEY`` and ``VAST_API_URL``; a clear
    ``UserError`` when the key is missing or the URL would carry it in the clear."""
    env = dict(os.environ) if env is None else env
    key = env.get("VAST_API_KEY", "").strip()
    if not key:
        raise UserError(
            "VAST_API_KEY is not set: create a key at https://cloud.vast.ai/cli/ and export "
            "VAST_API_KEY to rent a host",
            field="VAST_API_KEY",
        )
    url = env.get("VAST_API_URL", "").strip() or DEFAULT_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"VAST_API_URL {url!r} is not an http(s) URL", field="VAST_API_URL")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise UserError(
            f"VAST_API_URL {url!r} is plain http: the key would travel in the clear; use https",
            field="VAST_API_URL",
        )
    return key, url.rstrip("/")


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Offer:
    id: int
    gpu_name: str
    num_gpus: int
    dph_total: float
    disk_space: float
    reliability: float

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Offer:
        return cls(
            id=int(data["id"]),
            gpu_name=str(data.get("gpu_name") or ""),
            num_gpus=int(data.get("num_gpus") or 1),
            dph_total=float(data["dph_total"]),
            disk_space=float(data.get("disk_space") or 0),
            reliability=float(data.get("reliability2") or data.get("reliability") or 0),
        )


@dataclass(frozen=True)
class Endpoint:
    """Where a running instance's port is reached from outside, and what it costs."""

    host: str
    port: int
    usd_per_hour: float | None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class VastClient:
    """The few Vast.ai calls loopwright makes. ``http`` is the caller's client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        key: str,
        base_url: str = DEFAULT_URL,
        *,
        retries: int = 5,
        backoff: float = 2.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http, self._key, self._base = http, key, base_url.rstrip("/")
        self._retries, self._backoff, self._sleep = retries, backoff, sleep

    async def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        url = f"{self._base}{path}"
        headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        for attempt in range(self._retries + 1):
            try:
                reply = await self._http.request(method, url, headers=headers, **kw)
            except httpx.HTTPError as exc:
                what = f"cannot reach Vast.ai ({method} {path}): {type(exc).__name__}"
                raise HostError(self._scrub(what)) from None
            if reply.status_code == 429 and attempt < self._retries:
                await self._sleep(self._wait_after(reply, attempt))
                continue
            return self._decode(method, path, reply)
        raise AssertionError("unreachable")

    def _wait_after(self, reply: httpx.Response, attempt: int) -> float:
        try:
            said = float(reply.headers.get("retry-after", ""))
        except ValueError:
            said = -1.0
        return min(60.0, said if said >= 0 else self._backoff * 2**attempt)

    def _decode(self, method: str, path: str, reply: httpx.Response) -> dict[str, Any]:
        try:
            data = reply.json()
        except ValueError:
            data = None
        if reply.status_code >= 400 or (isinstance(data, dict) and data.get("success") is False):
            said = ""
            if isinstance(data, dict):
                said = str(data.get("msg") or data.get("error") or data.get("detail") or "")
            tail = f": {said[:300]}" if said else ""
            hint = " (rate limited; retried)" if reply.status_code == 429 else ""
            if reply.status_code in (401, 403):
                hint = " (VAST_API_KEY was refused)"
            msg = f"Vast.ai {method} {path} failed: HTTP {reply.status_code}{hint}{tail}"
            raise HostError(self._scrub(msg), status=reply.status_code)
        if not isinstance(data, dict):
            raise HostError(f"Vast.ai {method} {path} answered something not JSON")
        return data

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "[redacted]") if self._key else text

    async def search_offers(
        self, gpu: str, max_price: float, disk: float, limit: int = 20
    ) -> list[Offer]:
        """Rentable on-demand offers of ``gpu`` at most ``max_price`` $/h with ``disk`` GB,
        cheapest first."""
        query = {  # the Vast CLI's defaults (verified, not external, rentable, not rented)
            "verified": {"eq": True},
            "external": {"eq": False},
            "rented": {"eq": False},
            "gpu_name": {"eq": gpu},
            "rentable": {"eq": True},
            "dph_total": {"lte": max_price},
            "disk_space": {"gte": disk},
            "type": "on-demand",
            "allocated_storage": disk,  # dph_total then includes this disk's price
            "order": [["dph_total", "asc"]],
            "limit": limit,
        }
        data = await self._call("GET", "/bundles/", params={"q": json.dumps(query)})
        offers = [Offer.parse(o) for o in data.get("offers") or [] if isinstance(o, dict)]
        fits = [o for o in offers if o.dph_total <= max_price and o.gpu_name == gpu]
        return sorted(fits, key=lambda o: (o.dph_total, -o.reliability))

    async def create(
        self, offer_id: int, *, image: str, disk: float, onstart: str, label: str, port: int
    ) -> int:
        """Accept the offer: an instance of ``image`` whose ``port`` is mapped to a public
        one, running ``onstart`` (ssh launch mode: the image's entrypoint is replaced)."""
        body = {
            "image": image,
            "disk": disk,
            "runtype": "ssh",
            "label": label,
            "onstart": onstart,
            "env": {f"-p {port}:{port}": "1"},
        }
        data = await self._call("PUT", f"/asks/{offer_id}/", json=body)
        if not isinstance(data.get("new_contract"), int):
            raise HostError(f"Vast.ai accepted offer {offer_id} but named no new instance")
        return int(data["new_contract"])

    async def instance(self, instance_id: int) -> dict[str, Any]:
        """The instance's record (``GET /instances/{id}/``)."""
        data = await self._call("GET", f"/instances/{instance_id}/")
        found = data.get("instances", data.get("instance"))
        if isinstance(found, list):
            found = found[0] if found else None
        if not isinstance(found, dict):
            raise HostError(f"Vast.ai knows no instance {instance_id}", instance_id=instance_id)
        return found

    async def instances(self) -> list[dict[str, Any]]:
        """Every instance of the account (``GET /instances/`` -> ``{"instances": [...]}``):
        those not destroyed, whatever their state (a stopped one still pays for its disk)."""
        data = await self._call("GET", "/instances/")
        found = data.get("instances")
        if not isinstance(found, list):
            raise HostError("Vast.ai GET /instances/ answered no list of instances")
        return [r for r in found if isinstance(r, dict)]

    async def wait_running(
        self,
        instance_id: int,
        port: int,
        *,
        timeout: float,
        poll: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        on_poll: Callable[[], None] = lambda: None,
    ) -> Endpoint:
        """Poll until the instance is ``running`` with ``port`` mapped; its endpoint.
        ``HostError`` when it exits or fails, or when ``timeout`` seconds pass.
        ``on_poll`` is called at each look."""
        deadline = clock() + timeout
        state: Any = None
        while True:
            on_poll()
            record = await self.instance(instance_id)
            state = record.get("actual_status")
            if state == "running" and (found := endpoint(record, port)) is not None:
                return found
            if state in _FAILED:
                said = str(record.get("status_msg") or "")[:300]
                raise HostError(
                    f"instance {instance_id} is {state} instead of running"
                    + (f": {said}" if said else ""),
                    instance_id=instance_id,
                )
            if clock() >= deadline:
                raise HostError(
                    f"instance {instance_id} was still {state or 'provisioning'} after "
                    f"{timeout:.0f} s",
                    instance_id=instance_id,
                )
            await self._sleep(poll)

    async def destroy(self, instance_id: int) -> bool:
        """Destroy the instance; False when Vast.ai no longer knows it (already gone)."""
        try:
            await self._call("DELETE", f"/instances/{instance_id}/")
        except HostError as exc:
            if exc.status == 404:
                return False
            raise HostError(
                f"could not destroy instance {instance_id}: {exc}", instance_id=instance_id
            ) from None
        return True


def endpoint(record: dict[str, Any], port: int) -> Endpoint | None:
    """The public address of ``port`` in an instance record, None while it has none."""
    ip = record.get("public_ipaddr")
    ports = record.get("ports")
    if not isinstance(ip, str) or not ip.strip() or not isinstance(ports, dict):
        return None
    maps = ports.get(f"{port}/tcp")
    if not isinstance(maps, list) or not maps or not isinstance(maps[0], dict):
        return None
    try:
        public = int(maps[0].get("HostPort") or 0)
    except (TypeError, ValueError):
        return None
    price = record.get("dph_total")
    cost = float(price) if isinstance(price, (int, float)) else None
    return Endpoint(ip.strip(), public, cost) if public > 0 else None
