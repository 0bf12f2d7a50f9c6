"""The ``loopwright`` command line: the same calls the MCP server makes, for people.

This module is the entry point: the store every command shares, each command's name
mapped to its module (loaded when used where it pulls in much), and the error mapping to
exit codes. The commands live by group: ``run_cmd`` (run, resume, demo), ``state_cmd``
(tail, status, result, cancel), ``follow`` (following a run and its exit codes: 0
completed, 1 stopped or interrupted, 2 error or bad usage, 3 needs input, 4 still running
or paused, 130 cancelled), ``inspect_cmd``, ``cleanup_cmd`` and one module per other group.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from functools import partial
from typing import Any

from .. import __version__
from ..config import notices as config_notices
from ..config import state_dir
from ..errors import LoopwrightError, UserError
from ..runs import runner
from ..runs.diskspace import find_disk_full
from ..runs.store import RunStore
from .output import error_text, out, quiet_stdout
from .run_cmd import cmd_demo, cmd_resume, cmd_run, request_from_args
from .view import backend_lines

__all__ = ["main", "request_from_args"]


_STORE: RunStore | None = None


def _store() -> RunStore:
    """The state dir's store; on first use, runs whose host died become ``interrupted``."""
    global _STORE
    if _STORE is None:
        _STORE = RunStore(state_dir())
        if _STORE.runs_dir.is_dir():
            runner.recover(_STORE)
    return _STORE


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


def _chat_command(args: argparse.Namespace) -> int:
    from .chat import cmd_chat  # prompt_toolkit and the backends load only for a chat

    return cmd_chat(args)


def main(argv: list[str] | None = None) -> int:
    from .parser import build_parser

    parser = build_parser(
        {
            "run": partial(cmd_run, open_store=_store),
            "tail": _with_store("state_cmd", "cmd_tail"),
            "status": _with_store("state_cmd", "cmd_status"),
            "result": _with_store("state_cmd", "cmd_result"),
            "list": _with_store("inspect_cmd", "cmd_list"),
            "cancel": _with_store("state_cmd", "cmd_cancel"),
            "resume": partial(cmd_resume, open_store=_store),
            "backends": cmd_backends,
            "diff": _with_store("inspect_cmd", "cmd_diff"),
            "merge": _with_store("cleanup_cmd", "cmd_merge"),
            "rm": _with_store("cleanup_cmd", "cmd_rm"),
            "gc": _with_store("cleanup_cmd", "cmd_gc"),
            "config": _config_command,
            "completion": _completion_command,
            "demo": partial(cmd_demo, open_store=_store),
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
            "chat": _chat_command,
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
