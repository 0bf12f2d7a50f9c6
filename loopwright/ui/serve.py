"""Serving the dashboard with uvicorn on 127.0.0.1, and opening it in a browser.

The socket is bound here (port 0: the OS picks one), so the URL is known before the
server starts. uvicorn runs with no access log: request lines would carry the token.
``--open`` hands the browser a private file that redirects to the URL rather than the URL
itself, so the token does not show in the process list (as Jupyter does).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from ..errors import ProcessError, UserError
from ..process.runner import PlainRunner, ProcessRunner
from ..runs.store import RunStore, make_private_dir
from .app import create_app
from .gate import new_token

__all__ = ["HOST", "Served", "bind", "open_in_browser", "serve_forever", "serve_in_thread"]

HOST = "127.0.0.1"


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: any free port)."""
    if not 0 <= port <= 65535:
        raise UserError(f"port {port} is not a TCP port (0 picks a free one)", "port")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {HOST}:{port}: {exc.strerror}", "port") from exc
    sock.listen(128)
    return sock


def _server(store: RunStore, token: str) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(store, token), access_log=False, log_level="warning", lifespan="off",
        server_header=False, timeout_graceful_shutdown=2,
    )  # fmt: skip
    return uvicorn.Server(config)


def url_of(sock: socket.socket, token: str) -> str:
    return f"http://{HOST}:{sock.getsockname()[1]}/{token}/"


def serve_forever(store: RunStore, sock: socket.socket, token: str) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM: uvicorn's own handlers)."""
    _server(store, token).run(sockets=[sock])


@dataclass
class Served:
    """A dashboard served on a thread of this process (tests, the browser test)."""

    url: str
    token: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def serve_in_thread(store: RunStore, port: int = 0, token: str | None = None) -> Served:
    token = token or new_token()
    sock = bind(port)
    server = _server(store, token)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="loopwright-ui")  # fmt: skip
    thread.start()
    return Served(url_of(sock, token), token, server, thread)


@contextlib.contextmanager
def open_in_browser(
    url: str, folder: Path, runner: ProcessRunner | None = None
) -> Iterator[str | None]:
    """Open ``url`` in the desktop's browser through a 0600 redirect file in ``folder``
    (removed on exit); yields why it could not, or None."""
    opener = shutil.which("open" if sys.platform == "darwin" else "xdg-open")
    if opener is None:
        yield "no xdg-open (or open) on PATH: open the URL yourself"
        return
    make_private_dir(folder)
    page = folder / f"open-{os.getpid()}.html"
    fd = os.open(page, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f'<!doctype html><meta http-equiv="refresh" content="0;url={url}">'
                f'<a href="{url}">loopwright dashboard</a>')  # fmt: skip
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        (runner or PlainRunner()).spawn_detached([opener, str(page)], cwd=folder, output=devnull)
        yield None
    except ProcessError as exc:
        yield str(exc)
    finally:
        os.close(devnull)
        with contextlib.suppress(FileNotFoundError):
            page.unlink()
