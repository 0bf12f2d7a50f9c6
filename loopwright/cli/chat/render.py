"""How a chat reads on the terminal: each model in its own colour, every exchange
attributed (spec, host, tokens in+out, latency, cost), replies as they stream.

Colour only on a terminal and never with ``NO_COLOR`` (``output.colour_on``). A model's
colour comes from its spec alone, so it is the same in every session.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterable
from typing import Any, TextIO

from ...loop.patterns.chat import YOU, Said
from ...loop.vocab import EventType
from ..output import colour_on
from ..patterns_view import TEXT_LINES, format_decision, format_disagreement

PALETTE = ("36", "35", "33", "32", "34", "96", "95", "93", "92", "94")
"""ANSI foreground colours models are drawn in (cyan, magenta, yellow, green, blue, and
their bright forms); red is kept for failures."""
DIM, BOLD, RED = "2", "1", "31"


def colour_of(spec: str) -> str:
    """The colour of ``spec``: the same for the same spec, in every session."""
    return PALETTE[zlib.crc32(spec.encode()) % len(PALETTE)]


def attribution(d: dict[str, Any]) -> str:
    """``host H · in+out tok · latency · cost`` of an exchange."""
    cost = d.get("cost_usd")
    price = "price unknown" if cost is None else f"${float(cost):.4f}"
    host = d.get("host") or "default"
    return (
        f"host {host} · {d.get('input_tokens', 0)}+{d.get('output_tokens', 0)} tok · "
        f"{float(d.get('latency') or 0):.2f}s · {price}"
    )


def _step(d: dict[str, Any]) -> str:
    n = d.get("participant")
    rnd = f" round {d['round']}" if d.get("round") else ""
    return f"{d.get('step')}{f' #{n}' if n else ''}{rnd}"


class Screen:
    """Writes the chat to ``stream``; ``on_text`` and ``on_event`` are the session's."""

    def __init__(self, stream: TextIO | None = None, colour: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.colour = colour_on(self.stream) if colour is None else colour
        self.streamed = False
        self.replying: str | None = None
        self.gone = False

    def paint(self, text: str, style: str) -> str:
        return f"\x1b[{style}m{text}\x1b[0m" if self.colour and text else text

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    def write(self, text: str) -> None:
        """``text`` on the screen; dropped once the screen is gone (a closed terminal
        or pipe), so the session still ends cleanly."""
        if self.gone:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError:  # EIO from a hung-up terminal, EPIPE from a closed pipe
            self.gone = True

    # --- a reply ---------------------------------------------------------------------
    def begin_reply(self, spec: str) -> None:
        """The model in use is asked: its name, then its text as it comes."""
        self.replying, self.streamed = spec, False
        self.line(self.paint(f"{spec} ▸", colour_of(spec) + ";1"))

    def on_text(self, text: str) -> None:
        """A piece of the reply, as the backend wrote it."""
        if self.replying is None or not text:
            return
        self.streamed = True
        self.write(self.paint(text, colour_of(self.replying)))

    def end_reply(self) -> None:
        if self.replying is not None and self.streamed:
            self.line()
        self.replying = None

    # --- events ----------------------------------------------------------------------
    def on_event(self, type: EventType, d: dict[str, Any]) -> None:
        """Show an event of the session as it is recorded."""
        if type == "message":  # sent (a message the budget refuses never is)
            self.begin_reply(str(d.get("to")))
        elif type == "exchange":
            self._exchange(d)
        elif type == "disagreement":
            self.line(self.paint(format_disagreement(d), DIM))
        elif type == "decision":
            self.line(format_decision(d))
        elif type in ("budget_exhausted", "error", "warning"):
            self.line(self.paint(f"{type}: {d.get('message')}", RED))
        elif type == "cancelled":
            self.end_reply()
            self.line(self.paint(f"cancelled: the {d.get('step')} stopped; the chat goes on", RED))

    def _exchange(self, d: dict[str, Any]) -> None:
        spec = str(d.get("spec"))
        reply = d.get("step") == "reply"
        if reply and self.streamed:
            self.end_reply()
        else:
            if not reply:
                self.line(self.paint(f"[{_step(d)}] {spec} ▸", colour_of(spec) + ";1"))
            text = str(d.get("text") or "").strip()
            lines = text.splitlines()
            for ln in lines[:TEXT_LINES]:
                self.line(self.paint(ln, colour_of(spec)))
            if len(lines) > TEXT_LINES:
                self.line(self.paint(f"… ({len(lines) - TEXT_LINES} more lines)", DIM))
            self.replying = None
        failed = "" if d.get("ok", True) else f" · FAILED: {d.get('error')}"
        self.line(self.paint(f"  ── {spec} · {attribution(d)}{failed}", DIM))

    # --- commands --------------------------------------------------------------------
    def history(self, turns: Iterable[Said]) -> None:
        """Each turn under who said it: you in bold, a model in its colour."""
        shown = False
        for said in turns:
            shown = True
            mine = said.speaker == YOU
            colour = "" if mine else colour_of(said.speaker)
            self.line(self.paint(f"{said.speaker}:", BOLD if mine else colour + ";1"))
            for ln in said.text.strip().splitlines() or [""]:
                self.line(f"  {ln}" if mine else self.paint(f"  {ln}", colour))
        if not shown:
            self.line("nothing said yet")
