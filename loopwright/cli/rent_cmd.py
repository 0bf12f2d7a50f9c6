"""``loopwright hosts rent`` and ``hosts down``: a GPU host rented on Vast.ai, and given
back (registered under the ``hosts`` group by ``hosts_cmd``). The parser part imports
nothing heavy: httpx and the Vast.ai client load only when one of these runs."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..hosts.rented import RentedHost, load_rented
from .output import out

if TYPE_CHECKING:
    from ..hosts.vast_rent import RentRequest

__all__ = ["ACTIONS", "add_rent_commands", "cmd_rent_group", "host_json"]

ACTIONS = ("rent", "down")


def add_rent_commands(actions: Any) -> None:
    """``rent`` and ``down`` under the ``hosts`` group's subparsers ``actions``."""
    r = actions.add_parser(
        "rent",
        help="rent a GPU on Vast.ai running Ollama with MODEL (needs VAST_API_KEY)",
        description="rent the cheapest rentable Vast.ai offer of --gpu at --max-price $/h or "
        "less, run Ollama there behind a bearer-token proxy, pull --model, and start a keeper "
        "that destroys it after --idle-minutes without calls and at --max-hours. Needs "
        "VAST_API_KEY (VAST_API_URL overrides the API address). If anything fails after the "
        "instance is created, it is destroyed and the error says so. The instance is labelled "
        "loopwright:MODEL, so hosts ls and doctor find it even if this command is killed "
        "before saving it.",
    )
    r.add_argument("--gpu", required=True, help='Vast.ai GPU name, e.g. "RTX 4090"')
    r.add_argument(
        "--model", required=True, help="the Ollama model to pull, e.g. qwen2.5-coder:32b"
    )
    r.add_argument("--max-price", type=float, required=True, help="$/hour at most (dph_total)")
    r.add_argument("--disk", type=float, default=60.0, help="disk in GB (default 60)")
    r.add_argument(
        "--idle-minutes", type=float, default=15.0,
        help="destroyed after this many minutes without a model call (default 15)",
    )  # fmt: skip
    r.add_argument(
        "--max-hours", type=float, default=8.0,
        help="destroyed after this many hours whatever happens (default 8)",
    )  # fmt: skip
    r.add_argument("--json", action="store_true", help="print the host as JSON (with its name)")
    d = actions.add_parser(
        "down",
        help="destroy a rented host, or an instance loopwright created and lost, now "
        "(needs VAST_API_KEY)",
        description="destroy the rented host NAME on Vast.ai and mark it destroyed. NAME "
        "may also be an orphan that hosts ls or doctor warned of: an instance labelled "
        "loopwright:... that the rented-host store does not know, by its name vast-<id> or "
        "its instance id",
    )
    d.add_argument(
        "name", metavar="NAME", help="the rented host or orphan, e.g. vast-12345 (or 12345)"
    )


def cmd_rent_group(args: argparse.Namespace) -> int:
    if args.hosts_command == "rent":
        return cmd_rent(args)
    return cmd_down(args)


def host_json(host: RentedHost) -> dict[str, Any]:
    """The host as printed: everything but its token (kept 0600 in the rented-host store)."""
    data = host.as_dict()
    data.pop("token", None)
    data["token_set"] = host.token is not None
    return data


def cmd_rent(args: argparse.Namespace) -> int:
    from ..hosts.keeper import keeper_log
    from ..hosts.vast import api_settings
    from ..hosts.vast_rent import RentRequest

    key, url = api_settings()  # no key: a clear error before anything is asked or created
    req = RentRequest(
        gpu=args.gpu,
        model=args.model,
        max_price=args.max_price,
        disk=args.disk,
        idle_minutes=args.idle_minutes,
        max_hours=args.max_hours,
    )
    req.check()
    host = asyncio.run(_rent(req, key, url))
    if args.json:
        out(json.dumps(host_json(host)))
        return 0
    out(
        f"{host.name}  {host.kind}  {host.url}  {host.gpu}  ${host.usd_per_hour:.3f}/h  "
        f"{host.model}"
    )
    out(
        f"use it as @{host.name} in a model spec; its keeper (pid {host.keeper_pid}, log "
        f"{keeper_log(host.name)}) destroys it after {host.idle_minutes:g} idle minutes and "
        f"at {host.max_hours:g} h; `loopwright hosts down {host.name}` stops paying now"
    )
    return 0


async def _rent(req: RentRequest, key: str, url: str) -> RentedHost:
    import httpx

    from ..hosts.vast import VastClient
    from ..hosts.vast_rent import rent
    from ..process.runner import PlainRunner

    async with httpx.AsyncClient(timeout=30.0) as http:
        vast = VastClient(http, key, url)
        return await rent(req, vast=vast, http=http, runner=PlainRunner(), progress=_progress)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_down(args: argparse.Namespace) -> int:
    """A rented host of the store by its name; otherwise (unknown, or recorded as
    destroyed) an orphan, by its name ``vast-<id>`` or its instance id, when the key is set."""
    import os

    from ..hosts.vast import api_settings

    known = {h.name: h for h in load_rented(include_destroyed=True)}
    by_id = {str(h.instance_id): h for h in known.values() if h.state != "destroyed"}
    host = known.get(args.name) or by_id.get(args.name)
    if host is not None and host.state != "destroyed":
        key, url = api_settings()
        out(asyncio.run(_down(host.name, key, url)))
        return 0
    if not os.environ.get("VAST_API_KEY", "").strip():
        if host is not None:
            out(f"{args.name} was already destroyed")
            return 0
        raise UserError(
            f"no rented host named {args.name!r} (set VAST_API_KEY to look for an instance "
            "loopwright created that its store does not know)",
            field="NAME",
        )
    key, url = api_settings()
    said = asyncio.run(_down_orphan(args.name, key, url))
    if said is None and host is not None:
        said = f"{args.name} was already destroyed"
    if said is None:
        raise UserError(
            f"no rented host named {args.name!r}, nor an instance of that name or id "
            "labelled by loopwright on Vast.ai",
            field="NAME",
        )
    out(said)
    return 0


async def _down(name: str, key: str, url: str) -> str:
    import httpx

    from ..hosts.vast import VastClient
    from ..hosts.vast_rent import down

    async with httpx.AsyncClient(timeout=30.0) as http:
        return await down(name, VastClient(http, key, url))


async def _down_orphan(which: str, key: str, url: str) -> str | None:
    import httpx

    from ..hosts.vast import VastClient
    from ..hosts.vast_orphans import destroy_orphan

    async with httpx.AsyncClient(timeout=30.0) as http:
        return await destroy_orphan(which, VastClient(http, key, url))
