"""``loopwright list`` and ``loopwright diff`` (registered in ``cli.commands``): the runs
there are, and what one changed."""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from ..runs import runner
from ..runs.ids import check_run_id
from ..runs.store import RunStore
from .output import out
from .view import format_list


def cmd_list(args: argparse.Namespace, store: RunStore) -> int:
    runner.recover(store)
    rows = store.index.list(args.state, args.limit)
    if args.json:
        out(json.dumps(rows))
        return 0
    if not rows:
        out("no runs")
        return 0
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    for line in format_list(rows, store.home / "scratch", width):
        out(line)
    return 0


def cmd_diff(args: argparse.Namespace, store: RunStore) -> int:
    from ..runs.git.merge import diff

    d = diff(store, check_run_id(args.run_id, "RUN"), args.max_bytes, args.iteration)
    if args.json:
        out(json.dumps(d))
        return 0
    which = f" iteration {args.iteration}" if args.iteration else ""
    out(f"{d['branch']}{which} ({d['base'][:10]}..): {len(d['files'])} file(s), "
        f"+{d['insertions']} -{d['deletions']}")  # fmt: skip
    for f in d["files"]:
        renamed = f"{f['old_path']} -> " if f.get("old_path") else ""
        out(f"  {f['status']} {renamed}{f['path']}")
    if d["patch"]:
        out("\n" + d["patch"].rstrip())
    if d["truncated"]:
        out(f"[patch cut at {args.max_bytes} bytes]")
    return 0
