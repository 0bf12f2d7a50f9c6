"""``loopwright tail``, ``status``, ``result`` and ``cancel`` (registered in
``cli.commands``): one run's events, state and outcome, and stopping it."""

from __future__ import annotations

import argparse
import json

from ..loop.vocab import LIVE_STATES
from ..runs import runner
from ..runs.eventlog import read_last
from ..runs.ids import check_run_id
from ..runs.store import RunStore
from .follow import EXIT, follow_loop, report
from .output import out
from .view import format_event, format_status

__all__ = ["cmd_cancel", "cmd_result", "cmd_status", "cmd_tail"]


def cmd_tail(args: argparse.Namespace, store: RunStore) -> int:
    p = store.existing(check_run_id(args.run_id))
    page = read_last(p.events, args.lines)
    for event in page.events:
        out(json.dumps(event) if args.json else format_event(event))
    if not args.follow:
        return 0
    args.json = args.json or False
    status, _ = follow_loop(store, args.run_id, quiet=False, cursor=page.cursor)
    return EXIT.get(status["state"], 2)


def cmd_status(args: argparse.Namespace, store: RunStore) -> int:
    status = runner.refresh(store, check_run_id(args.run_id))
    out(json.dumps(status) if args.json else format_status(status))
    return 0


def cmd_result(args: argparse.Namespace, store: RunStore) -> int:
    run_id = check_run_id(args.run_id)
    if args.wait:
        runner.wait(store, run_id, args.timeout)
    status = runner.refresh(store, run_id)
    if status["state"] in LIVE_STATES:
        out(json.dumps(status) if args.json else f"run {run_id} is still {status['state']}")
        return EXIT["running"]
    return report(store, run_id, status, args.json)


def cmd_cancel(args: argparse.Namespace, store: RunStore) -> int:
    status = runner.cancel(store, check_run_id(args.run_id))
    out(json.dumps(status) if args.json else f"run {args.run_id}: {status['state']}")
    return 0
