"""``loopwright cost [RUN] [--since DAYS] [--json]``: what runs spent on API calls and on
holding priced hosts, what each host was charged, and what the rented hosts cost the pool
idle (``runs.costs``). Registered in ``cli.parser``."""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

from .output import out

__all__ = ["add_cost_command", "cmd_cost", "table"]

HELP = "what runs spent (API calls, held hosts) and what rented hosts cost idle"


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 36_500:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of days above 0, e.g. 7 or 0.5")
    return value


def add_cost_command(sub: Any) -> argparse.ArgumentParser:
    """The ``cost`` command, under the subparsers ``sub`` of the ``loopwright`` parser."""
    p: argparse.ArgumentParser = sub.add_parser("cost", help=HELP, description=HELP)
    p.add_argument("run_id", nargs="?", metavar="RUN", help="only this run and its hosts")
    p.add_argument(
        "--since", type=_days, metavar="DAYS", help="only runs started and time billed in the "
        "last DAYS days (default: everything recorded)"
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_cost)
    return p


def cmd_cost(args: argparse.Namespace) -> int:
    from ..config import state_dir
    from ..runs.costs import cost_report
    from ..runs.ids import check_run_id
    from ..runs.store import RunStore

    run_id = check_run_id(args.run_id, "RUN") if args.run_id else None
    since = time.time() - args.since * 86400 if args.since else None
    report = cost_report(RunStore(state_dir()), run_id, since)
    if args.json:
        out(json.dumps(report))
        return 0
    for line in table(report):
        out(line)
    return 0


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.4f}"


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.2f}h"


def table(report: dict[str, Any]) -> list[str]:
    """The report as text: runs, hosts, the pool's idle cost, totals."""
    lines = [f"{'run':<26} {'state':<12} {'API':>12} {'held hosts':>12} {'total':>12}"]
    for r in report["runs"]:
        n = r["unknown_cost_calls"]
        unknown = f"  (and {n} call(s) of unknown price)" if n else ""
        lines.append(
            f"{r['run_id']:<26} {r['state']!s:<12} {_usd(r['api_cost_usd']):>12} "
            f"{_usd(r['host_cost_usd']):>12} {_usd(r['cost_usd']):>12}{unknown}"
        )
    if not report["runs"]:
        lines.append("no runs")
    if report["hosts"]:
        lines += ["", f"{'host':<20} {'source':<7} {'$/h':>8} {'runs':>5} {'held':>8} "
                  f"{'held $':>12} {'rented':>8} {'idle':>8} {'idle $':>12}"]  # fmt: skip
        for h in report["hosts"]:
            lines.append(
                f"{h['name'][:20]:<20} {h['source']:<7} {h['usd_per_hour']:>8.3f} "
                f"{h['runs']:>5} {_hours(h['held_s']):>8} {_usd(h['held_cost_usd']):>12} "
                f"{_hours(h.get('rented_s')):>8} {_hours(h.get('idle_s')):>8} "
                f"{_usd(h.get('idle_cost_usd')):>12}"
            )
    t = report["total"]
    lines.append("")
    if report["pool"] is not None:
        lines.append(
            f"pool idle (rented hosts no run held): {_usd(report['pool']['idle_cost_usd'])}"
        )
    lines.append(
        f"total {_usd(t['cost_usd'])}: API {_usd(t['api_cost_usd'])}, held hosts "
        f"{_usd(t['host_cost_usd'])}, idle {_usd(t['idle_cost_usd'])}"
    )
    return lines
