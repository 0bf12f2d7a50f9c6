"""``loopwright consult``, ``delegate`` and ``debate``: models working together, each as a
run (its own host, log and budget; Ctrl-C cancels it). Every exchange is printed as it
arrives, attributed (spec, tokens, latency, cost); ``--json`` prints the pattern's result.

Exit codes as ``run``'s: 0 completed, 1 stopped (a budget, or the review found the work
incomplete), 2 failed or bad usage, 130 cancelled.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

from ..config import state_dir
from ..loop.vocab import LIVE_STATES, PatternName, SandboxMode
from ..runs import runner
from ..runs.eventlog import read_events
from ..runs.store import RunStore
from .output import out
from .patterns_view import format_decision, format_disagreement, format_exchange, report

EXIT = {"completed": 0, "stopped": 1, "interrupted": 1, "failed": 2, "cancelled": 130}
POLL = 0.1


def _specs(values: list[str] | None) -> list[str] | None:
    """``--models A,B --models C`` -> [A, B, C] (None when not given)."""
    if values is None:
        return None
    return [s.strip() for v in values for s in v.split(",")]


def _common(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--cwd", metavar="DIR", help=what)
    p.add_argument("--timeout", type=float, metavar="S", help="seconds one model call may take")
    p.add_argument("--max-seconds", type=float, metavar="S", help="wall clock, default 3600")
    p.add_argument("--max-agent-calls", type=int, metavar="N", help="model calls at most")
    p.add_argument("--max-tokens", type=int, metavar="N", help="default 5,000,000")
    p.add_argument("--max-cost-usd", type=float, metavar="USD", help="default 20")
    p.add_argument(
        "--no-preflight",
        dest="preflight",
        action="store_false",
        help="start without checking that the backends can work",
    )
    p.add_argument(
        "--sandbox",
        choices=get_args(SandboxMode),
        help="all: confine the agent CLIs asked in bubblewrap; verify, off: they run "
        "unconfined (default: LOOPWRIGHT_SANDBOX, else the config's run.sandbox, else verify; "
        "refused when bubblewrap cannot work here and it is not off)",
    )
    p.add_argument(
        "--allow-network",
        action="store_true",
        help="sandboxed agent CLIs share this machine's network (else they have none)",
    )
    p.add_argument(
        "--fallback",
        metavar="SPEC",
        help="where a model's calls go when its spec names a host of the pool (@NAME, @pool) "
        "and no host can take them (default: run.fallback of the config, else none: that "
        "model's answer fails naming each host and why)",
    )
    p.add_argument("--detach", action="store_true", help="start in the background, return at once")
    p.add_argument("--json", action="store_true", help="print the result as one JSON document")


def add_pattern_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """``consult``, ``delegate`` and ``debate`` under ``add`` (the parser's sub-command maker)."""
    read = "a directory the models may read (agent CLIs run there); default: a scratch repo"
    p = add("consult", "ask several models the same question at once, each on its own")
    p.add_argument("question", help="the question ('-' reads stdin)")
    p.add_argument(
        "--models",
        action="append",
        required=True,
        metavar="SPEC,SPEC,…",
        help="the backends to ask, comma-separated (repeatable)",
    )
    p.add_argument("--synthesizer", metavar="SPEC", help="compares the answers: agree, differ")
    _common(p, read)
    p = add("delegate", "hand a task to a backend; your reviewer backend checks the work")
    p.add_argument("backend", metavar="SPEC", help="the backend the task is handed to")
    p.add_argument("task", help="the task ('-' reads stdin)")
    p.add_argument(
        "--reviewer",
        metavar="SPEC",
        help="reviews the work against the task; default: none (the work comes back unreviewed)",
    )
    p.add_argument(
        "--read-only",
        dest="may_edit",
        action="store_false",
        help="the delegate answers without changing files",
    )
    _common(
        p,
        "the repository to work on: the delegate edits a worktree of it on branch "
        "loopwright/RUN (your checkout is left alone); default: a scratch repo",
    )
    p = add("debate", "let models draft blind, critique each other's drafts, revise, and pick")
    p.add_argument("question", help="the question ('-' reads stdin)")
    p.add_argument(
        "--models",
        action="append",
        required=True,
        metavar="SPEC,SPEC,…",
        help="the participants, comma-separated (at least two)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=2,
        metavar="N",
        help="revision rounds after the blind drafts, at most (0-10, default 2)",
    )
    p.add_argument("--judge", metavar="SPEC", help="picks the best draft (default: a vote)")
    p.add_argument(
        "--converge-at",
        type=float,
        metavar="D",
        help="stop when the drafts' disagreement is at most D (0-1, default 0.1)",
    )
    _common(p, read)


def _text(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def request_from_args(pattern: PatternName, args: argparse.Namespace) -> Any:
    from ..runs.defaults import pattern_fallback, pattern_sandbox
    from ..runs.pattern_request import build_pattern_request

    cwd = str(Path(args.cwd).expanduser().absolute()) if args.cwd else None
    budget = {
        "max_seconds": args.max_seconds,
        "max_agent_calls": args.max_agent_calls,
        "max_tokens": args.max_tokens,
        "max_cost_usd": args.max_cost_usd,
    }
    given: dict[str, Any] = {
        "cwd": cwd,
        "budget": budget,
        "timeout": args.timeout,
        "sandbox": pattern_sandbox(cwd, args.sandbox),
        "allow_network": args.allow_network,
        "fallback": pattern_fallback(cwd, args.fallback),
    }
    if pattern == "delegate":
        models: list[str] | None = [args.backend]
        helper = args.reviewer
        given["options"] = {"may_edit": args.may_edit}
        text = _text(args.task)
    else:
        models = _specs(args.models)
        helper = args.synthesizer if pattern == "consult" else args.judge
        text = _text(args.question)
        if pattern == "debate":
            given["options"] = {"rounds": args.rounds, "converge_at": args.converge_at}
    return build_pattern_request(pattern, text, models=models, helper=helper, **given)


def _command(pattern: PatternName) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from ..runs.preflight import check_ready, check_sandbox

        request = request_from_args(pattern, args)
        # before anything is created: a refused run leaves nothing behind
        if args.preflight:
            check_ready(request, "--no-preflight")
        else:  # the sandbox is never skipped: a run does not fall back to running unconfined
            check_sandbox(request)
        store = RunStore(state_dir())
        run_id = runner.start(store, request)
        if args.detach:
            return _detached(store, run_id, args.json)
        return _follow(store, run_id, args.json)

    return run


cmd_consult = _command("consult")
cmd_delegate = _command("delegate")
cmd_debate = _command("debate")


def _detached(store: RunStore, run_id: str, as_json: bool) -> int:
    p = store.paths(run_id)
    if as_json:
        out(json.dumps({"status": "running", "run_id": run_id, "events_path": str(p.events)}))
    else:
        out(f"run {run_id} started in the background")
        out(f"  follow: loopwright tail {run_id} -f\n  result: loopwright result {run_id} --wait")
        out(f"  cancel: loopwright cancel {run_id}")
    return 0


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop()


def _follow(store: RunStore, run_id: str, as_json: bool) -> int:
    """Show each exchange as it comes until the run ends; Ctrl-C (SIGTERM, SIGHUP) cancels."""
    old = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        state = _show(store, run_id, quiet=as_json)
    except (KeyboardInterrupt, _Stop):
        if not as_json:
            out("\ncancelling…")
        state = runner.cancel(store, run_id)["state"]
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    return _result(store, run_id, state, as_json)


def _show(store: RunStore, run_id: str, quiet: bool) -> str:
    events, cursor = store.paths(run_id).events, None
    while True:
        page = read_events(events, cursor, limit=1000)
        cursor = page.cursor
        for event in page.events if not quiet else []:
            line = _line(event["type"], event["data"])
            if line:
                out(line)
        if page.more:
            continue
        state = runner.refresh(store, run_id)["state"]
        if state not in LIVE_STATES and not read_events(events, cursor, limit=1).events:
            return state
        time.sleep(POLL)


def _line(kind: str, data: dict[str, Any]) -> str | None:
    if kind == "exchange":
        return format_exchange(data, full=True)
    if kind == "disagreement":
        return format_disagreement(data)
    if kind == "decision":
        return format_decision(data)
    if kind in ("budget_exhausted", "error", "warning"):
        return f"{kind}: {data.get('message')}"
    if kind == "host_failover":
        host, to = data.get("host") or "(none)", data.get("to") or "nowhere: the call fails"
        return f"host {host} could not take the call ({data.get('reason')}); it goes to {to}"
    if kind == "checkpoint":
        return f"checkpoint {str(data.get('sha', ''))[:10]} on {data.get('branch')}"
    return None


def _result(store: RunStore, run_id: str, state: str, as_json: bool) -> int:
    result = store.read_result(run_id) or {}
    extra: dict[str, Any] = dict(result.get("extra") or {})
    if as_json:
        out(json.dumps({"run_id": run_id, **extra, "state": state}))
        return EXIT.get(state, 2)
    out(f"\n{state.upper()}: {result.get('summary', state)}")
    for line in report(extra):
        out(line)
    usage = result.get("usage") or {}
    cost = f"${float(usage.get('cost_usd') or 0):.4f}" + (
        f" (+{usage['unknown_cost_calls']} of unknown price)"
        if usage.get("unknown_cost_calls")
        else ""
    )
    out(
        f"  {usage.get('agent_calls', 0)} model calls, "
        f"{usage.get('input_tokens', 0) + usage.get('output_tokens', 0)} tokens, {cost}"
    )
    ws = result.get("workspace") or {}
    if ws.get("branch") and int(ws.get("commits") or 0):
        out(f"  branch {ws['branch']}: see `loopwright diff {run_id}`, `loopwright merge {run_id}`")
    out(f"  run {run_id}: `loopwright tail {run_id}` replays every exchange")
    return EXIT.get(state, 2)
