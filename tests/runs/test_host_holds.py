"""Runs on a host priced by the hour (a fake Ollama on 127.0.0.1 with ``usd_per_hour``)
pay for holding it, in the same budget as API tokens, and never per call as well."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loopwright.runs import runner
from loopwright.runs.git.scratch import make_scratch_repo
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..backends.models.fake_ollama import FakeOllama, Server, say
from ..cli.test_cost_cmd import cli
from ..helpers import events_of

GATE_LIMIT = 30.0
"""Seconds a gated chat waits for the test to let it answer, at most."""


class SlowOllama(FakeOllama):
    """Answers ``/api/chat`` only once ``gate`` is set: a host too slow to finish a call."""

    def __init__(self) -> None:
        super().__init__(chats=[say("done")])
        self.gate = threading.Event()

    def respond(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, str]:
        if path == "/api/chat":
            self.gate.wait(GATE_LIMIT)
        return super().respond(path, body, headers)


def priced_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, rate: float) -> None:
    cfg = tmp_path / "loopwright.toml"
    cfg.write_text(f'[ollama.hosts.gpu]\nurl = "{url}"\nusd_per_hour = {rate}\n')
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(cfg))


@pytest.fixture
def slow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowOllama]:
    fake = SlowOllama()
    server = Server(fake)
    priced_host(tmp_path, monkeypatch, server.url, 3600.0)  # $1 a second
    yield fake
    fake.gate.set()
    server.stop()


def test_a_run_waiting_on_a_priced_host_is_stopped_by_its_cost_budget(
    store: RunStore, tmp_path: Path, slow: SlowOllama
) -> None:
    request = build_request(
        "say done", workers=["ollama:m@gpu"], cwd=str(make_scratch_repo(tmp_path / "repo")),
        budget={"max_cost_usd": 0.5, "max_seconds": 60},
    )  # fmt: skip
    run = runner.start_thread(store, request)
    assert run.wait(GATE_LIMIT)["state"] == "stopped"
    result = store.read_result(run.run_id)
    assert result is not None and result["stop_reason"].startswith("budget: max_cost_usd=0.5")
    events = events_of(store.paths(run.run_id).events)
    assert [e["data"]["limit"] for e in events if e["type"] == "budget_exhausted"] == [
        "max_cost_usd"
    ]
    [held] = [e["data"] for e in events if e["type"] == "host_held"]
    [released] = [e["data"] for e in events if e["type"] == "host_released"]
    assert held == {"host": "gpu", "usd_per_hour": 3600.0}
    assert 0.5 <= released["cost_usd"] < 5 and result["usage"]["host_cost_usd"] >= 0.5
    assert result["duration"] < 10  # it did not wait for max_seconds


def test_calls_to_a_held_host_cost_nothing_by_their_duration_and_cost_shows_the_hold(
    store: RunStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = FakeOllama(chats=[say("done")])  # each call says it took 2 s (total_duration)
    server = Server(fake)
    try:
        priced_host(tmp_path, monkeypatch, server.url, 36.0)
        request = build_request(
            "say done", workers=["ollama:m@gpu"], cwd=str(make_scratch_repo(tmp_path / "repo")),
            budget={"max_iterations": 1},
        )  # fmt: skip
        run = runner.start_thread(store, request)
        assert run.wait(GATE_LIMIT)["state"] in ("completed", "stopped")
    finally:
        server.stop()
    result = store.read_result(run.run_id)
    assert result is not None
    events = events_of(store.paths(run.run_id).events)
    calls = [e["data"] for e in events if e["type"] == "model_call"]
    assert calls and all(c["cost_usd"] == 0 for c in calls)  # not 36 $/h x 2 s on top
    [released] = [e["data"] for e in events if e["type"] == "host_released"]
    usage = result["usage"]
    assert usage["cost_usd"] == pytest.approx(usage["host_cost_usd"], abs=1e-9)
    assert usage["host_cost_usd"] == pytest.approx(released["cost_usd"], abs=1e-5)
    report = json.loads(cli(capsys, "cost", run.run_id, "--json"))
    [row] = report["runs"]
    assert row["run_id"] == run.run_id and row["api_cost_usd"] == pytest.approx(0, abs=1e-9)
    assert row["host_cost_usd"] == pytest.approx(usage["host_cost_usd"], abs=1e-5)
    [hold] = row["holds"]
    assert hold["host"] == "gpu" and not hold["open"]
    [host] = report["hosts"]
    assert (host["name"], host["source"], host["runs"]) == ("gpu", "config", 1)
    assert report["pool"] is None  # one run's view: the pool's idle time is no run's
