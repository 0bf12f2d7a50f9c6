"""``loopwright run``, ``resume`` and ``demo`` (registered in ``cli.commands``): a run's
request from the options (and the config files' defaults), started, then followed until
it ends or left running (``--detach``). Each is handed the opener of the CLI's store and
opens it only after its own checks, as before the split."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..runs import runner
from ..runs.ids import check_run_id
from ..runs.store import RunStore
from .follow import follow
from .output import out

if TYPE_CHECKING:
    from ..runs.request import RunRequest

__all__ = ["cmd_demo", "cmd_resume", "cmd_run", "request_from_args"]


def _read_goal(args: argparse.Namespace) -> str:
    if args.goal_file and args.goal:
        raise UserError("give the goal as an argument or with --goal-file, not both", "goal")
    if args.goal_file:
        try:
            return Path(args.goal_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"--goal-file {args.goal_file!r}: {exc.strerror}", "goal") from exc
    if args.goal == "-" or (args.goal is None and not sys.stdin.isatty()):
        return sys.stdin.read()
    return args.goal or ""


def _verify_argv(commands: list[str]) -> list[list[str]]:
    try:
        return [shlex.split(c) for c in commands]
    except ValueError as exc:
        raise UserError(f"--verify: cannot split {exc}", "verify") from exc


def request_from_args(args: argparse.Namespace, goal: str) -> RunRequest:
    from ..runs.defaults import with_defaults
    from ..runs.request import build_request

    cwd = str(Path(args.cwd).expanduser().absolute()) if args.cwd else None
    return build_request(goal, **with_defaults(cwd, _given(args, cwd)))


def _given(args: argparse.Namespace, cwd: str | None) -> dict[str, Any]:
    """``build_request``'s keywords from the options (None: not given, a default applies)."""
    return dict(
        criteria=args.criteria,
        backend=args.backend,
        planner=args.planner,
        workers=args.worker,
        reviewers=args.reviewer,
        cwd=cwd,
        verify=_verify_argv(args.verify) if args.verify else None,
        verify_env=args.verify_env,
        questions=args.questions,
        review_quorum=args.quorum,
        budget={
            "max_iterations": args.max_iterations,
            "max_seconds": args.max_seconds,
            "max_agent_calls": args.max_agent_calls,
            "max_tokens": args.max_tokens,
            "max_cost_usd": args.max_cost_usd,
        },
        options={
            k: v
            for k, v in (
                ("concurrency", args.concurrency),
                ("worker_retries", args.retries),
                ("verify_timeout", args.verify_timeout),
                ("worker_timeout", args.worker_timeout),
                ("route", args.route),
                ("local_max_seconds", args.local_max_seconds),
            )
            if v is not None
        },
        isolate=args.isolate,
        base_ref=args.base_ref,
        include_uncommitted=args.include_uncommitted,
        cleanup=args.cleanup,
        sandbox=args.sandbox,
        allow_network=args.allow_network,
        memory=args.memory,
        specialists=_specialists(getattr(args, "specialist", None)),
        fallback=args.fallback,
    )


def _specialists(given: list[str] | None) -> dict[str, str] | None:
    """``--specialist TAG=SPEC`` (repeatable) as a table; a tag given twice is refused."""
    table: dict[str, str] = {}
    for item in given or []:
        tag, sep, spec = item.partition("=")
        if not sep or not tag.strip():
            raise UserError(f"--specialist {item!r}: give TAG=SPEC, e.g. tests=codex", "specialist")
        if tag.strip() in table:
            raise UserError(f"--specialist: tag {tag.strip()!r} given twice", "specialist")
        table[tag.strip()] = spec.strip()
    return table or None


def cmd_run(args: argparse.Namespace, open_store: Callable[[], RunStore]) -> int:
    from ..runs.preflight import check_ready, check_sandbox

    request = request_from_args(args, _read_goal(args))
    # before anything is created: a refused run leaves nothing behind
    if args.preflight:
        check_ready(request, "--no-preflight")
    else:  # the sandbox is never skipped: a run does not fall back to running unconfined
        check_sandbox(request)
    store = open_store()
    run_id = runner.start(store, request)
    return _after_start(store, run_id, args)


def _after_start(store: RunStore, run_id: str, args: argparse.Namespace) -> int:
    p = store.paths(run_id)
    cwd = store.read_request(run_id)["loop"]["cwd"]
    if args.detach:
        if args.json:
            out(
                json.dumps(
                    {
                        "status": "running",
                        "run_id": run_id,
                        "run_dir": str(p.root),
                        "events_path": str(p.events),
                        "cwd": cwd,
                        "tail_command": f"tail -f {shlex.quote(str(p.events))}",
                    }
                )
            )
        else:
            out(f"run {run_id} started in the background")
            out(f"  working dir: {cwd}\n  run dir:     {p.root}")
            out(f"  follow:      loopwright tail {run_id} -f")
            out(f"  cancel:      loopwright cancel {run_id}")
        return 0
    if not args.json:
        out(f"run {run_id}\n  working dir: {cwd}\n  run dir:     {p.root}")
    return follow(store, run_id, args)


def cmd_resume(args: argparse.Namespace, open_store: Callable[[], RunStore]) -> int:
    answers = {}
    for item in args.answer or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--answer {item!r}: expected ID=TEXT", "answer")
        answers[key.strip()] = value
    store = open_store()
    run_id = check_run_id(args.run_id)
    paused = runner.refresh(store, run_id)["state"] == "paused"
    runner.resume(store, run_id, answers)
    if paused and args.detach and not args.json:  # woken in its own process, not restarted
        out(f"run {run_id} was paused for a usage limit; it goes on now")
        return 0
    return _after_start(store, run_id, args)


def cmd_demo(args: argparse.Namespace, open_store: Callable[[], RunStore]) -> int:
    from .demo import demo_request

    store = open_store()
    request = demo_request(store, args.sandbox)
    run_id = runner.start(store, request)
    if not args.json:
        out("loopwright demo: a scratch repo with a buggy calc/stats.py and failing tests;")
        out("the scripted backend plays planner, worker and reviewer; pytest is the verify.\n")
    code = _after_start(store, run_id, args)
    result = store.read_result(run_id) or {}
    if not args.json and not args.detach and result.get("workspace"):
        from .demo import diff_stat

        out(f"\nthe run's commits and changes:\n{diff_stat(result['workspace'])}")
    return code
