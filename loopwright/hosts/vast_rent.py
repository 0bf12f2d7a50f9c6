"""Renting a GPU host on Vast.ai and giving it back: ``rent`` (search, create, keeper,
wait, pull, save) and ``down``.

A paid instance is never left running silently: from the moment Vast.ai names the new
instance it is in the rented-host store and its keeper runs; if anything after that
fails (or the caller is interrupted), the instance is destroyed before the error goes up,
and the error says so (or says that destroying failed, what to do, and that the keeper
keeps trying). Before that moment (``rent`` killed between Vast.ai creating the instance
and loopwright saving it), the instance's label ``loopwright:<model>`` lets ``hosts ls``
and ``doctor`` find it (``vast_orphans``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ..errors import HostError, UserError
from ..process.runner import ProcessRunner
from .keeper import INTERVAL, start_keeper
from .rented import RentedHost, load_rented, mark_destroyed, mark_used, save_rented
from .vast import Offer, VastClient
from .vast_onstart import IMAGE, PORT, new_token, onstart_script
from .vast_orphans import orphan_label

__all__ = ["RentRequest", "Waits", "down", "pull_model", "rent", "wait_ready"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RentRequest:
    gpu: str
    model: str
    max_price: float
    disk: float = 60.0
    idle_minutes: float = 15.0
    max_hours: float = 8.0

    def check(self) -> None:
        for name, value in (("max_price", self.max_price), ("disk", self.disk)):
            if not value > 0:
                raise UserError(f"{name} must be positive, not {value}", field=name)
        for name, value in (("idle_minutes", self.idle_minutes), ("max_hours", self.max_hours)):
            if not value > 0:
                raise UserError(f"{name} must be positive, not {value}", field=name)
        if not self.gpu.strip() or not self.model.strip():
            raise UserError("a GPU name and a model are needed", field="gpu")


@dataclass(frozen=True)
class Waits:
    """How long each step may take (seconds) and how often to look."""

    running: float = 900.0
    ready: float = 600.0
    poll: float = 5.0
    keeper_interval: float = INTERVAL


async def rent(
    req: RentRequest,
    *,
    vast: VastClient,
    http: httpx.AsyncClient,
    runner: ProcessRunner,
    progress: Progress = lambda _: None,
    waits: Waits = Waits(),
    clock: Callable[[], float] = time.time,
) -> RentedHost:
    """Rent the cheapest fitting offer, start its keeper, wait for it, pull the model;
    the saved host (state ``running``)."""
    req.check()
    offers = await vast.search_offers(req.gpu, req.max_price, req.disk)
    if not offers:
        raise HostError(
            f"no rentable {req.gpu} offer at ${req.max_price:.2f}/h or less with "
            f"{req.disk:g} GB of disk: nothing was rented"
        )
    offer = offers[0]
    progress(
        f"renting offer {offer.id}: {offer.num_gpus}x {offer.gpu_name} at ${offer.dph_total:.3f}/h"
    )
    host = await _create(req, offer, vast, clock)
    try:
        save_rented(host)
        host = dataclasses.replace(
            host, keeper_pid=start_keeper(host.name, runner, waits.keeper_interval)
        )
        save_rented(host)
        return await _bring_up(host, vast, http, progress, waits)
    except BaseException as exc:
        said = await _give_back(host, vast, exc, clock)
        if said is exc:
            raise
        raise said from exc


async def _create(
    req: RentRequest, offer: Offer, vast: VastClient, clock: Callable[[], float]
) -> RentedHost:
    """Create the instance (with a fresh token in its onstart script): the host to save."""
    token = new_token()
    instance_id = await vast.create(
        offer.id,
        image=IMAGE,
        disk=req.disk,
        onstart=onstart_script(token),
        label=orphan_label(req.model),
        port=PORT,
    )
    return RentedHost(
        name=f"vast-{instance_id}",
        instance_id=instance_id,
        kind="ollama",
        url="",
        token=token,
        usd_per_hour=offer.dph_total,
        gpu=offer.gpu_name,
        model=req.model,
        created_at=clock(),
        idle_minutes=req.idle_minutes,
        max_hours=req.max_hours,
        state="loading",
    )


async def _bring_up(
    host: RentedHost, vast: VastClient, http: httpx.AsyncClient, progress: Progress, waits: Waits
) -> RentedHost:
    progress(f"{host.name}: waiting for instance {host.instance_id} to run")
    # while rent waits, the host counts as used: the keeper's idle clock starts when
    # rent is done, or when rent died
    where = await vast.wait_running(
        host.instance_id,
        PORT,
        timeout=waits.running,
        poll=waits.poll,
        on_poll=lambda: mark_used(host.name),
    )
    host = dataclasses.replace(
        host, url=where.url, usd_per_hour=where.usd_per_hour or host.usd_per_hour
    )
    _save_unless_destroyed(host)
    progress(f"{host.name}: running at {host.url}; waiting for Ollama behind its token")
    await wait_ready(http, host, timeout=waits.ready, poll=waits.poll)
    await pull_model(http, host, progress)
    host = dataclasses.replace(host, state="running")
    _save_unless_destroyed(host)
    mark_used(host.name)
    return host


def _save_unless_destroyed(host: RentedHost) -> None:
    """Save ``host``, unless its keeper (or ``hosts down``) destroyed it meanwhile."""
    now = _find(host.name)
    if now is not None and now.state == "destroyed":
        raise HostError(f"{host.name} was destroyed meanwhile (by its keeper or hosts down)")
    save_rented(host)


def _find(name: str) -> RentedHost | None:
    return next((h for h in load_rented(include_destroyed=True) if h.name == name), None)


async def _give_back(
    host: RentedHost, vast: VastClient, exc: BaseException, clock: Callable[[], float]
) -> BaseException:
    """Destroy the instance after a failure; the error to raise, saying what happened."""
    why = str(exc) or type(exc).__name__
    try:
        await vast.destroy(host.instance_id)
    except Exception as failed:  # any failure is reported, with what to do
        _destroy_at_next_look(host)
        return HostError(
            f"{why}; destroying instance {host.instance_id} then failed too ({failed}): it "
            f"may still be billed; run `loopwright hosts down {host.name}` or destroy it at "
            "https://cloud.vast.ai/instances/ (its keeper tries again at each look)",
            instance_id=host.instance_id,
        )
    mark_destroyed(host.name, clock())
    if not isinstance(exc, Exception):  # Ctrl-C, cancellation: destroyed, then go on
        return exc
    return HostError(
        f"{why}; instance {host.instance_id} was destroyed (nothing is left running)",
        status=getattr(exc, "status", None),
        instance_id=host.instance_id,
    )


def _destroy_at_next_look(host: RentedHost) -> None:
    """An idle limit of 0: the keeper destroys the host at its next look."""
    try:
        now = _find(host.name) or host
        if now.state != "destroyed":
            save_rented(dataclasses.replace(now, idle_minutes=0.0))
    except OSError:  # the error raised says what to do either way
        pass


def _auth(host: RentedHost) -> dict[str, str]:
    return {"Authorization": f"Bearer {host.token}"} if host.token else {}


async def wait_ready(
    http: httpx.AsyncClient,
    host: RentedHost,
    *,
    timeout: float,
    poll: float,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Until Ollama answers ``/api/version`` through the proxy with the token."""
    deadline = clock() + timeout
    said = "no answer"
    while clock() < deadline:
        mark_used(host.name)
        try:
            reply = await http.get(f"{host.url}/api/version", headers=_auth(host), timeout=10.0)
        except httpx.HTTPError as exc:
            said = type(exc).__name__
        else:
            if reply.status_code == 200:
                return
            if reply.status_code == 401:
                raise HostError(f"{host.name}: its proxy refused loopwright's token")
            said = f"HTTP {reply.status_code}"
        await asyncio.sleep(poll)
    raise HostError(f"{host.name}: Ollama did not answer within {timeout:.0f} s ({said})")


