"""Output helpers of the ``loopwright`` command: the only place that writes to stdout;
colour on a terminal, errors in the words the user typed, a closed pipe ended quietly."""

from __future__ import annotations

import os
import sys

from ..errors import UserError


def out(text: str = "") -> None:
    """One line to stdout, flushed (a pipe reader sees it at once)."""
    print(text, flush=True)


def quiet_stdout() -> None:
    """After a closed pipe (``loopwright list | head -1``): send what is left of stdout
    nowhere, so neither the rest of the command nor Python's exit complains."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


# --- colour ------------------------------------------------------------------------
STYLES = {"good": "32", "bad": "31", "warn": "33", "dim": "2", "bold": "1"}
WORDS = {
    "completed": "good",
    "pass": "good",
    "yes": "good",
    "ok": "good",
    "failed": "bad",
    "fail": "bad",
    "cancelled": "bad",
    "no": "bad",
    "stopped": "warn",
    "interrupted": "warn",
    "needs_input": "warn",
    "paused": "warn",
}
"""The style of a word that says how something went (state, verify, availability)."""


def colour_on(stream: object = None) -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set (https://no-color.org)
    or ``TERM=dumb``."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, style: str | None = None) -> str:
    """``text`` in ``style`` (by default the one its word has) when colour is on."""
    style = style or WORDS.get(text.strip().lower())
    if not style or not colour_on():
        return text
    return f"\x1b[{STYLES[style]}m{text}\x1b[0m"


# --- errors ------------------------------------------------------------------------
OPTIONS = {
    "run_id": "RUN",
    "worker_retries": "--retries",
    "review_quorum": "--quorum",
    "verify_commands": "--verify",
    "success_criteria": "--criteria",
    "workers": "--worker",
    "reviewers": "--reviewer",
    "answers": "--answer",
}
"""Request fields whose option is named otherwise (the rest: ``--`` + the field, dashed)."""
NO_OPTION = {"goal", "config", "request", "budget"}
"""Fields no option of their own stands for: the message says enough."""


def error_text(exc: UserError) -> str:
    """The message of a caller's mistake naming the option the user typed, once: a
    message that starts with the field's name gets the option's name instead."""
    message, field = str(exc).replace("Input should be ", "must be "), exc.field  # pydantic's
    if not field or field in NO_OPTION or field.isupper():  # an env var names itself
        return message
    option = OPTIONS.get(field, "--" + field.replace("_", "-"))
    for name in dict.fromkeys((option, field, field.replace("_", "-"))):
        if message.startswith((f"{name}:", f"{name} '", f'{name} "')):  # it names the value
            return option + message[len(name) :]
    return message if not option.startswith("-") else f"{option}: {message}"
