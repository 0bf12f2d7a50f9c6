"""``loopwright chat``: a conversation with models, one at a time or several at once,
every exchange shown as it comes and recorded as a run (``runs/chat.py``).

- ``commands``: the input line (a message or a slash command) and its completion
- ``render``: colours per model, attribution, streaming text
- ``views``: what ``/models``, ``/history``, ``/cost`` and ``/help`` show
- ``repl``: the loop: prompt_toolkit on a terminal, Ctrl-C cancels an exchange, SIGTERM
  and SIGHUP end the chat
"""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, get_args

from ...errors import UserError
from ...loop.vocab import SandboxMode
from .commands import HELP

if TYPE_CHECKING:  # loaded when the chat starts, not whenever the parser is built
    from ...runs.chat import ChatSession
    from ...runs.store import RunStore
    from .render import Screen
    from .repl import Ending

__all__ = ["add_chat_command", "cmd_chat"]


def add_chat_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    """``chat`` under ``add`` (the parser's sub-command maker)."""
    p = add("chat", "talk with models in a terminal; every exchange shown and recorded as a run")
    p.add_argument(
        "--model",
        metavar="SPEC",
        help="the model to talk to first (default: run.backend of the config files, else scripted)",
    )
    p.add_argument("--resume", metavar="RUN", help="go on with an earlier chat session")
    p.add_argument("--cwd", metavar="DIR", help="where agent CLIs run, read only (default: here)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds one exchange may take")
    p.add_argument(
        "--max-agent-calls",
        type=int,
        metavar="N",
        help="model calls at most (else [budget] of the config files, as every limit; else 200)",
    )
    p.add_argument("--max-tokens", type=int, metavar="N", help="tokens at most (else 5,000,000)")
    p.add_argument("--max-cost-usd", type=float, metavar="USD", help="known USD at most (else 20)")
    p.add_argument(
        "--sandbox",
        choices=get_args(SandboxMode),
        help="all: confine the agent CLIs (and every backend's programs) in bubblewrap; "
        "verify, off: they run unconfined (default: LOOPWRIGHT_SANDBOX, else the config's "
        "run.sandbox, else verify; refused when bubblewrap cannot work here and it is not "
        "off; a resumed chat keeps its own)",
    )
    p.add_argument(
        "--allow-network",
        action="store_true",
        help="sandboxed agent CLIs share this machine's network (else they have none)",
    )
    p.epilog = "in the chat: " + ", ".join(f"/{n}" for n in HELP)


def _open(args: argparse.Namespace, store: RunStore) -> ChatSession:
    from ...runs.chat import ChatSession, build_chat_request
    from ...runs.ids import check_run_id

    if args.resume:
        if args.sandbox is not None or args.allow_network:
            raise UserError("a resumed chat keeps its sandbox; leave out --sandbox and "
                            "--allow-network", "sandbox")  # fmt: skip
        return ChatSession.reopen(store, check_run_id(args.resume))
    budget = {
        "max_agent_calls": args.max_agent_calls,
        "max_tokens": args.max_tokens,
        "max_cost_usd": args.max_cost_usd,
    }
    cwd = os.path.abspath(os.path.expanduser(args.cwd)) if args.cwd else os.getcwd()
    request = build_chat_request(args.model, cwd, budget, args.timeout, args.sandbox,
                                 args.allow_network)  # fmt: skip
    return ChatSession.open(store, request)


def _specs(session: ChatSession) -> Callable[[], list[str]]:
    """What Tab offers after ``/model`` and the like: the specs of this chat, then each
    available provider's name (``ollama:``...)."""
    from ...backends.registry import list_backends

    providers: list[str] = []

    def specs() -> list[str]:
        if not providers:
            infos = [i for i in list_backends() if i.available and i.name != "function"]
            providers.extend(i.name if i.name == "scripted" else f"{i.name}:" for i in infos)
        return [session.model, *session.spent(), *providers]

    return specs


def cmd_chat(args: argparse.Namespace) -> int:
    """The chat until ``/quit``, Ctrl-D or the end of input (exit 0); ``loopwright cancel``
    (SIGTERM) ends it ``cancelled``, a closed terminal (SIGHUP) ``completed`` (exit 128 +
    the signal), an exchange under way cancelled first."""
    from ...config import state_dir
    from ...runs.store import RunStore
    from .render import Screen
    from .repl import ENDING, Ending

    session = _open(args, RunStore(state_dir()))
    screen, ending = Screen(), Ending()
    try:
        with ending.installed():
            _talk(args, session, screen, ending)
    finally:  # whatever ended it (an error of its own too): the session is closed
        signum = ending.signum
        old = {s: signal.signal(s, signal.SIG_IGN) for s in ENDING}  # nor stopped half-way
        try:
            reason = "the terminal was closed" if signum == signal.SIGHUP else "the person quit"
            result = session.close(cancelled=signum == signal.SIGTERM, reason=reason)
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)
    screen.line(f"{result.summary}; `loopwright tail {session.run_id}` replays it, "
                f"`loopwright chat --resume {session.run_id}` goes on")  # fmt: skip
    return 128 + signum if signum else 0


def _talk(args: argparse.Namespace, session: ChatSession, screen: Screen, ending: Ending) -> None:
    """The REPL on ``screen`` until it ends; a signal of ``ending`` ends it quietly."""
    import sys

    from .repl import Repl, plain_reader, terminal_reader

    word = "resumed" if args.resume else "started"
    try:
        screen.line(f"chat {session.run_id} {word}: talking to {session.model}; "
                    "/help for commands")  # fmt: skip
        terminal = sys.stdin.isatty() and sys.stdout.isatty()
        read = terminal_reader(_specs(session)) if terminal else plain_reader
        Repl(session, screen, read, ending).run()
    except SystemExit:
        if ending.signum is None:
            raise
