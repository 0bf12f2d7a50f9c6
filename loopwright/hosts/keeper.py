"""The keeper: a detached process per rented host that destroys it after ``idle_minutes``
with no model call (``rented.last_used``, else ``created_at``) and at ``max_hours``
whatever happens.

``rent`` starts it (``start_keeper``) right after the instance is created, so even a
``rent`` that is killed leaves a watched instance. Each look writes a heartbeat
(``rented.heartbeat``); a destroy that fails (Vast.ai down, 429) is tried again at the
next look. It ends when the host is destroyed, by it or by ``hosts down``. If it dies,
``rented.unwatched`` names the host and ``hosts ls``, ``doctor`` and every run start warn.

    python -m loopwright.hosts.keeper NAME [--interval SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx

from ..errors import HostError, LoopwrightError
from ..fsmodes import open_nofollow, private_dir
from ..process.runner import ProcessRunner
from .rented import (
    RentedHost,
    heartbeat,
    last_used,
    load_rented,
    mark_destroyed,
    rented_dir,
)
from .vast import VastClient, api_settings

__all__ = ["INTERVAL", "due", "keep", "keeper_log", "main", "start_keeper"]

INTERVAL = 30.0
"""Seconds between two looks of a keeper."""


def due(host: RentedHost, now: float, used: float | None) -> str | None:
    """Why ``host`` must go now (``"max-hours"``, ``"idle"``), None while it may stay."""
    if now >= host.created_at + host.max_hours * 3600:
        return "max-hours"
    idle_since = max(used or host.created_at, host.created_at)
    if now - idle_since >= host.idle_minutes * 60:
        return "idle"
    return None


def _find(name: str) -> RentedHost | None:
    return next((h for h in load_rented(include_destroyed=True) if h.name == name), None)


def _log(text: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{stamp} {text}", file=sys.stderr, flush=True)


async def keep(
    name: str,
    vast: VastClient,
    *,
    interval: float = INTERVAL,
    now: Callable[[], float] = time.time,
    wait: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> str:
    """Watch ``name`` until it is destroyed; returns why it ended (``idle``,
    ``max-hours``, or ``gone`` when someone else destroyed it). ``now`` and ``wait`` are
    the clock and the pause between looks (tests drive both)."""
    while True:
        host = _find(name)
        if host is None or host.state == "destroyed":
            _log(f"{name} is destroyed or unknown: nothing left to watch")
            return "gone"
        heartbeat(name)
        reason = due(host, now(), last_used(name))
        if reason is not None:
            try:
                known = await vast.destroy(host.instance_id)
            except HostError as exc:
                _log(f"{name}: {reason}, but {exc}; trying again in {interval:g} s")
            else:
                mark_destroyed(name, now())
                gone = "" if known else " (Vast.ai no longer knew it)"
                _log(f"{name} (instance {host.instance_id}) destroyed: {reason}{gone}")
                return reason
        await wait(interval)


def keeper_log(name: str) -> str:
    """The keeper's log file for ``name`` (0600)."""
    return str(private_dir(rented_dir() / "keepers") / f"{name}.log")


def start_keeper(name: str, runner: ProcessRunner, interval: float = INTERVAL) -> int:
    """Start the keeper of ``name`` detached (new session, its own log); its pid. It
    inherits this environment: it needs ``VAST_API_KEY`` (and ``VAST_API_URL``) to
    destroy the instance."""
    log = open_nofollow(keeper_log(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    argv = [sys.executable, "-m", "loopwright.hosts.keeper", name, "--interval", f"{interval:g}"]
    try:
        return runner.spawn_detached(argv, cwd=rented_dir(), output=log)
    finally:
        os.close(log)


async def _run(name: str, interval: float) -> str:
    key, url = api_settings()
    async with httpx.AsyncClient(timeout=30.0) as http:
        return await keep(name, VastClient(http, key, url), interval=interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loopwright.hosts.keeper")
    parser.add_argument("name")
    parser.add_argument("--interval", type=float, default=INTERVAL)
    args = parser.parse_args(argv)
    if args.interval <= 0:
        parser.error("--interval must be positive")
    _log(f"watching {args.name} every {args.interval:g} s (pid {os.getpid()})")
    try:
        asyncio.run(_run(args.name, args.interval))
    except LoopwrightError as exc:
        _log(f"keeper of {args.name} stops: {exc}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
