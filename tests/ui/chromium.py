"""A small Chrome DevTools Protocol client over ``--remote-debugging-pipe``: headless
Chromium reads commands on its fd 3 and writes replies and events on its fd 4, each a
JSON message ended by a NUL byte (no websocket, no npm). Enough to open a page, wait for
something in it (a promise evaluated in the page, bounded), and take a screenshot.

Flags as the machine notes give them for root in a closed network: no sandbox, no GPU,
no background networking, component updates or sync, a fresh profile.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-pipe",
]


def find_chromium() -> str | None:
    given = os.environ.get("LOOPWRIGHT_CHROMIUM")
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class CDPError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium and one page in it; every wait is bounded by ``timeout``."""

    def __init__(self, program: str, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="lw-chromium-")
        to_child, self._out = os.pipe()  # we write commands; Chromium reads fd 3
        self._in, from_child = os.pipe()  # Chromium writes fd 4; we read
        self.log = Path(self.profile) / "stderr.log"
        # The shell moves the pipe ends from its stdin and stdout to fds 3 and 4, then
        # becomes Chromium.
        script = 'exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null'
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["sh", "-c", script, program, *FLAGS, f"--user-data-dir={self.profile}",
                 "about:blank"],
                stdin=to_child,
                stdout=from_child,
                stderr=log,
            )  # fmt: skip
        os.close(to_child)
        os.close(from_child)
        self._buf = b""
        self._next = 0
        self.session: str | None = None
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Chromium:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for fd in (self._out, self._in):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.proc.kill()
        self.proc.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)

    # --- the wire ------------------------------------------------------------------
    def send(self, method: str, params: dict[str, Any] | None = None, page: bool = True) -> Any:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if page and self.session:
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        reply = self._until(lambda m: m.get("id") == self._next, f"a reply to {method}")
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _until(self, match: Any, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self._in, selectors.EVENT_READ)
            while True:
                while b"\0" in self._buf:
                    raw, self._buf = self._buf.split(b"\0", 1)
                    message = json.loads(raw)
                    if match(message):
                        return dict(message)
                    self.events.append(message)
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise CDPError(f"no {what} from Chromium within {self.timeout:g}s"
                                   f"{self._stderr()}")  # fmt: skip
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise CDPError(f"Chromium closed its pipe while we waited for {what}"
                                   f"{self._stderr()}")  # fmt: skip
                self._buf += chunk

    def _stderr(self) -> str:
        try:
            return "; its stderr ends: " + self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    # --- a page --------------------------------------------------------------------
    def open(self, url: str, width: int = 1280, height: int = 1600) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, page=False)
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, page=False
        )
        self.session = attached["sessionId"]
        self.send("Page.enable")
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.send("Emulation.setDeviceMetricsOverride", metrics)
        self.events = []
        self.send("Page.navigate", {"url": url})
        if not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self._until(lambda m: m.get("method") == "Page.loadEventFired", "page load")

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` in the page (a promise is awaited)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True})  # fmt: skip
        if "exceptionDetails" in result:
            raise CDPError(f"the page threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """The whole page (up to 8,000 pixels down) as a PNG at ``path``."""
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 8000),
                "scale": 1}  # fmt: skip
        shot = self.send(
            "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
