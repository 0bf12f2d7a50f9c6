"""``loopwright rm``, ``gc`` and ``merge [--cleanup]`` (registered in ``cli.commands``); the
work is done by ``runs.cleanup`` and ``runs.git.merge``."""

from __future__ import annotations

import argparse
import json
import re

from ..errors import UserError
from ..loop.vocab import LIVE_STATES, TERMINAL_STATES
from ..runs import cleanup, runner
from ..runs.cleanup import Item, Report
from ..runs.ids import check_run_id
from ..runs.store import RunStore
from .output import out

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str, option: str = "--older-than") -> float:
    """``7d``, ``12h``, ``30m``, ``90s`` or ``2w`` in seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if not found:
        raise UserError(f"{option} {text!r}: give a number and a unit, like 7d, 12h or 30m")
    return float(found[1]) * UNITS[found[2]]


def cmd_rm(args: argparse.Namespace, store: RunStore) -> int:
    ids = [check_run_id(r, "RUN") for r in args.run_ids]
    for run_id in ids:  # all checked first: a live or unknown one removes nothing at all
        if runner.refresh(store, run_id)["state"] in LIVE_STATES:
            raise UserError(
                f"run {run_id} is still running; cancel it first (loopwright cancel {run_id})"
            )
    report = Report(dry_run=args.dry_run)
    for run_id in ids:
        done = cleanup.delete(store, run_id, force=args.force, dry_run=args.dry_run)
        report.removed += done.removed
        report.kept += done.kept
    show(report, args.json)
    return 1 if report.kept else 0


def cmd_gc(args: argparse.Namespace, store: RunStore) -> int:
    if args.keep < 0:
        raise UserError(f"--keep {args.keep}: must be 0 or more")
    selection = cleanup.Selection(
        states=frozenset(args.state) if args.state else TERMINAL_STATES,
        older_than=parse_age(args.older_than) if args.older_than else None,
        merged_only=args.merged,
    )
    report = cleanup.gc(store, selection, force=args.force, dry_run=args.dry_run,
                        keep_pooled=args.keep)  # fmt: skip
    show(report, args.json)
    return 0


def cmd_merge(args: argparse.Namespace, store: RunStore) -> int:
    """``merge``; with ``--cleanup``, then ``rm``."""
    from ..runs.git.merge import merge

    run_id = check_run_id(args.run_id, "RUN")
    m = merge(store, run_id, squash=args.squash, into=args.into)
    report = cleanup.delete(store, run_id) if args.cleanup else None
    if args.json:
        out(json.dumps({**m, "cleanup": report.as_dict() if report else None}))
    elif m["already"]:
        out(f"run {run_id} is already merged into {m['into']}: nothing to do")
    else:
        how = "squashed" if m["squash"] else "merged"
        files = len(m["files"])
        out(f"{how} run {run_id} into {m['into']}: {m['commit'][:10]}, {files} file(s)")
    if report and not args.json:
        show(report, False)
    return 1 if report and report.kept else 0


def show(report: Report, as_json: bool) -> None:
    if as_json:
        out(json.dumps(report.as_dict()))
        return
    verb = "would remove" if report.dry_run else "removed"
    for item in report.removed:
        out(f"{verb} {_item(item)}" + (f" ({item.note})" if item.note else ""))
    for item in report.kept:
        out(f"kept {_item(item)}: {item.note}{_hint(item)}")
    if not report.removed and not report.kept:
        out("nothing to clean up")
    else:
        out(f"{len(report.removed)} {verb}, {len(report.kept)} kept")


def _item(item: Item) -> str:
    run = f" of run {item.run_id}" if item.run_id and item.kind != "run" else ""
    return f"{item.kind} {item.target}{run}"


def _hint(item: Item) -> str:
    if item.kind == "branch" and "not merged" in item.note:
        return f" — merge it (loopwright merge {item.run_id}) or remove it with --force"
    if "uncommitted" in item.note:
        return " — commit or remove those changes yourself; loopwright never discards them"
    return ""
