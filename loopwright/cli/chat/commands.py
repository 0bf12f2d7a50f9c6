"""The chat's input line: a message to the model in use, or a slash command.

Pure: ``parse`` turns a line into a ``Command`` (or refuses it with a ``UserError``
saying how it is written); ``complete`` says what may follow the text before the cursor
(slash commands, then backend specs). A message that starts with ``/`` is typed ``//``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from ...errors import UserError

HELP: dict[str, tuple[str, str]] = {
    "models": ("", "the backends and whether each is available; the specs this chat used"),
    "model": ("SPEC", "talk to SPEC from now on (the conversation so far goes with you)"),
    "consult": ("A,B,… QUESTION", "ask several models at once, each on its own"),
    "delegate": ("SPEC TASK", "hand a task to SPEC (read only); the model in use reviews it"),
    "debate": ("A,B,… QUESTION", "blind drafts, rounds of critique and revision, a vote"),
    "history": ("", "the conversation so far, each turn with who said it"),
    "cost": ("", "calls, tokens and cost of this chat, per model and in all"),
    "help": ("", "these commands"),
    "quit": ("", "end the chat (Ctrl-D too); `loopwright chat --resume RUN` goes on"),
}
"""Each slash command: what it takes and what it does (``/help`` and the README)."""
ALIASES = {"exit": "quit"}
PANEL = {"consult", "debate"}
"""Commands whose first word is a comma-separated list of specs."""


@dataclass(frozen=True)
class Command:
    """What a line asks for: ``say`` (a message), or one of ``HELP``'s commands."""

    name: str
    specs: tuple[str, ...] = ()
    text: str = ""
    line: str = ""


def usage(name: str) -> str:
    takes = HELP[name][0]
    return f"/{name} {takes}".rstrip()


def parse(line: str) -> Command | None:
    """The command of a typed line; None for a blank one."""
    text = line.strip()
    if not text:
        return None
    if not text.startswith("/") or text.startswith("//"):
        return Command("say", text=text[1:] if text.startswith("//") else text, line=text)
    word, _, rest = text[1:].partition(" ")
    name = ALIASES.get(word, word)
    rest = rest.strip()
    if name not in HELP:
        close = difflib.get_close_matches(word, [*HELP, *ALIASES], n=1)
        hint = f"; did you mean /{close[0]}?" if close else "; /help lists them"
        raise UserError(f"no command /{word}{hint} (a message starting with / is typed //)",
                        "command")  # fmt: skip
    if not HELP[name][0]:
        if rest:
            raise UserError(f"/{name} takes nothing after it", "command")
        return Command(name, line=text)
    first, more = _panel(rest) if name in PANEL else _word(rest)
    if name == "model":
        if not first or more:
            raise UserError(f"write it {usage(name)}: one backend spec", "command")
        return Command(name, (first,), line=text)
    specs = tuple(s.strip() for s in first.split(",") if s.strip())
    if not specs or not more:
        raise UserError(f"write it {usage(name)}", "command")
    if name == "delegate" and len(specs) != 1:
        raise UserError(f"/delegate hands its task to one backend: {usage(name)}", "command")
    if name == "debate" and len(specs) < 2:
        raise UserError(f"/debate needs two specs or more: {usage(name)}", "command")
    return Command(name, specs, more, line=text)


def _word(text: str) -> tuple[str, str]:
    first, _, more = text.partition(" ")
    return first, more.strip()


def _panel(text: str) -> tuple[str, str]:
    """``A,B,… QUESTION`` -> ``("A,B,…", "QUESTION")``; a space may follow a comma."""
    first, more = _word(text)
    while first.endswith(",") and more:
        word, more = _word(more)
        first += word
    return first, more


def complete(before: str, specs: Iterable[str]) -> tuple[int, list[str]]:
    """What may complete the word before the cursor: ``(start, candidates)``, ``start``
    being the word's offset from the cursor (zero or negative). Slash commands at the
    start of the line; backend ``specs`` after ``/model``, ``/delegate``, and in the
    comma-separated list after ``/consult`` and ``/debate``."""
    if not before.startswith("/") or before.startswith("//"):
        return 0, []
    if " " not in before:
        word = before[1:]
        return -len(before), [f"/{n}" for n in HELP if n.startswith(word)]
    name, _, rest = before[1:].partition(" ")
    rest = rest.lstrip()
    if name in PANEL:
        rest = rest.replace(", ", ",")  # a space may follow a comma
    if " " in rest or name not in ("model", "delegate", *PANEL):
        return 0, []  # past the specs: the question or task is free text
    word = rest.rsplit(",", 1)[-1] if name in PANEL else rest
    found = [s for s in dict.fromkeys(specs) if s.startswith(word) and s != word]
    return -len(word), found
