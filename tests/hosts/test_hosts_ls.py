"""``loopwright hosts ls``: the pool's rows, from fake Ollama and llama-server hosts on
127.0.0.1 (the fixture ``hosts`` is the MCP tool's test's too)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.backends.models import ollama_api
from loopwright.cli import main
from loopwright.hosts import pool
from tests.hosts.fake_llama import FakeLlama, LlamaServer
from tests.hosts.poolkit import measured, ollama, refused_url, rent, write_config


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    pool.forget()
    yield
    pool.forget()
    ollama_api.close_profiles()


@pytest.fixture
def hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """gpu1 (Ollama, qwen:7b loaded, measured at 42 tok/s), llama (llama-server), vast-7
    (rented Ollama, $0.45/h) and local, which refuses connections."""
    dead = refused_url()
    with ollama(models={"qwen:7b"}, loaded={"qwen:7b"}) as (_, gpu1), ollama() as (_, vast):
        server = LlamaServer(FakeLlama(model="gemma"))
        write_config(tmp_path, monkeypatch, (
            f'[hosts.gpu1]\nkind = "ollama"\nurl = "{gpu1.url}"\nusd_per_hour = 0.8\n'
            f'[hosts.llama]\nkind = "openai"\nurl = "{server.url}"\n'
            f'[hosts.local]\nkind = "ollama"\nurl = "{dead}"\n'
        ))  # fmt: skip
        rent("vast-7", vast.url, usd=0.45, age=7200)
        measured("gpu1", "qwen:7b", 42.0, time.time() - 90)
        try:
            yield dead
        finally:
            server.stop()


def test_hosts_ls_prints_health_models_loaded_speed_cost_age_and_idle(
    hosts: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hosts", "ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head, rows = lines[0].split(), {line.split()[0]: line.split() for line in lines[1:5]}
    assert head == ["name", "kind", "source", "health", "models", "loaded", "gen", "tok/s",
                    "$/h", "age", "idle", "idle", "$"]  # fmt: skip
    assert rows["gpu1"][:6] == ["gpu1", "ollama", "config", "up", "qwen:7b", "qwen:7b"]
    assert rows["gpu1"][6:9] == ["42", "0.80", "-"] and rows["gpu1"][9] in ("1m", "2m")
    assert rows["llama"][:6] == ["llama", "openai", "config", "up", "gemma", "gemma"]
    assert rows["vast-7"][2:4] == ["rented", "up"] and rows["vast-7"][7:10] == ["0.45", "2h00m",
                                                                               "-"]  # fmt: skip
    assert lines[-1].startswith("  local is down: no connection") and hosts in lines[-1]
    # rented 2 h ago at $0.45/h, never held by a run: all of it is the pool's idle cost
    assert rows["vast-7"][10] == "$0.90" and rows["gpu1"][10] == "-"


def test_hosts_ls_json_gives_the_pools_fields_and_no_probe_asks_no_host(
    hosts: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hosts", "ls", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"local", "gpu1", "llama", "vast-7"}
    assert rows["gpu1"]["gen_tps"] == 42.0 and rows["gpu1"]["loaded"] == ["qwen:7b"]
    assert rows["local"]["healthy"] is False and hosts in rows["local"]["reason"]
    assert rows["vast-7"]["idle_cost_usd"] == pytest.approx(0.9, abs=0.01)
    assert rows["gpu1"]["idle_cost_usd"] is None  # a config host has no rental span
    assert main(["hosts", "ls", "--json", "--no-probe"]) == 0
    quiet = json.loads(capsys.readouterr().out)
    assert {r["healthy"] for r in quiet} == {None} and {len(r["models"]) for r in quiet} == {0}


def test_a_rented_host_nobody_watches_is_warned_about(
    hosts: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hosts", "ls", "--no-probe"]) == 0
    err = capsys.readouterr().err
    assert "paid instance nobody watches: vast-7 (Vast.ai instance 7" in err  # doctor's words
    assert "loopwright hosts down vast-7" in err
