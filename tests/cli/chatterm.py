"""``loopwright chat`` on a pseudo-terminal, as a person runs it: the pty is the chat's
controlling terminal, so Ctrl-C typed into it is a SIGINT from the kernel's line
discipline, and prompt_toolkit edits the line. Every read is bounded by a deadline."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from types import TracebackType

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]|\r")
DEADLINE = 30.0


def _take_terminal() -> None:
    """In the child (a session leader by then): make the pty its controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class ChatTerm:
    """A ``loopwright chat`` process on a pty of 40 x 200."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        main, child = pty.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        self.fd = main
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loopwright", "chat", *args],
            stdin=child, stdout=child, stderr=child, env=env,
            start_new_session=True, preexec_fn=_take_terminal,
        )  # fmt: skip
        os.close(child)
        self.raw = ""
        self.seen = 0
        """Where the next ``expect`` starts looking in ``text``."""

    @property
    def text(self) -> str:
        """What the terminal showed, escape sequences and carriage returns taken out."""
        return ANSI.sub("", self.raw)

    def _read(self, until: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, until - time.monotonic()))
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the chat ended and closed the terminal
            return False
        self.raw += data.decode("utf-8", "replace")
        return bool(data)

    def expect(self, pattern: str, timeout: float = DEADLINE) -> re.Match[str]:
        """Wait for ``pattern`` (a regex) in what the terminal shows after the last match."""
        until = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            found = rx.search(self.text, self.seen)
            if found:
                self.seen = found.end()
                return found
            if time.monotonic() >= until or not self._read(until):
                if time.monotonic() < until and self.proc.poll() is None:
                    continue
                raise AssertionError(f"{pattern!r} not shown; the terminal shows:\n{self.text}")

    def press(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def line(self, text: str) -> None:
        """At the next prompt, type ``text`` and Enter (typed earlier, the line would meet
        the terminal's cooked mode: echoed twice, and Ctrl-D lost)."""
        self.expect("›")
        self.press(text + "\r")

    def wait(self, timeout: float = DEADLINE) -> int:
        """Read to the end of the chat's output; its exit code."""
        until = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < until:
            self._read(min(until, time.monotonic() + 0.5))
        while self._read(time.monotonic() + 0.2):
            pass
        return self.proc.wait(timeout=max(0.1, until - time.monotonic()))

    def hang_up(self, timeout: float = DEADLINE) -> int:
        """Close the terminal, as a person closing its window: the kernel sends SIGHUP to
        the chat (the terminal's controlling process). The chat's exit code."""
        os.close(self.fd)
        self.fd = -1
        return self.proc.wait(timeout=timeout)

    def __enter__(self) -> ChatTerm:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if self.fd >= 0:
            os.close(self.fd)
