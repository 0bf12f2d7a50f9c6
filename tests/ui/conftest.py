"""Fixtures of the dashboard's tests: the app over the test's store, a finished demo run,
runs and logs made directly on disk for the size tests."""

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
from loopwright.runs import runner
from loopwright.runs.store import RunStore
from loopwright.ui import create_app, serve_in_thread
from loopwright.ui.serve import Served

TOKEN = "test-token-0123456789abcdef"


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
