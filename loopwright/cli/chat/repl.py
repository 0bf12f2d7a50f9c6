"""The chat's read-eval-print loop.

On a terminal the line is read with prompt_toolkit: the history of earlier lines in
``<state>/chat_history`` (0600, redacted), completion of slash commands and backend
specs (Tab). Without a terminal (a pipe, a file) lines are read plainly, one a line.

Each exchange runs in its own event loop while a SIGINT receiver waits beside it:
Ctrl-C cancels the exchange under way (its backend call is cancelled, its programs
killed, a ``cancelled`` event recorded) and the chat goes on. At the prompt, Ctrl-C
clears the line; Ctrl-D or ``/quit`` ends the chat.

SIGTERM (``loopwright cancel``) and SIGHUP (the terminal closed) end the chat
(``Ending``): at the prompt at once, during an exchange once the exchange is cancelled
as Ctrl-C cancels it (its ``cancelled`` event says by what), never at some arbitrary
point of it; the caller then closes the session.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskStatus

from ...config import state_dir
from ...errors import BudgetExceeded, LoopwrightError, UserError, unwrapped
from ...fsmodes import open_nofollow, private_dir
from ...runs.chat import ChatSession
from ...runs.redact import Redactor
from .commands import Command, complete, parse
from .render import Screen

T = TypeVar("T")
Reader = Callable[[str], str]
"""Reads one line after showing the prompt; raises ``EOFError`` at the end of input and
``KeyboardInterrupt`` on Ctrl-C."""
HISTORY_FILE = "chat_history"
ENDING = (signal.SIGTERM, signal.SIGHUP)
"""Signals that end the chat: ``loopwright cancel``, a closed terminal."""
BY: dict[int, str] = {signal.SIGINT: "person", signal.SIGTERM: "loopwright cancel",
      signal.SIGHUP: "terminal closed"}  # fmt: skip
"""Who cancelled an exchange (its ``cancelled`` event's ``by``), by signal."""


class Ending:
    """The chat's handler of ``ENDING`` (``installed`` while the chat runs): at the
    prompt it ends the chat at once (``SystemExit``, through prompt_toolkit, which gives
    the terminal back); during an exchange (``cancel`` set) it cancels the exchange, and
    the chat ends when the exchange is over. ``signum``: the first such signal."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.cancel: Callable[[int], None] | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.signum = self.signum or signum
        if self.cancel is None:
            raise SystemExit(128 + signum)
        self.cancel(signum)

    @contextmanager
    def installed(self) -> Iterator[None]:
        old = {s: signal.signal(s, self) for s in ENDING}
        try:
            yield
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)


async def cancellable(
    work: Callable[[], Awaitable[T]],
    on_stop: Callable[[int], None] = lambda signum: None,
    ending: Ending | None = None,
) -> tuple[int | None, T | None]:
    """Run ``work`` until it ends, SIGINT comes or ``ending`` is signalled: ``(signal,
    value)``, ``on_stop`` told the signal before ``work`` is cancelled. The receiver
    listens before ``work`` starts, so no Ctrl-C falls between them; ``ending``'s
    handler stays Python's (a receiver's end would leave SIGTERM and SIGHUP at their
    default, which kills the chat unclosed) and hands its signal to the loop."""
    box: list[T] = []
    got: list[int] = []

    def stop(signum: int) -> None:
        if not got:
            got.append(signum)
            on_stop(signum)
        tg.cancel_scope.cancel()

    async def watch(*, task_status: TaskStatus[None]) -> None:
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            task_status.started()
            async for signum in signals:
                stop(signum)
                return

    if ending is not None:
        loop = asyncio.get_running_loop()

        def cancel(signum: int) -> None:  # in a signal handler: the loop does the work
            loop.call_soon_threadsafe(stop, signum)

        ending.cancel = cancel
    try:
        with unwrapped():  # the one error of the exchange, not a group of it
            async with anyio.create_task_group() as tg:
                await tg.start(watch)
                box.append(await work())
                tg.cancel_scope.cancel()
    finally:
        if ending is not None:
            ending.cancel = None
    return (got[0] if got else None), box[0] if box else None


def plain_reader(prompt: str) -> str:
    """A line of stdin that is no terminal (no prompt: nobody is there to see it)."""
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


def terminal_reader(specs: Callable[[], Iterable[str]]) -> Reader:
    """prompt_toolkit's line editor with the chat's history file and completion."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import CompleteEvent, Completer, Completion
    from prompt_toolkit.document import Document
    from prompt_toolkit.history import FileHistory

    redact = Redactor.from_env()

    class RedactedHistory(FileHistory):
        """A typed key is not kept in the history file (the line still runs as typed)."""

        def store_string(self, string: str) -> None:
            super().store_string(redact(string))

    class Specs(Completer):
        def get_completions(self, document: Document, event: CompleteEvent) -> Any:
            start, found = complete(document.text_before_cursor, specs())
            for text in found:
                yield Completion(text, start_position=start)

    session: PromptSession[str] = PromptSession(
        history=RedactedHistory(str(history_path())),
        completer=Specs(),
        complete_while_typing=False,  # Tab completes: no menu pops up under a message
    )
    return session.prompt


