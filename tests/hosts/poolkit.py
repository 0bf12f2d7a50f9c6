"""What the pool tests share: a config file of hosts, rented hosts in the store, fake
Ollama and llama-server hosts on 127.0.0.1, addresses that refuse or never answer, and
measured calls in the profile store."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from loopwright.hosts.profiles import ProfileStore, from_model_call
from loopwright.hosts.rented import RentedHost, save_rented
from tests.backends.models.fake_ollama import FakeOllama, Server, say


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(path))
    return path


def refused_url() -> str:
    """An address where nothing listens: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def silent_url() -> Iterator[str]:
    """An address that takes the connection and never answers (a hung host)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


@contextmanager
def ollama(**kw: Any) -> Iterator[tuple[FakeOllama, Server]]:
    fake = FakeOllama(**kw)
    server = Server(fake)
    try:
        yield fake, server
    finally:
        server.stop()


def rent(name: str, url: str, *, usd: float = 0.5, state: str = "running",
         token: str | None = "rented-token-abcdef", age: float = 600.0) -> RentedHost:  # fmt: skip
    host = RentedHost(
        name=name, instance_id=int(name.rsplit("-", 1)[-1]), kind="ollama", url=url,
        token=token, usd_per_hour=usd, gpu="RTX 4090", model="m",
        created_at=time.time() - age, idle_minutes=15, max_hours=8, state=state,
    )  # fmt: skip
    save_rented(host)
    return host


def measured(host: str, model: str, gen_tps: float, ts: float | None = None) -> None:
    """One recorded Ollama call of ``model`` on ``host`` at ``gen_tps`` generated tokens/s."""
    eval_ns = 1_000_000_000
    profile = {"eval_count": int(gen_tps), "eval_duration": eval_ns, "gen_tps": gen_tps,
               "prompt_eval_count": 10, "prompt_tps": 100.0, "load_duration": 0}  # fmt: skip
    data = {"provider": "ollama", "model": model, "host": host, "purpose": "work",
            "latency": 1.0, "profile": profile}  # fmt: skip
    call = from_model_call(data, ts)
    assert call is not None
    store = ProfileStore()
    try:
        store.add_call(call)
    finally:
        store.close()


class DyingServer(Server):
    """``FakeOllama`` on 127.0.0.1 that dies in the middle of its first ``/api/chat``
    reply: it sends the first line of the stream, promises more, closes the connection
    and stops listening (a host killed mid-call)."""

    def __init__(self, fake: FakeOllama) -> None:
        super().__init__(fake)
        outer, httpd = fake, self.httpd
        base = httpd.RequestHandlerClass

        class Dying(base):  # type: ignore[misc,valid-type]
            def do_POST(self) -> None:
                if self.path != "/api/chat":
                    return super().do_POST()  # type: ignore[no-any-return]
                size = int(self.headers.get("content-length") or 0)
                outer.requests.append(("/api/chat", json.loads(self.rfile.read(size)), {}))
                first = json.dumps(say("partial")[0]) + "\n"
                self.send_response(200)
                self.send_header("content-type", "application/x-ndjson")
                self.send_header("content-length", "100000")
                self.end_headers()
                self.wfile.write(first.encode())
                self.wfile.flush()
                # stop listening before this connection ends: the retry finds no one
                httpd.shutdown()  # serve_forever runs in another thread: this returns
                httpd.socket.close()
                self.close_connection = True
                return None

        httpd.RequestHandlerClass = Dying
