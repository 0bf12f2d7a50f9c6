"""``loopwright hosts ls [--json] [--no-probe]``: the pool's hosts (config and rented) with
their health, models present and loaded, measured speed, $/h, age and idle time."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .output import out

HELP = "the pool: config and rented hosts, their health, models, speed, $/h, age, idle time"


def add_ls(actions: Any) -> None:
    """``hosts ls`` under the ``hosts`` group's ``actions``."""
    q = actions.add_parser(
        "ls",
        help=HELP,
        description=f"{HELP}. Each host is asked at once (Ollama: /api/version, /api/ps, "
        "/api/tags; OpenAI-compatible servers: /health, /v1/models), 2 s at most; a host "
        "that is down says why. The speed is the median generated tokens/s of every call "
        "loopwright made there (hosts profile). With VAST_API_KEY set, Vast.ai is asked "
        "(10 s at most) for instances labelled by loopwright that the rented-host store "
        "does not know: each is a warning on stderr.",
    )
    q.add_argument("--json", action="store_true", help="print a JSON list, one object a host")
    q.add_argument(
        "--no-probe", action="store_true", help="ask no host: list them, health and models unknown"
    )


def cmd_ls(args: argparse.Namespace) -> int:
    import anyio

    from ..hosts.pool import pool_status, unwatched_warnings, with_idle_costs
    from ..hosts.vast_orphans import orphan_warnings

    found = anyio.run(lambda: pool_status(not args.no_probe))
    rows = [s.as_dict() for s in with_idle_costs(found)]
    for line in unwatched_warnings() + anyio.run(orphan_warnings):
        print(f"loopwright: warning: {line}", file=sys.stderr)
    if args.json:
        out(json.dumps(rows))
        return 0
    for line in table(rows):
        out(line)
    return 0


def duration(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3h05m``, ``2d04h``; ``-`` for none."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.2f}"


def _health(row: dict[str, Any]) -> str:
    return {True: "up", False: "down", None: "?"}[row["healthy"]]


def _names(names: Sequence[str], width: int) -> str:
    text = ",".join(names) or "-"
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The pool as text; under it, why each host that is down is down."""
    if not rows:
        return ["no hosts: add [hosts.NAME] with kind and url to the config file"]
    from ..hosts.summary import figure

    lines = [
        f"{'name':<14} {'kind':<6} {'source':<6} {'health':<6} {'models':<28} {'loaded':<20} "
        f"{'gen tok/s':>9} {'$/h':>6} {'age':>6} {'idle':>6} {'idle $':>8}"
    ]
    for r in rows:
        probed = r["healthy"] is not None
        lines.append(
            f"{r['name'][:14]:<14} {r['kind']:<6} {r['source']:<6} {_health(r):<6} "
            f"{_names(r['models'], 28) if probed else '?':<28} "
            f"{_names(r['loaded'], 20) if probed else '?':<20} {figure(r['gen_tps']):>9} "
            f"{r['usd_per_hour']:>6.2f} {duration(r['age_s']):>6} {duration(r['idle_s']):>6} "
            f"{_usd(r.get('idle_cost_usd')):>8}"
        )
    lines.extend(f"  {r['name']} is down: {r['reason']}" for r in rows if r["healthy"] is False)
    return lines
