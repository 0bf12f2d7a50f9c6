"""``loopwright hosts profile [MODEL] [--json]``: the measured speed of each model x host;
``hosts ls`` (``hosts_ls``): the pool (registered in ``cli``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .hosts_ls import add_ls, cmd_ls
from .output import out
from .rent_cmd import ACTIONS as RENT_ACTIONS
from .rent_cmd import add_rent_commands, cmd_rent_group


def add_hosts_commands(p: argparse.ArgumentParser) -> None:
    """The ``hosts`` group's actions, under its parser ``p``."""
    actions = p.add_subparsers(dest="hosts_command", required=True, metavar="ACTION")
    q = actions.add_parser(
        "profile",
        help="median and p90 speeds per model x host, and how they moved, from every call",
        description="median and p90 speeds per model x host, and how they moved over time, "
        "from every model call loopwright made (<state>/profiles.sqlite)",
    )
    q.add_argument("model", nargs="?", help="only this model")
    q.add_argument("--json", action="store_true", help="print one JSON document")
    add_rent_commands(actions)
    add_ls(actions)


def cmd_hosts(args: argparse.Namespace) -> int:
    if args.hosts_command in RENT_ACTIONS:
        return cmd_rent_group(args)
    if args.hosts_command == "ls":
        return cmd_ls(args)
    from ..hosts.profiles import ProfileStore
    from ..hosts.summary import summarize

    store = ProfileStore()
    try:
        rows = summarize(store.calls(args.model))
    finally:
        store.close()
    if args.json:
        out(json.dumps(rows))
        return 0
    if not rows:
        out("no model calls recorded yet" + (f" for {args.model}" if args.model else ""))
        return 0
    for line in table(rows):
        out(line)
    return 0


HEAD = (
    f"{'model':<28} {'host':<12} {'calls':>5}  {'gen tok/s':>13}  {'prompt tok/s':>13}  "
    f"{'load s':>11}  {'wall s':>11}  {'ctx':>6}  moved (gen tok/s by day)"
)


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The profile as text: each metric ``median/p90``, then the daily medians."""
    lines = [HEAD]
    for r in rows:
        moved = " → ".join(f"{t['day'][5:]} {_n(t['gen_tps'])}" for t in r["trend"])
        notes = [f"{r[k]} {k}" for k in ("truncated", "failed", "estimated") if r[k]]
        lines.append(
            f"{r['model'][:28]:<28} {r['host'][:12]:<12} {r['calls']:>5}  "
            f"{_pair(r['gen_tps']):>13}  {_pair(r['prompt_tps']):>13}  "
            f"{_pair(r['load_s']):>11}  {_pair(r['wall_s']):>11}  {_n(r['context']):>6}  "
            f"{moved}{'  (' + ', '.join(notes) + ')' if notes else ''}"
        )
    return lines


def _pair(metric: dict[str, Any]) -> str:
    return f"{_n(metric['median'])}/{_n(metric['p90'])}"


def _n(value: Any) -> str:
    from ..hosts.summary import figure

    return figure(value)
