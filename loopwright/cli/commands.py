"""The ``loopwright`` command line: the same calls the MCP server makes, for people.

Exit codes: 0 completed, 1 stopped without meeting the criteria (or interrupted),
2 error or bad usage, 3 needs input, 4 still running or paused (``result`` without ``--wait``),
130 cancelled.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..config import notices as config_notices
from ..config import state_dir
from ..errors import LoopwrightError, UserError
from ..loop.vocab import LIVE_STATES, Event, RunState
from ..runs import runner
from ..runs.diskspace import find_disk_full
from ..runs.eventlog import read_events, read_last
from ..runs.ids import check_run_id
from ..runs.status import RunStatus
from ..runs.store import ResultData, RunStore
from .output import error_text, out, quiet_stdout
from .view import (
    Progress,
    backend_lines,
    format_event,
    format_result,
    format_status,
    next_steps,
)

if TYPE_CHECKING:
    from ..runs.request import RunRequest

EXIT: dict[RunState, int] = {
    "completed": 0,
    "stopped": 1,
    "interrupted": 1,
    "failed": 2,
    "needs_input": 3,
    "cancelled": 130,
    "running": 4,
    "queued": 4,
    "paused": 4,
}
FOLLOW_POLL = 0.1


_STORE: RunStore | None = None


def _store() -> RunStore:
    """The state dir's store; on first use, runs whose host died become ``interrupted``."""
    global _STORE
    if _STORE is None:
        _STORE = RunStore(state_dir())
        if _STORE.runs_dir.is_dir():
            runner.recover(_STORE)
    return _STORE


# --- run ---------------------------------------------------------------------------
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
    )


def cmd_run(args: argparse.Namespace) -> int:
    from ..runs.preflight import check_ready, check_sandbox

    request = request_from_args(args, _read_goal(args))
    # before anything is created: a refused run leaves nothing behind
    if args.preflight:
        check_ready(request, "--no-preflight")
    else:  # the sandbox is never skipped: a run does not fall back to running unconfined
        check_sandbox(request)
    store = _store()
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


# --- following a run ---------------------------------------------------------------
class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop()


def follow(store: RunStore, run_id: str, args: argparse.Namespace) -> int:
    """Show events until the run ends; Ctrl-C (or SIGTERM/SIGHUP) cancels it."""
    old = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        status, cursor = _follow_loop(store, run_id, quiet=args.json, cursor=None)
        while status["state"] == "needs_input" and _can_prompt(store, run_id, args):
            answers = _prompt(status.get("questions") or [])
            runner.resume(store, run_id, answers)
            status, cursor = _follow_loop(store, run_id, quiet=args.json, cursor=cursor)
    except (KeyboardInterrupt, _Stop):
        if not args.json:
            out("\ncancelling…")
        status = runner.cancel(store, run_id)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    return _report(store, run_id, status, args.json)


def _follow_loop(
    store: RunStore, run_id: str, quiet: bool, cursor: str | None
) -> tuple[RunStatus, str]:
    """Show events until the run is not live; its status then, and the log's cursor."""
    events = store.paths(run_id).events
    live = not quiet and sys.stdout.isatty()
    progress = Progress()

    def show(page_events: list[Event]) -> None:
        for event in page_events:
            progress.see(event)
            if not quiet:
                out(("\r\x1b[K" if live else "") + format_event(event))

    while True:
        page = read_events(events, cursor, limit=1000)
        cursor = page.cursor
        show(page.events)
        if page.more:
            continue
        status = runner.refresh(store, run_id)
        if status["state"] not in LIVE_STATES:
            page = read_events(events, cursor, limit=100_000)
            show(page.events)
            if live:
                print("\r\x1b[K", end="", flush=True)
            return status, page.cursor
        if live:
            print("\r\x1b[K" + progress.line(status), end="", flush=True)
        time.sleep(FOLLOW_POLL)


def _can_prompt(store: RunStore, run_id: str, args: argparse.Namespace) -> bool:
    policy = store.read_request(run_id)["loop"]["questions"]
    return bool(policy == "console" and sys.stdin.isatty() and not args.json)


def _prompt(questions: list[dict[str, Any]]) -> dict[str, str]:
    answers = {}
    for q in questions:
        default = f" [{q['default']}]" if q.get("default") else ""
        reply = input(f"? {q['text']}{default} ").strip()
        answers[q["id"]] = reply or q.get("default") or ""
    return answers


def _report(store: RunStore, run_id: str, status: RunStatus, as_json: bool) -> int:
    state = status["state"]
    if state == "needs_input":
        questions = status.get("questions") or []
        if as_json:
            out(json.dumps({"status": "needs_input", "run_id": run_id, "questions": questions}))
        else:
            out(f"\nrun {run_id} needs answers:")
            for q in questions:
                out(
                    f"  {q['id']}: {q['text']}"
                    + (f" (default: {q['default']})" if q.get("default") else "")
                )
            ids = " ".join(f"--answer {q['id']}=..." for q in questions)
            out(f"answer with: loopwright resume {run_id} {ids}")
        return EXIT[state]
    result: ResultData = store.read_result(run_id) or {
        "state": state,
        "summary": state,
        "run_id": run_id,
    }
    if as_json:
        out(json.dumps(result))
    else:
        events = read_events(store.paths(run_id).events, None, 100_000).events
        out("\n" + format_result(result, events))
        out(f"  working dir: {result.get('cwd')}\n  run dir:     {store.paths(run_id).root}")
        out(next_steps(run_id, result))
    return EXIT.get(state, 2)


