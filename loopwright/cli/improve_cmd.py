"""``loopwright improve`` (keep improving code, cycle after cycle, until stopped) and
``loopwright history RUN`` (its audit trail: each cycle's change, why, verify, verdict,
cost). Registered in ``cli``.

Ctrl-C once: the run finishes the step under way, settles its checkpoint (kept, or
reverted to the last good one) and ends ``cancelled`` (exit 130). Ctrl-C again (or
SIGTERM, SIGHUP): cancelled at once, as any run.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from ..config import state_dir
from ..errors import UserError
from ..loop.vocab import LIVE_STATES, SandboxMode
from ..runs.eventlog import read_events
from ..runs.ids import check_run_id
from .output import out

if TYPE_CHECKING:
    from ..runs.store import RunStore

__all__ = ["add_improve_commands", "cmd_history", "cmd_improve", "format_cycle"]

EXIT = {"completed": 0, "stopped": 1, "interrupted": 1, "failed": 2, "cancelled": 130}
POLL = 0.1


def add_improve_commands(add: Any) -> None:
    """``improve`` and ``history``, each through the parser's ``add(name, help)``."""
    p = add("improve", "keep improving code, cycle after cycle, until stopped (Ctrl-C)")
    p.add_argument("task", help="what to improve, in plain words ('-' reads stdin)")
    p.add_argument("--cwd", metavar="DIR", help="the repository (default: a scratch one)")
    p.add_argument("--verify", action="append", metavar="CMD", help="must pass (repeatable)")
    p.add_argument("--max-cycles", type=int, default=0, metavar="N", help="0: no limit")
    p.add_argument("--pause", type=float, default=0.0, metavar="S", help="seconds between cycles")
    p.add_argument(
        "--resume", action="store_true",
        help="go on from the last good checkpoint of the newest improve run of this task here",
    )  # fmt: skip
    p.add_argument("--backend", metavar="SPEC", help="backend of both roles (default scripted)")
    p.add_argument("--worker", metavar="SPEC", help="the backend that makes each change")
    p.add_argument("--reviewer", metavar="SPEC", help="reviews each change, names the next")
    p.add_argument("--max-seconds", type=float, metavar="S", help="wall clock, default 3600")
    p.add_argument("--max-agent-calls", type=int, metavar="N", help="default 200")
    p.add_argument("--max-tokens", type=int, metavar="N", help="default 5,000,000")
    p.add_argument("--max-cost-usd", type=float, metavar="USD", help="default 20")
    p.add_argument("--sandbox", choices=get_args(SandboxMode), help="as for run")
    p.add_argument("--detach", action="store_true", help="start in the background")
    p.add_argument("--json", action="store_true", help="print the result with its run_id")
    p = add("history", "an improve run's audit trail: each cycle's change, verify, verdict")
    p.add_argument("run_id", metavar="RUN")
    p.add_argument("--json", action="store_true", help="the cycles as one JSON document")


def _request(args: argparse.Namespace) -> Any:
    from ..runs.improve import build_improve_request, last_improve_run, resume_base
    from ..runs.request import _repo_of
    from ..runs.store import RunStore

    task = sys.stdin.read() if args.task == "-" else args.task
    cwd = str(Path(args.cwd).expanduser().absolute()) if args.cwd else None
    given: dict[str, Any] = {
        "cwd": cwd,
        "backend": args.backend,
        "workers": [args.worker] if args.worker else None,
        "reviewers": [args.reviewer] if args.reviewer else None,
        "verify": [shlex.split(c) for c in args.verify or []],
        "budget": {"max_seconds": args.max_seconds, "max_agent_calls": args.max_agent_calls,
                   "max_tokens": args.max_tokens, "max_cost_usd": args.max_cost_usd},
        "sandbox": args.sandbox,
    }  # fmt: skip
    resume_of = None
    if args.resume:
        if cwd is None:
            raise UserError("--resume goes on in a repository: give --cwd", "resume")
        repo, _ = _repo_of(cwd, True, None)
        resume_of, _ = last_improve_run(RunStore(state_dir()), repo, task.strip())
        given["base_ref"] = resume_base(resume_of)
    return build_improve_request(
        task, max_cycles=args.max_cycles, pause=args.pause, resume_of=resume_of, **given
    )


