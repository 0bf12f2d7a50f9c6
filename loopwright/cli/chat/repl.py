"""The chat's read-eval-print loop.

On a terminal the line is read with prompt_toolkit: the history of earlier lines in
``<state>/chat_history`` (0600, redacted), completion of slash commands and backend
specs (Tab). Without a terminal (a pipe, a file) lines are read plainly, one a line.

Each exchange runs in its own event loop while a SIGINT receiver waits beside it:
Ctrl-C cancels the exchange under way (its backend call is cancelled, its programs
killed, a ``cancelled`` event recorded) and the chat goes on. At the prompt, Ctrl-C
clears the line; Ctrl-D or ``/quit`` ends the chat.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
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


async def cancellable(work: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
    """Run ``work`` until it ends or SIGINT comes: ``(cancelled, value)``. The receiver
    is listening before ``work`` starts, so no Ctrl-C falls between them."""
    box: list[T] = []
    stopped = False

    async def watch(*, task_status: TaskStatus[None]) -> None:
        nonlocal stopped
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            task_status.started()
            async for _ in signals:
                stopped = True
                tg.cancel_scope.cancel()
                return

    with unwrapped():  # the one error of the exchange, not a group of it
        async with anyio.create_task_group() as tg:
            await tg.start(watch)
            box.append(await work())
            tg.cancel_scope.cancel()
    return stopped, box[0] if box else None


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

    def __init__(self, session: ChatSession, screen: Screen, read: Reader) -> None:
        self.session, self.screen, self.read = session, screen, read
        session.sink.on_event = screen.on_event

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
            anyio.run(cancellable, work)
        except KeyboardInterrupt:  # a second Ctrl-C while the first one was being handled
            self.screen.end_reply()
            self.screen.line("cancelled")

    async def _say(self, text: str) -> None:
        await self.session.say(text, self.screen.on_text)

    async def _pattern(self, command: Command) -> None:
        from . import views

        result = await self.session.pattern(command.name, command.specs, command.text, command.line)
        views.show_outcome(result, self.screen)
