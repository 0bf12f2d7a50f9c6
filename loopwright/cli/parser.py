"""The argparse definition of the ``loopwright`` command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, get_args

from ..loop.vocab import ALL_STATES, CleanupPolicy, QuestionPolicy, Quorum
from .patterns_cmd import add_pattern_commands

Command = Callable[[argparse.Namespace], int]


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("goal", nargs="?", help="what the loop should achieve ('-' reads stdin)")
    p.add_argument("--goal-file", metavar="FILE", help="read the goal from FILE")
    p.add_argument(
        "--criteria",
        action="append",
        metavar="TEXT",
        help="a success criterion (repeatable); drafted by intake when absent",
    )
    p.add_argument("--backend", metavar="SPEC", help="backend for every role (default: scripted)")
    p.add_argument("--planner", metavar="SPEC", help="backend of the planner")
    p.add_argument("--worker", action="append", metavar="SPEC", help="worker backend (repeatable)")
    p.add_argument(
        "--reviewer",
        action="append",
        metavar="SPEC",
        help="reviewer backend (repeatable; see --quorum)",
    )
    p.add_argument(
        "--quorum",
        default="all",
        choices=get_args(Quorum),
        help="how many reviewers must say complete (default: all)",
    )
    p.add_argument(
        "--cwd",
        metavar="DIR",
        help="working dir, changed in place (default: a fresh scratch git repo)",
    )
    p.add_argument(
        "--verify",
        action="append",
        metavar="CMD",
        help="verify command, split like a shell line but run without one (repeatable)",
    )
    p.add_argument(
        "--verify-env",
        action="append",
        metavar="NAME",
        help="an environment variable the verify commands get besides the allowlist "
        "(repeatable; nothing else of yours reaches them)",
    )
    p.add_argument("--verify-timeout", type=float, metavar="S", help="seconds per verify command")
    p.add_argument("--worker-timeout", type=float, metavar="S", help="seconds per worker call")
    p.add_argument("--max-iterations", type=int, metavar="N", help="default 5")
    p.add_argument("--max-seconds", type=float, metavar="S", help="wall clock, default 3600")
    p.add_argument("--max-agent-calls", type=int, metavar="N", help="default 200")
    p.add_argument("--max-tokens", type=int, metavar="N", help="default 5,000,000")
    p.add_argument("--max-cost-usd", type=float, metavar="USD", help="default 20")
    p.add_argument("--concurrency", type=int, metavar="N", help="parallel workers, default 4")
    p.add_argument("--retries", type=int, metavar="N", help="retries per failed worker, default 1")
    p.add_argument(
        "--no-isolate",
        dest="isolate",
        action="store_false",
        help="work in place in --cwd (no worktree, no commits; any directory)",
    )
    p.add_argument("--base-ref", metavar="REF", help="start the run's branch here (default HEAD)")
    p.add_argument(
        "--include-uncommitted",
        action="store_true",
        help="start from the checkout's uncommitted changes too (the checkout is not touched)",
    )
    p.add_argument(
        "--cleanup",
        default="auto",
        choices=get_args(CleanupPolicy),
        help="at the end: keep the worktree iff the run committed (auto), remove it, keep it",
    )
    p.add_argument(
        "--no-preflight",
        dest="preflight",
        action="store_false",
        help="start without checking that the verify programs and the backends can work",
    )
    p.add_argument(
        "--questions",
        default="auto",
        choices=get_args(QuestionPolicy),
        help="clarifying questions: proceed (auto), stop for answers (ask), prompt here",
    )


def _output_options(p: argparse.ArgumentParser, detach: bool = True) -> None:
    if detach:
        p.add_argument(
            "--detach", action="store_true", help="start in the background and return at once"
        )
    p.add_argument("--json", action="store_true", help="print one JSON document")


def build_parser(commands: dict[str, Command], version: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loopwright", description="Run coding loops.")
    parser.add_argument("--version", action="version", version=f"loopwright {version}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help: str, **kw: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, **kw)
        p.set_defaults(func=commands[name])
        return p

    p = add("run", "start a coding loop and follow it (Ctrl-C cancels)")
    _run_options(p)
    _output_options(p)
    p = add("tail", "show a run's events (human-readable), optionally live")
    p.add_argument("run_id")
    p.add_argument("-f", "--follow", action="store_true", help="keep following until it ends")
    p.add_argument("-n", "--lines", type=int, default=20, help="events to show first")
    p.add_argument("--json", action="store_true", help="raw events, one per line")
    for name, help in (
        ("status", "a run's state, phase, iteration and usage"),
        ("cancel", "stop a run now (workers killed)"),
    ):
        p = add(name, help)
        p.add_argument("run_id")
        _output_options(p, detach=False)
    p = add("result", "a run's result")
    p.add_argument("run_id")
    p.add_argument("--wait", action="store_true", help="wait for the run to end")
    p.add_argument("--timeout", type=float, default=3600, help="seconds to wait (default 3600)")
    _output_options(p, detach=False)
    p = add("list", "recent runs, newest first")
    p.add_argument("--state", choices=ALL_STATES)
    p.add_argument("--limit", type=int, default=20)
    _output_options(p, detach=False)
    p = add("resume", "answer a run's questions, continue an interrupted run or wake a paused one")
    p.add_argument("run_id")
    p.add_argument("--answer", action="append", metavar="ID=TEXT", help="repeatable")
    _output_options(p)
    p = add("diff", "what a run changed: files, stats and the patch")
    p.add_argument("run_id")
    p.add_argument("--max-bytes", type=int, default=200_000, help="cap on the patch")
    _output_options(p, detach=False)
    p = add("merge", "bring a run's work into your branch (refuses rather than half-merges)")
    p.add_argument("run_id")
    p.add_argument("--squash", action="store_true", help="one commit instead of a merge")
    p.add_argument("--into", metavar="BRANCH", help="target branch (default: the checked-out one)")
    _output_options(p, detach=False)
    p = add("gc", "trim the pool of parked checkouts and prune stale worktree records")
    p.add_argument("--keep", type=int, default=0, help="parked checkouts to keep per repository")
    _output_options(p, detach=False)
    p = add("backends", "the backends and whether they are available")
    _output_options(p, detach=False)
    p = add("models", "the models each API provider and Ollama host offers (asks them)")
    p.add_argument("provider", nargs="?", help="anthropic, openai, openrouter, gemini or ollama")
    _output_options(p, detach=False)
    p = add("ollama", "Ollama: recorded performance profiles, pulling models")
    actions = p.add_subparsers(dest="ollama_command", required=True, metavar="ACTION")
    q = actions.add_parser("profile", help="tokens/s, load time and context per model and host")
    q.add_argument("model", nargs="?", help="only this model")
    q.add_argument("--json", action="store_true", help="print one JSON document")
    q = actions.add_parser("pull", help="pull a model onto a host, with progress")
    q.add_argument("model")
    q.add_argument("--host", default="local", help="a host named in loopwright.toml")
    p = add("demo", "a complete loop on a scratch repo with a real bug and real pytest")
    _output_options(p)
    add("serve", "the MCP stdio server (for Claude Code, Cursor, Cline, Windsurf)")
    p = add("doctor", "check versions, agent CLIs, credentials (set or not), dirs and timeouts")
    p.add_argument("--cwd", metavar="DIR", help="also check this working dir")
    _output_options(p, detach=False)
    add_pattern_commands(add)
    return parser
