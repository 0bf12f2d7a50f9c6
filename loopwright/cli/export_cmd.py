"""``loopwright export``: finished runs as JSONL for training (``loopwright.memory.export``):
``sft`` chats, ``dpo`` preference pairs, or whole ``trajectories``; every line through the
redactor. Registered in ``cli``."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..config import state_dir
from ..errors import UserError
from ..fsmodes import open_nofollow
from ..loop.vocab import TERMINAL_STATES
from .memory_cmd import repo_of
from .output import out

if TYPE_CHECKING:
    from ..memory.export import Turn
    from ..runs.store import RunStore

__all__ = ["FORMATS", "add_export_command", "cmd_export", "parse_since"]

FORMATS = ("sft", "dpo", "trajectories")
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
PAGE = 500


def add_export_command(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", required=True, choices=FORMATS, help="what each line is")
    p.add_argument("--repo", metavar="PATH", help="only runs in this repository")
    p.add_argument(
        "--since", metavar="WHEN", help="only runs started since WHEN: a date (2026-01-31, "
        "2026-01-31T09:00, local time) or an age (30m, 12h, 7d, 2w)"
    )  # fmt: skip
    p.add_argument(
        "--only-verified",
        action="store_true",
        help="only turns (sft, dpo's chosen) whose iteration's verify commands ran and "
        "passed; trajectories: only completed runs whose last verify passed",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (0600) instead of stdout")


def parse_since(text: str, now: float | None = None) -> float:
    """``--since``: an age before ``now`` or a local date and time, as epoch seconds."""
    now = time.time() if now is None else now
    age = _AGE.match(text.strip())
    if age:
        return now - float(age.group(1)) * _UNIT[age.group(2)]
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise UserError(
            f"--since {text!r}: give a date (2026-01-31, 2026-01-31T09:00) or an age (12h, 7d)",
            "since",
        ) from None


def _runs(store: RunStore, since: float | None) -> list[str]:
    """The finished runs (started since ``since``), oldest first."""
    found: list[str] = []
    before: str | None = None
    while True:
        rows = store.index.list(limit=PAGE, before=before)
        for row in rows:
            if row["state"] in TERMINAL_STATES and (since is None or row["created_at"] >= since):
                found.append(row["run_id"])
        if len(rows) < PAGE:
            return found[::-1]
        before = rows[-1]["run_id"]


def _verified_run(result: dict[str, Any] | None) -> bool:
    verify = (result or {}).get("verify") or []
    return bool(result and result.get("state") == "completed" and verify)


def _lines(store: RunStore, args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    from ..memory.export import dpo_rows, sft_rows, trajectory, turns
    from ..memory.record import repo_key
    from ..runs.memorize import all_events

    since = parse_since(args.since) if args.since else None
    repo = repo_of(args.repo) if args.repo else None
    judged: list[Turn] = []
    for run_id in _runs(store, since):
        request = store.read_request(run_id)
        result = store.read_result(run_id)
        if repo is not None and repo_key(request, result or {}) != repo:
            continue
        if args.format == "trajectories":
            if not args.only_verified or _verified_run(result):
                yield trajectory(run_id, request, result, all_events(store, run_id))
        elif request.get("pattern", "loop") == "loop":
            judged += turns(run_id, request, all_events(store, run_id))
    if args.format == "sft":
        yield from sft_rows(judged, args.only_verified)
    elif args.format == "dpo":
        yield from dpo_rows(judged, args.only_verified)


def cmd_export(args: argparse.Namespace) -> int:
    from ..runs.store import RunStore

    store = RunStore(state_dir())
    fd = -1
    if args.output:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        fd = open_nofollow(os.path.abspath(os.path.expanduser(args.output)), flags)
    count = 0
    try:
        for line in _lines(store, args):
            text = store.redact(json.dumps(line, ensure_ascii=False))
            if fd < 0:
                out(text)
            else:
                data = (text + "\n").encode()
                while data:
                    data = data[os.write(fd, data) :]
            count += 1
    finally:
        if fd >= 0:
            os.close(fd)
    where = f" to {args.output}" if args.output else ""
    print(f"loopwright: exported {count} {args.format} line(s){where}", file=sys.stderr)
    return 0
