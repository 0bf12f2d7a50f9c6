"""The argparse definition of the ``loopwright`` command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, get_args

from ..config import LIST_LIMIT, PATCH_BYTES, TAIL_LINES
from ..loop.vocab import (
    ALL_STATES,
    CleanupPolicy,
    MemoryMode,
    QuestionPolicy,
    Quorum,
    RoutePolicy,
    SandboxMode,
)
from .chat import add_chat_command
from .cost_cmd import add_cost_command
from .export_cmd import add_export_command
from .hosts_cmd import add_hosts_commands
from .improve_cmd import add_improve_commands
from .memory_cmd import add_memory_commands
from .patterns_cmd import add_pattern_commands

Command = Callable[[argparse.Namespace], int]


def bounded(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``lo`` to ``hi`` (argparse names the option)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = lo - 1
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from {lo} to {hi}")
        return value

    return parse


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
        choices=get_args(Quorum),
        help="how many reviewers must say complete (default: run.quorum of the config, else all)",
    )
    p.add_argument(
        "--cwd",
        metavar="DIR",
        help="the repository (or a folder in it) to work on; the run works in a worktree of "
        "its own on branch loopwright/RUN and leaves your checkout alone (--no-isolate: change "
        "DIR in place instead); default: a fresh scratch git repository",
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
        "--route",
        choices=get_args(RoutePolicy),
        help="which worker takes each subgoal: fixed (in turn, the default), cloud, local-first "
        "(fast local models, failures retried on the cloud worker), planner (the plan assigns, "
        "from a card of measured speeds and pass rates)",
    )
    p.add_argument(
        "--local-max-seconds",
        type=float,
        metavar="S",
        help="local-first: a local worker takes a subgoal it is estimated to do within S "
        "seconds (default 600)",
    )
    p.add_argument(
        "--fallback",
        metavar="SPEC",
        help="where a role's calls go when its spec names a host of the pool (@NAME, @pool) "
        "and no host can take them (default: run.fallback of the config, else none: the call "
        "fails naming each host and why)",
    )
    p.add_argument(
        "--specialist",
        action="append",
        metavar="TAG=SPEC",
        help="the planner may tag subgoals TAG (e.g. tests, docs, infra); a tagged subgoal "
        "goes to SPEC whatever the route (repeatable; over the config's [specialists])",
    )
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
        choices=get_args(CleanupPolicy),
        help="at the end: keep the worktree iff the run committed (auto, the default), remove "
        "it, keep it",
    )
    p.add_argument(
        "--no-preflight",
        dest="preflight",
        action="store_false",
        help="start without checking that the verify programs and the backends can work",
    )
    _sandbox_option(p)
    p.add_argument(
        "--allow-network",
        action="store_true",
        help="sandboxed commands share this machine's network (with --sandbox all: the agents "
        "can reach anything it can); default: none",
    )
    p.add_argument(
        "--memory",
        choices=get_args(MemoryMode),
        help="what the planner recalls of past runs, and whether this run is remembered: off "
        "(neither), repo (lessons of runs in this repository, the default), all (of any)",
    )
    p.add_argument(
        "--questions",
        default="auto",
        choices=get_args(QuestionPolicy),
        help="clarifying questions: proceed (auto), stop for answers (ask), prompt here",
    )


def _sandbox_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sandbox",
        choices=get_args(SandboxMode),
        help="what runs confined in bubblewrap: nothing, the verify commands, or also the "
        "agent CLIs and the tool loop's commands (default: $LOOPWRIGHT_SANDBOX, else verify)",
    )


def _output_options(p: argparse.ArgumentParser, detach: bool = True) -> None:
    if detach:
        p.add_argument(
            "--detach", action="store_true", help="start in the background and return at once"
        )
    p.add_argument("--json", action="store_true", help="print one JSON document")


def _cleanup_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add("rm", "remove runs: worktree, branch (once merged), scratch repo, run dir")
    p.add_argument("run_ids", nargs="+", metavar="RUN")
    p.add_argument("--force", action="store_true", help="delete unmerged branches too")
    p.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    _output_options(p, detach=False)
    p = add("gc", "remove finished runs and what they left; unmerged work is kept")
    p.add_argument("--merged", action="store_true", help="only runs whose work is merged")
    p.add_argument("--older-than", metavar="AGE", help="only runs ended AGE ago (7d, 12h, 30m)")
    p.add_argument(
        "--state",
        action="append",
        choices=ALL_STATES,
        help="only runs in this state (repeatable; default: the finished states)",
    )
    p.add_argument("--force", action="store_true", help="delete unmerged branches too")
    p.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    p.add_argument("--keep", type=int, default=0, help="parked checkouts to keep per repository")
    _output_options(p, detach=False)


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
    p.add_argument(
        "-n",
        "--lines",
        type=bounded(*TAIL_LINES),
        default=20,
        help=f"events to show first, {TAIL_LINES[0]}-{TAIL_LINES[1]} (default 20)",
    )
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
    p.add_argument(
        "--limit",
        type=bounded(*LIST_LIMIT),
        default=20,
        help=f"runs at most, {LIST_LIMIT[0]}-{LIST_LIMIT[1]} (default 20)",
    )
    _output_options(p, detach=False)
    p = add("resume", "answer a run's questions, continue an interrupted run or wake a paused one")
    p.add_argument("run_id")
    p.add_argument("--answer", action="append", metavar="ID=TEXT", help="repeatable")
    _output_options(p)
    p = add("diff", "what a run changed: files, stats and the patch")
    p.add_argument("run_id")
    p.add_argument(
        "--max-bytes",
        type=bounded(*PATCH_BYTES),
        default=200_000,
        help=f"cap on the patch, {PATCH_BYTES[0]}-{PATCH_BYTES[1]:,} bytes (default 200,000)",
    )
    p.add_argument(
        "--iteration",
        type=bounded(1, 1000),
        metavar="N",
        help="only what iteration N changed (from its checkpoint commit)",
    )
    _output_options(p, detach=False)
    p = add("merge", "bring a run's work into your branch (refuses rather than half-merges)")
    p.add_argument("run_id")
    p.add_argument("--squash", action="store_true", help="one commit instead of a merge")
    p.add_argument("--into", metavar="BRANCH", help="target branch (default: the checked-out one)")
    p.add_argument(
        "--cleanup", action="store_true", help="then remove the run as `rm` does (it is merged)"
    )
    _output_options(p, detach=False)
    _cleanup_commands(add)
    p = add("completion", "shell completion for bash, zsh or fish, written from this parser")
    p.add_argument("shell", choices=("bash", "zsh", "fish"))
    p.set_defaults(parser=parser)
    p = add("config", "the config files and each run default with where it comes from")
    actions = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    q = actions.add_parser("show", help="each run default, its value and where it comes from")
    q.add_argument("--cwd", metavar="DIR", help="for runs in this repository (default: here)")
    q.add_argument("--json", action="store_true", help="print one JSON document")
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
    add_hosts_commands(add("hosts", "model hosts: measured speed per model x host"))
    add_cost_command(sub)
    add_memory_commands(
        add("memory", "what loopwright remembers of past runs: search, show, forget")
    )
    add_export_command(
        add("export", "finished runs as JSONL training data: sft, dpo, trajectories")
    )
    add_improve_commands(add)
    add_pattern_commands(add)
    add_chat_command(add)
    p = add("demo", "a complete loop on a scratch repo with a real bug and real pytest")
    _sandbox_option(p)
    _output_options(p)
    add("serve", "the MCP stdio server (for Claude Code, Cursor, Cline, Windsurf)")
    p = add("ui", "the dashboard in a browser: runs, events, diffs, costs (127.0.0.1 + token)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free one)")
    p.add_argument("--open", action="store_true", help="open it in the desktop's browser")
    p = add("doctor", "check versions, agent CLIs, credentials (set or not), dirs and timeouts")
    p.add_argument("--cwd", metavar="DIR", help="also check this working dir")
    _output_options(p, detach=False)
    return parser