def cmd_improve(args: argparse.Namespace) -> int:
    from ..runs import runner
    from ..runs.preflight import check_ready
    from ..runs.store import RunStore

    request = _request(args)
    check_ready(request, "--no-preflight")
    store = RunStore(state_dir())
    run_id = runner.start(store, request)
    if args.detach:
        msg = {"status": "running", "run_id": run_id}
        out(json.dumps(msg) if args.json else f"run {run_id} improving in the background")
        return 0
    if not args.json:
        out(f"run {run_id} improving; Ctrl-C stops after the step under way")
    return _follow(store, run_id, args.json)


class _Cancel(Exception):
    pass


def _raise_cancel(signum: int, frame: Any) -> None:
    raise _Cancel()


def _follow(store: RunStore, run_id: str, as_json: bool) -> int:
    from ..runs import runner
    from ..runs.improve import ask_to_stop

    asked = False
    old = {s: signal.signal(s, _raise_cancel) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        cursor: str | None = None
        while True:
            try:
                cursor, state = _show(store, run_id, cursor, as_json)
                if state not in LIVE_STATES:
                    break
                time.sleep(POLL)
            except _Cancel:
                runner.cancel(store, run_id)
            except KeyboardInterrupt:
                if asked:
                    runner.cancel(store, run_id)
                    continue
                asked = True
                ask_to_stop(store, run_id)
                if not as_json:
                    out("\nstopping after the step under way (Ctrl-C again: cancel now)…")
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    return _result(store, run_id, as_json)


def _show(store: RunStore, run_id: str, cursor: str | None, quiet: bool) -> tuple[str, str]:
    from ..runs import runner

    state = runner.refresh(store, run_id)["state"]  # before reading: nothing is missed
    while True:
        page = read_events(store.paths(run_id).events, cursor, limit=1000)
        cursor = page.cursor
        for event in page.events if not quiet else []:
            if event["type"] == "cycle":
                out(format_cycle(event["data"]))
            elif event["type"] in ("budget_exhausted", "error"):
                out(f"{event['type']}: {event['data'].get('message')}")
        if not page.more:
            return cursor, state


def format_cycle(c: dict[str, Any]) -> str:
    """One cycle of the audit trail, in two lines."""
    verify = "no verify" if not c.get("verify") else ("pass" if c.get("verify_passed") else "FAIL")
    where = c.get("commit") or c.get("branch") or ""
    files = ", ".join(c.get("files") or []) or "no file"
    cost = f"${float(c.get('cost_usd') or 0):.4f}, {c.get('tokens', 0)} tokens"
    head = f"cycle {c['cycle']}: {c['verdict'].upper()} {str(where)[:40]}  verify {verify}  {cost}"
    lines = [head, f"    {c['improvement'][:200]}  ({c['why']})", f"    changed: {files}"]
    if c.get("next"):
        lines.append(f"    next: {c['next'][:200]}")
    return "\n".join(lines)


def _result(store: RunStore, run_id: str, as_json: bool) -> int:
    from ..runs import runner

    result = store.read_result(run_id) or {}
    state = str(result.get("state") or runner.refresh(store, run_id)["state"])
    extra = dict(result.get("extra") or {})
    if as_json:
        out(json.dumps({"run_id": run_id, "state": state, **extra}))
    else:
        out(f"\n{state.upper()}: {result.get('stop_reason', state)}")
        out(f"  last good checkpoint: {extra.get('good') or '(the start)'} "
            f"(tag loopwright/{run_id}/good)")  # fmt: skip
        out(f"  the audit trail: loopwright history {run_id}")
    return EXIT.get(state, 2)


def cmd_history(args: argparse.Namespace) -> int:
    from ..runs.memorize import all_events
    from ..runs.store import RunStore

    store = RunStore(state_dir())
    run_id = check_run_id(args.run_id)
    store.existing(run_id)
    cycles = [e["data"] for e in all_events(store, run_id) if e["type"] == "cycle"]
    if args.json:
        out(json.dumps({"run_id": run_id, "cycles": cycles}))
        return 0
    if not cycles:
        out(f"run {run_id} has no improve cycles")
        return 0
    for c in cycles:
        out(format_cycle(c))
    return 0
