"""A pattern run's fallback spec (consult, delegate, debate), as a run's: ``--fallback
SPEC`` on the commands, ``fallback`` on the MCP tools, ``[run] fallback`` of the config
files as the default; a participant whose host is down answers through the fallback, and
the move is a ``host_failover`` event in the pattern run's log."""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from loopwright.backends.models import ollama_api
from loopwright.cli.parser import build_parser
from loopwright.cli.patterns_cmd import _line, request_from_args
from loopwright.errors import UserError
from loopwright.hosts import pool
from loopwright.runs import runner
from loopwright.runs.drive import drive
from loopwright.runs.eventlog import read_events
from loopwright.runs.pattern_request import build_pattern_request
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


def consult(store: RunStore, **given: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A consult asking ``ollama:m@gpu1`` and ``scripted``: its result and its events."""
    request = build_pattern_request(
        "consult", "which is better?", models=["ollama:m@gpu1", "scripted"], **given
    )
    run_id = runner.create_run(store, request)

    async def go() -> None:
        with anyio.fail_after(60):
            await drive(store, run_id)

    anyio.run(go)
    page = read_events(store.paths(run_id).events, limit=1000)
    return store.read_result(run_id) or {}, [dict(e) for e in page.events]


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == kind]


def test_a_consult_whose_models_host_is_down_answers_through_the_fallback(
    store: RunStore, down_gpu1: str
) -> None:
    result, events = consult(store, fallback="scripted")
    assert result["state"] == "completed"
    (moved,) = of(events, "host_failover")
    assert (moved["host"], moved["to"], moved["to_kind"]) == ("gpu1", "scripted", "fallback")
    assert moved["spec"] == "ollama:m@gpu1" and down_gpu1 in moved["reason"]
    answers = [x for x in of(events, "exchange") if x["step"] == "answer"]
    assert [(x["spec"], x["ok"]) for x in answers if x["participant"] == 1] == [
        ("ollama:m@gpu1", True)
    ]
    shown = _line("host_failover", moved)
    assert shown is not None and shown.startswith("host gpu1 could not take the call (")
    assert shown.endswith("; it goes to scripted")


def test_without_a_fallback_the_down_hosts_answer_fails_naming_the_host(
    store: RunStore, down_gpu1: str
) -> None:
    _, events = consult(store)
    (first,) = [x for x in of(events, "exchange") if x["participant"] == 1]
    assert not first["ok"] and "host gpu1 could not take the call" in first["error"]
    assert "--fallback SPEC" in first["error"]


def noop(args: argparse.Namespace) -> int:
    return 0


def test_the_pattern_fallback_comes_from_the_option_the_tool_or_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    write_config(tmp_path, monkeypatch, '[run]\nfallback = "scripted"\n')
    parser = build_parser(defaultdict(lambda: noop), "0")

    def fallback(pattern: Any, *argv: str) -> str | None:
        return request_from_args(pattern, parser.parse_args([pattern, *argv])).fallback  # type: ignore[no-any-return]

    assert fallback("consult", "q", "--models", "ollama:m") == "scripted"
    assert fallback("delegate", "scripted", "t", "--fallback", "ollama:m") == "ollama:m"
    assert (
        fallback("debate", "q", "--models", "scripted,scripted", "--fallback", "ollama:m")
        == "ollama:m"
    )
    with pytest.raises(UserError, match="fallback: unknown backend 'nope:x'"):
        fallback("consult", "q", "--models", "scripted", "--fallback", "nope:x")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".loopwright.toml").write_text('[run]\nfallback = "cli:sh"\n')
    with pytest.raises(UserError, match=r"run\.fallback = 'cli:sh': a repository may not"):
        fallback("consult", "q", "--models", "scripted", "--cwd", str(repo))

    async def over_mcp() -> list[str]:
        started = []
        async with Client(build_server(home)) as c:
            with anyio.fail_after(30):
                for tool, args in (
                    ("debate", {"question": "q", "models": ["scripted", "scripted"],
                                "fallback": "ollama:m"}),
                    ("consult", {"question": "q", "models": ["scripted"]}),
                ):  # fmt: skip
                    r = await c.call_tool(tool, {**args, "detach": True, "preflight": False})
                    assert not r.is_error, r.content
                    run_id = r.structured_content["run_id"]
                    await c.call_tool("orchestrate_result", {"run_id": run_id, "wait": True})
                    started.append(run_id)
        return started

    sent = [
        json.loads((home / "runs" / r / "request.json").read_text()) for r in anyio.run(over_mcp)
    ]
    assert [s["fallback"] for s in sent] == ["ollama:m", "scripted"]
