"""Fixtures of the dashboard's tests: the app over the test's store, a finished demo run,
runs and logs made directly on disk for the size tests, a pool of fake hosts on 127.0.0.1
with measured calls in the profile store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
import pytest
from starlette.testclient import TestClient

from loopwright.cli.demo import demo_request
from loopwright.hosts.profiles import FILE_NAME, ProfileStore, from_model_call
from loopwright.runs import runner
from loopwright.runs.store import RunStore
from loopwright.ui import create_app, serve_in_thread
from loopwright.ui.serve import Served
from tests.backends.models.fake_ollama import FakeOllama
from tests.hosts.poolkit import ollama, refused_url, rent, write_config

TOKEN = "test-token-0123456789abcdef"

SECRET = "sk-gpu1-very-secret-token-value"
MODELS = {"qwen2.5-coder:7b", "llama3.2:3b"}


def record_calls(home: Path) -> None:
    """Calls as the run hosts record each model_call: five on gpu1, one on llama."""
    store = ProfileStore(home / FILE_NAME)
    for i in range(5):  # Ollama's durations: 40..44 generated tokens/s
        call = {"provider": "ollama", "model": "qwen2.5-coder:7b", "host": "gpu1",
                  "input_tokens": 900, "output_tokens": 400, "latency": 12.0,
                  "profile": {"eval_duration": 10**10, "eval_count": 400, "gen_tps": 40.0 + i,
                              "prompt_eval_count": 900, "prompt_tps": 900.0,
                              "load_duration": 10**9, "num_ctx": 8192}}  # fmt: skip
        store.add_call(from_model_call(call, ts=1_700_000_000 + 60 * i))
    llama = {"provider": "openai", "model": "qwen3-8b", "endpoint": "llama", "latency": 3.0,
             "input_tokens": 50, "output_tokens": 100,
             "timings": {"predicted_per_second": 25.5, "prompt_per_second": 300.0}}  # fmt: skip
    store.add_call(from_model_call(llama, ts=1_700_000_100))
    store.close()


@pytest.fixture
def gpu1(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOllama]:
    """The pool: gpu1, an Ollama on 127.0.0.1 holding one of its two models loaded (it wants
    a bearer token); dead, a llama-server address that refuses; local, refused too; and
    vast-12345, rented ten minutes ago, behind an address that refuses."""
    with ollama(models=set(MODELS), loaded={"qwen2.5-coder:7b"}) as (fake, server):
        write_config(tmp_path, monkeypatch, (
            f'[hosts.gpu1]\nkind = "ollama"\nurl = "{server.url}"\ntoken_env = "GPU1_TOKEN"\n'
            f'usd_per_hour = 1.2\n[hosts.dead]\nkind = "openai"\nurl = "{refused_url()}/v1"\n'
        ))  # fmt: skip
        monkeypatch.setenv("GPU1_TOKEN", SECRET)
        monkeypatch.setenv("OLLAMA_HOST", refused_url().removeprefix("http://"))
        rent("vast-12345", refused_url(), usd=0.5, age=600.0)
        record_calls(home)
        yield fake


def u(path: str = "") -> str:
    """A dashboard URL with the token."""
    return f"/{TOKEN}/{path}"


@pytest.fixture
def client(store: RunStore) -> Iterator[TestClient]:
    with TestClient(create_app(store, TOKEN), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def served(store: RunStore) -> Iterator[Served]:
    """The dashboard over the test's store, served by uvicorn on 127.0.0.1."""
    s = serve_in_thread(store)
    yield s
    s.stop()


@pytest.fixture
def demo_run(store: RunStore) -> str:
    """The README's demo, run to its end: two iterations, two checkpoints."""
    run_id = runner.start(store, demo_request(store))
    status = runner.wait(store, run_id, timeout=60)
    assert status["state"] == "completed", status
    return run_id


def make_run(store: RunStore, run_id: str, state: str = "completed", **status: Any) -> Path:
    """A run dir made directly (request, status), in ``state``; returns its events path."""
    p = store.create(run_id, {"loop": {"goal": f"goal of {run_id}", "cwd": "/repo/a"}})
    st = store.read_status(run_id)
    st.update(status)  # type: ignore[typeddict-item]
    store.set_state(run_id, st, state)  # type: ignore[arg-type]
    return p.events


def write_events(path: Path, events: list[tuple[str, int, dict[str, Any]]], seq: int = 0) -> None:
    """Append records as the event log writes them (one JSON object a line)."""
    with open(path, "ab") as f:
        for i, (kind, iteration, data) in enumerate(events, seq):
            record = {"seq": i, "ts": time.time(), "run_id": "x", "type": kind,
                      "iteration": iteration, "data": data}  # fmt: skip
            f.write(orjson.dumps(record) + b"\n")


def raw_get(app: Any, target: str) -> tuple[int, bytes]:
    """GET ``target`` exactly as sent (no client normalising ``..``), decoded into the ASGI
    scope as uvicorn does; returns the status and body."""
    import anyio

    raw, _, query = target.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": unquote(raw), "raw_path": raw.encode(), "root_path": "",
        "query_string": query.encode(), "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(sent[0]["status"]), body