# --- other commands ----------------------------------------------------------------
def cmd_tail(args: argparse.Namespace) -> int:
    store = _store()
    p = store.existing(check_run_id(args.run_id))
    page = read_last(p.events, args.lines)
    for event in page.events:
        out(json.dumps(event) if args.json else format_event(event))
    if not args.follow:
        return 0
    args.json = args.json or False
    status, _ = _follow_loop(store, args.run_id, quiet=False, cursor=page.cursor)
    return EXIT.get(status["state"], 2)


def cmd_status(args: argparse.Namespace) -> int:
    status = runner.refresh(_store(), check_run_id(args.run_id))
    out(json.dumps(status) if args.json else format_status(status))
    return 0


def cmd_result(args: argparse.Namespace) -> int:
    store = _store()
    run_id = check_run_id(args.run_id)
    if args.wait:
        runner.wait(store, run_id, args.timeout)
    status = runner.refresh(store, run_id)
    if status["state"] in LIVE_STATES:
        out(json.dumps(status) if args.json else f"run {run_id} is still {status['state']}")
        return EXIT["running"]
    return _report(store, run_id, status, args.json)


def cmd_cancel(args: argparse.Namespace) -> int:
    status = runner.cancel(_store(), check_run_id(args.run_id))
    out(json.dumps(status) if args.json else f"run {args.run_id}: {status['state']}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    answers = {}
    for item in args.answer or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--answer {item!r}: expected ID=TEXT", "answer")
        answers[key.strip()] = value
    store = _store()
    run_id = check_run_id(args.run_id)
    paused = runner.refresh(store, run_id)["state"] == "paused"
    runner.resume(store, run_id, answers)
    if paused and args.detach and not args.json:  # woken in its own process, not restarted
        out(f"run {run_id} was paused for a usage limit; it goes on now")
        return 0
    return _after_start(store, run_id, args)


def _completion_command(args: argparse.Namespace) -> int:
    from .completion import cmd_completion

    return cmd_completion(args, args.parser)


def _config_command(args: argparse.Namespace) -> int:
    from .config_cmd import cmd_config

    return cmd_config(args)


def _with_store(module: str, name: str) -> Any:
    """A command of the module ``cli.<module>``, loaded when used, given the store."""

    def run(args: argparse.Namespace) -> int:
        commands = importlib.import_module(f"{__package__}.{module}")
        code: int = getattr(commands, name)(args, _store())
        return code

    return run


def cmd_backends(args: argparse.Namespace) -> int:
    from ..backends.registry import list_backends

    infos = [b.as_dict() for b in list_backends()]
    if args.json:
        out(json.dumps(infos))
        return 0
    for b in infos:
        for line in backend_lines(b):
            out(line)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import demo_request

    store = _store()
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


def _server_command(name: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        from . import server_cmd as commands  # lazy: the MCP SDK loads only for serve/doctor

        code: int = getattr(commands, name)(args)
        return code

    return run


def _provider_command(name: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        from . import models_cmd as commands

        code: int = getattr(commands, name)(args)
        return code

    return run


def _ui_command(args: argparse.Namespace) -> int:
    from .ui_cmd import cmd_ui  # lazy: Starlette and uvicorn load only for the dashboard

    return cmd_ui(args)


def _patterns_command(name: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        from . import patterns_cmd as commands

        code: int = getattr(commands, name)(args)
        return code

    return run


def cmd_hosts(args: argparse.Namespace) -> int:
    from .hosts_cmd import cmd_hosts as hosts

    return hosts(args)


def _improve_command(name: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        from . import improve_cmd

        code: int = getattr(improve_cmd, name)(args)
        return code

    return run


def cmd_export(args: argparse.Namespace) -> int:
    from .export_cmd import cmd_export as export

    return export(args)


def cmd_memory(args: argparse.Namespace) -> int:
    from .memory_cmd import cmd_memory as memory

    return memory(args)


def main(argv: list[str] | None = None) -> int:
    from .parser import build_parser

    parser = build_parser(
        {
            "run": cmd_run,
            "tail": cmd_tail,
            "status": cmd_status,
            "result": cmd_result,
            "list": _with_store("inspect_cmd", "cmd_list"),
            "cancel": cmd_cancel,
            "resume": cmd_resume,
            "backends": cmd_backends,
            "diff": _with_store("inspect_cmd", "cmd_diff"),
            "merge": _with_store("cleanup_cmd", "cmd_merge"),
            "rm": _with_store("cleanup_cmd", "cmd_rm"),
            "gc": _with_store("cleanup_cmd", "cmd_gc"),
            "config": _config_command,
            "completion": _completion_command,
            "demo": cmd_demo,
            "serve": _server_command("cmd_serve"),
            "ui": _ui_command,
            "doctor": _server_command("cmd_doctor"),
            "models": _provider_command("cmd_models"),
            "ollama": _provider_command("cmd_ollama"),
            "hosts": cmd_hosts,
            "memory": cmd_memory,
            "export": cmd_export,
            "improve": _improve_command("cmd_improve"),
            "history": _improve_command("cmd_history"),
            "consult": _patterns_command("cmd_consult"),
            "delegate": _patterns_command("cmd_delegate"),
            "debate": _patterns_command("cmd_debate"),
        },
        __version__,
    )
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # `loopwright list | head -1`: the reader has all it wanted
        quiet_stdout()
        return 0
    except UserError as exc:
        print(f"loopwright: error: {error_text(exc)}", file=sys.stderr)
        return 2
    except LoopwrightError as exc:
        print(f"loopwright: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a full disk is said as such; anything else is a bug
        disk = find_disk_full(exc)
        if disk is None:
            raise
        print(f"loopwright: error: {disk}", file=sys.stderr)
        return 2
    finally:
        for notice in config_notices():
            print(f"loopwright: warning: {notice}", file=sys.stderr)
    return code