async def pull_model(http: httpx.AsyncClient, host: RentedHost, progress: Progress) -> None:
    """``/api/pull`` the host's model, reporting progress; a ``HostError`` unless it ends
    with ``success``. Each progress line counts as use (the keeper must not see idle)."""
    last, status = 0.0, ""
    body = {"model": host.model, "stream": True}
    timeout = httpx.Timeout(60.0, read=600.0)
    async with http.stream(
        "POST", f"{host.url}/api/pull", json=body, headers=_auth(host), timeout=timeout
    ) as reply:
        if reply.status_code != 200:
            await reply.aread()
            raise HostError(f"{host.name}: pulling {host.model} failed: HTTP {reply.status_code}")
        async for line in reply.aiter_lines():
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if item.get("error"):
                raise HostError(f"{host.name}: pulling {host.model} failed: {item['error']}")
            status = str(item.get("status") or "")
            if time.time() - last >= 5 or status == "success":
                last = time.time()
                mark_used(host.name, last)
                progress(_pull_line(host.model, item))
    if status != "success":
        raise HostError(f"{host.name}: pulling {host.model} ended without success")


def _pull_line(model: str, item: dict[str, object]) -> str:
    total, done = item.get("total"), item.get("completed")
    line = f"pulling {model}: {item.get('status')}"
    if isinstance(total, int) and isinstance(done, int) and total > 0:
        line += f" {100 * done // total}% ({done / 1e9:.1f}/{total / 1e9:.1f} GB)"
    return line


async def down(name: str, vast: VastClient, clock: Callable[[], float] = time.time) -> str:
    """Destroy the rented host ``name`` and mark it destroyed; what was done."""
    host = _find(name)
    if host is None:
        raise UserError(f"no rented host named {name!r}", field="NAME")
    if host.state == "destroyed":
        return f"{name} was already destroyed"
    known = await vast.destroy(host.instance_id)
    mark_destroyed(name, clock())
    gone = "" if known else " (Vast.ai no longer knew it)"
    return f"{name} (instance {host.instance_id}) destroyed{gone}"
