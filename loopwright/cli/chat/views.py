"""What the chat's read-only commands show: ``/models``, ``/history``, ``/cost``,
``/help``, and the end of a pattern run inside the chat."""

from __future__ import annotations

from ...backends.registry import list_backends
from ...loop.patterns import PatternResult
from ...runs.chat import ChatSession
from ..patterns_view import report
from .commands import HELP, usage
from .render import BOLD, DIM, RED, Screen, colour_of

colour = colour_of


def show_models(session: ChatSession, screen: Screen) -> None:
    for info in list_backends():
        mark = screen.paint("yes", "32") if info.available else screen.paint("no ", RED)
        why = f" — {info.reason}" if info.reason else ""
        screen.line(f"{mark}  {info.name:<12} {info.spec_example}{why}")
    used = list(dict.fromkeys([session.model, *session.spent()]))
    screen.line("in this chat: " + ", ".join(screen.paint(s, colour_of(s)) for s in used))
    screen.line(f"talking to {screen.paint(session.model, colour_of(session.model))}")


def show_history(session: ChatSession, screen: Screen) -> None:
    screen.history(session.talk.turns)


def _usage(calls: int, tin: int, tout: int, cost: float, unknown: int) -> str:
    more = f" (+{unknown} call(s) of unknown price)" if unknown else ""
    return f"{calls} call(s) · {tin}+{tout} tok · ${cost:.4f}{more}"


def show_cost(session: ChatSession, screen: Screen) -> None:
    for spec, u in session.spent().items():
        line = _usage(u.agent_calls, u.input_tokens, u.output_tokens, u.cost_usd,
                      u.unknown_cost_calls)  # fmt: skip
        screen.line(f"{screen.paint(spec, colour_of(spec))}: {line}")
    u = session.usage
    total = _usage(u.agent_calls, u.input_tokens, u.output_tokens, u.cost_usd,
                   u.unknown_cost_calls)  # fmt: skip
    screen.line(screen.paint(f"this chat: {total}", BOLD))
    b = session.request.loop.budget
    screen.line(screen.paint(f"budget: ${b.max_cost_usd:g}, {b.max_tokens:,} tokens, "
                             f"{b.max_agent_calls:,} calls", DIM))  # fmt: skip


def show_help(session: ChatSession, screen: Screen) -> None:
    screen.line("a line is a message to the model in use (one starting with / is typed //);")
    for name, (_, what) in HELP.items():
        screen.line(f"  {usage(name):<28} {what}")
    screen.line("Tab completes commands and specs; Ctrl-C stops a reply; Ctrl-D ends the chat")


def show_outcome(result: PatternResult, screen: Screen) -> None:
    """A pattern's end in a few lines (its exchanges were shown as they came)."""
    screen.line(screen.paint(f"{result.pattern} {result.state}: {result.stop_reason}", BOLD))
    for line in report(result.model_dump()):
        if not line.lstrip().startswith("disagreement"):  # shown as it was measured
            screen.line(line)
