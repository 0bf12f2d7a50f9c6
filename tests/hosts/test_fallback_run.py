"""A run's fallback spec: ``run --fallback SPEC``, MCP ``fallback`` and ``[run] fallback``
reach the request, and a run whose worker's host is down goes on with the fallback."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from loopwright.backends.models import ollama_api
from loopwright.cli.commands import request_from_args
from loopwright.cli.parser import build_parser
from loopwright.errors import UserError
from loopwright.hosts import pool
from loopwright.runs import runner
from loopwright.runs.defaults import with_defaults
from loopwright.runs.drive import drive
from loopwright.runs.eventlog import read_events
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore
from loopwright.server.app import build_server
from tests.hosts.poolkit import refused_url, write_config


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    pool.forget()
    yield
    pool.forget()
    ollama_api.close_profiles()


@pytest.fixture
def down_gpu1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    dead = refused_url()
    write_config(tmp_path, monkeypatch, f'[hosts.gpu1]\nkind = "ollama"\nurl = "{dead}"\n')
    return dead


def run(store: RunStore, work: Path, **given: str) -> tuple[str, list[dict[str, Any]]]:
    """A run in ``work`` whose worker is ``ollama:m@gpu1``: its state and its events."""
    request = build_request(
        "write the file", cwd=str(work), isolate=False, criteria=["done"],
        workers=["ollama:m@gpu1"], **given,
    )  # fmt: skip
    run_id = runner.create_run(store, request)

    async def go() -> None:
        with anyio.fail_after(60):
            await drive(store, run_id)

    anyio.run(go)
    page = read_events(store.paths(run_id).events, limit=1000)
    return store.read_status(run_id)["state"], [dict(e) for e in page.events]


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == kind]


def test_a_run_whose_workers_host_is_down_goes_on_with_the_fallback(
    store: RunStore, tmp_path: Path, down_gpu1: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    state, events = run(store, work, fallback="scripted")
    assert state == "completed"
    moved = of(events, "host_failover")
    assert moved and moved[0]["host"] == "gpu1" and moved[0]["to"] == "scripted"
    assert moved[0]["to_kind"] == "fallback" and down_gpu1 in moved[0]["reason"]
    assert (work / "loopwright-scripted.md").exists()


def test_without_a_fallback_the_workers_error_names_the_host_and_why(
    store: RunStore, tmp_path: Path, down_gpu1: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    state, events = run(store, work)
    assert state != "completed"
    errors = [d["error"] for d in of(events, "worker_finished") if d["status"] == "failed"]
    assert errors and "host gpu1 could not take the call (gpu1: failed" in errors[0]
    assert down_gpu1 in errors[0] and "--fallback SPEC" in errors[0]


def test_the_fallback_comes_from_the_option_the_tool_or_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    write_config(tmp_path, monkeypatch, '[run]\nfallback = "scripted"\n')
    parser = build_parser(defaultdict(lambda: print), "0")
    assert request_from_args(parser.parse_args(["run", "go"]), "go").fallback == "scripted"
    args = parser.parse_args(["run", "go", "--fallback", "ollama:m"])
    assert request_from_args(args, "go").fallback == "ollama:m"
    with pytest.raises(UserError, match="fallback: unknown backend 'nope:x'"):
        build_request("go", fallback="nope:x")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".loopwright.toml").write_text('[run]\nfallback = "cli:sh"\n')
    with pytest.raises(UserError, match=r"run\.fallback = 'cli:sh': a repository may not"):
        with_defaults(str(repo), {})

    async def over_mcp() -> Any:
        async with Client(build_server(home)) as c:
            with anyio.fail_after(30):
                r = await c.call_tool("orchestrate", {"goal": "g", "fallback": "scripted",
                                                      "detach": True})  # fmt: skip
                assert not r.is_error, r.content
                run_id = r.structured_content["run_id"]  # type: ignore[index]
                await c.call_tool("orchestrate_result", {"run_id": run_id, "wait": True})
                return run_id

    run_id = anyio.run(over_mcp)
    sent = json.loads((home / "runs" / run_id / "request.json").read_text())
    assert sent["fallback"] == "scripted"
