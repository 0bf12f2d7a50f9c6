"""``loopwright memory search|show|forget``: what loopwright remembers of past runs
(``<state>/memory.sqlite``, see ``loopwright.memory``), registered in ``cli``."""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict

from ..config import state_dir
from ..errors import UserError
from ..memory.store import FILE_NAME, Hit, MemoryStore
from ..runs.ids import check_run_id
from ..runs.redact import Redactor
from .output import out

__all__ = ["add_memory_commands", "cmd_memory", "repo_of"]


def add_memory_commands(p: argparse.ArgumentParser) -> None:
    """The ``memory`` group's actions, under its parser ``p``."""
    actions = p.add_subparsers(dest="memory_command", required=True, metavar="ACTION")
    q = actions.add_parser(
        "search",
        help="remembered runs whose goal and lesson share words with QUERY, closest first",
        description="remembered runs whose goal and lesson share words with QUERY, closest "
        "first (the same search a run's planner recalls with)",
    )
    q.add_argument("query", metavar="QUERY")
    q.add_argument("--repo", metavar="PATH", help="only runs in this repository")
    q.add_argument("--limit", type=_limit, default=10, help="runs at most, 1-100 (default 10)")
    q.add_argument("--json", action="store_true", help="print one JSON document")
    q = actions.add_parser("show", help="the lesson remembered of one run")
    q.add_argument("run_id", metavar="RUN")
    q.add_argument("--json", action="store_true", help="the whole record as one JSON document")
    q = actions.add_parser(
        "forget",
        help="forget one run, or every run of a repository (the run dirs stay)",
        description="forget one run, or every run of a repository: their lessons go from "
        "memory; run directories, events and branches stay",
    )
    q.add_argument("run_id", nargs="?", metavar="RUN")
    q.add_argument("--repo", metavar="PATH", help="every run in this repository")
    q.add_argument("--json", action="store_true", help="print one JSON document")


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 1 to 100")
    return int(text)


def repo_of(path: str) -> str:
    """The repository ``path`` is in, as memory files runs: its top level (a real path),
    else ``path`` itself (a deleted repository can still be forgotten)."""
    from ..runs.git.gitcmd import toplevel

    real = os.path.realpath(os.path.expanduser(path))
    top = toplevel(real) if os.path.isdir(real) else None
    return os.path.realpath(top) if top is not None else real


def cmd_memory(args: argparse.Namespace) -> int:
    store = MemoryStore(state_dir() / FILE_NAME, Redactor.from_env())
    try:
        if args.memory_command == "search":
            return _search(store, args)
        if args.memory_command == "show":
            return _show(store, args)
        return _forget(store, args)
    finally:
        store.close()


def _row(hit: Hit) -> dict[str, object]:
    return {k: v for k, v in asdict(hit).items() if k != "lesson"} | {"lesson": hit.lesson}


def _search(store: MemoryStore, args: argparse.Namespace) -> int:
    repo = repo_of(args.repo) if args.repo else None
    hits = store.search(args.query, repo, args.limit)
    if args.json:
        out(json.dumps({"runs": [_row(h) for h in hits]}))
        return 0
    if not hits:
        where = f" in {repo}" if repo else ""
        out(f"no remembered run{where} shares a word with {args.query!r}")
        return 0
    for h in hits:
        day = time.strftime("%Y-%m-%d %H:%M", time.localtime(h.ended))
        out(f"{h.run_id}  {h.state}  {day}  {h.repo}")
        out(f"    {' '.join(h.goal.split())[:110]}")
    return 0


def _show(store: MemoryStore, args: argparse.Namespace) -> int:
    found = store.get(check_run_id(args.run_id))
    if found is None:
        raise UserError(f"loopwright remembers no run {args.run_id}", "run_id")
    hit, record = found
    if args.json:
        out(json.dumps({**asdict(record), "lesson": hit.lesson}))
    else:
        out(hit.lesson)
    return 0


def _forget(store: MemoryStore, args: argparse.Namespace) -> int:
    if (args.run_id is None) == (args.repo is None):
        raise UserError("forget RUN or --repo PATH (one of them)", "run_id")
    if args.run_id is not None:
        gone = store.forget(run_id=check_run_id(args.run_id))
    else:
        gone = store.forget(repo=repo_of(args.repo))
    if args.json:
        out(json.dumps({"forgotten": gone}))
    else:
        out(f"forgot {gone} run(s)")
    return 0