def history_path() -> Path:
    """``<state>/chat_history``, made 0600 before prompt_toolkit appends to it."""
    path = private_dir(state_dir()) / HISTORY_FILE
    os.close(open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND))
    return path


class Repl:
    """Reads lines and runs them against ``session``, showing everything on ``screen``."""

    def __init__(
        self, session: ChatSession, screen: Screen, read: Reader, ending: Ending | None = None
    ) -> None:
        self.session, self.screen, self.read = session, screen, read
        session.sink.on_event = screen.on_event
        self.ending = ending or Ending()
        """Its handler, installed by the caller, ends ``run`` with ``SystemExit``."""

    def run(self) -> None:
        """Until ``/quit`` or the end of input; the caller closes the session."""
        while True:
            try:
                command = parse(self.read(f"{self.session.model} › "))
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                self.screen.line()
                return
            except UserError as exc:
                self.screen.line(f"error: {exc}")
                continue
            if command is None:
                continue
            if command.name == "quit":
                return
            try:
                self.do(command)
            except BudgetExceeded:
                self.screen.end_reply()  # its budget_exhausted event said why
            except LoopwrightError as exc:
                self.screen.end_reply()
                self.screen.line(f"error: {exc}")

    def do(self, command: Command) -> None:
        from . import views

        if command.name == "say":
            self.exchange(lambda: self._say(command.text))
        elif command.name in ("consult", "delegate", "debate"):
            self.exchange(lambda: self._pattern(command))
        elif command.name == "model":
            spec = self.session.switch(command.specs[0], command.line)
            self.screen.line(f"now talking to {self.screen.paint(spec, views.colour(spec))}")
        else:
            getattr(views, f"show_{command.name}")(self.session, self.screen)

    def exchange(self, work: Callable[[], Awaitable[Any]]) -> None:
        try:
            anyio.run(cancellable, work, self._stopped, self.ending)
        except KeyboardInterrupt:  # a second Ctrl-C while the first one was being handled
            self.screen.end_reply()
            self.screen.line("cancelled")
        if self.ending.signum:  # the exchange is over: now the chat ends
            raise SystemExit(128 + self.ending.signum)

    def _stopped(self, signum: int) -> None:
        self.session.cancelled_by = BY.get(signum, "signal")

    async def _say(self, text: str) -> None:
        await self.session.say(text, self.screen.on_text)

    async def _pattern(self, command: Command) -> None:
        from . import views

        result = await self.session.pattern(command.name, command.specs, command.text, command.line)
        views.show_outcome(result, self.screen)
