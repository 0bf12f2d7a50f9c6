"""The Hosts page: configured Ollama hosts, their health asked of a fake Ollama (built
from Ollama's API docs: /api/version, /api/tags, /api/ps), measured speeds from the
profile store (``hosts.profiles``), and no secret of the config anywhere."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from loopwright.hosts.profiles import FILE_NAME, ProfileStore, from_model_call
from loopwright.runs.store import RunStore
from loopwright.ui import create_app
from loopwright.ui.pages.layout import clock

from .conftest import TOKEN, u

SECRET = "sk-gpu1-very-secret-token-value"


def fake_ollama(request: httpx.Request) -> httpx.Response:
    """gpu1 answers like an Ollama 0.5 server with one model loaded; local is down."""
    if request.url.port == 11434:
        raise httpx.ConnectError("connection refused", request=request)
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    model = {"name": "qwen2.5-coder:7b", "model": "qwen2.5-coder:7b", "size": 4_683_087_332,
             "digest": "2b0496514337", "details": {"family": "qwen2", "parameter_size": "7.6B",
                                                   "quantization_level": "Q4_K_M"}}  # fmt: skip
    answers = {
        "/api/version": {"version": "0.5.1"},
        "/api/tags": {"models": [model, {**model, "name": "llama3.2:3b"}]},
        "/api/ps": {"models": [{**model, "expires_at": "2026-01-01T00:00:00Z",
                                "size_vram": 4_683_087_332}]},
    }  # fmt: skip
    return httpx.Response(200, json=answers[request.url.path])


@pytest.fixture
def configured(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "loopwright.toml"
    config.write_text(
        '[ollama.hosts.gpu1]\nurl = "http://127.0.0.1:9999"\ntoken_env = "GPU1_TOKEN"\n'
        "usd_per_hour = 1.2\n"
    )
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(config))
    monkeypatch.setenv("GPU1_TOKEN", SECRET)
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:11434")
    store = ProfileStore(home / FILE_NAME)  # as the run hosts record each model_call
    for i in range(5):  # Ollama's durations: 40..44 generated tokens/s
        ollama = {"provider": "ollama", "model": "qwen2.5-coder:7b", "host": "gpu1",
                  "input_tokens": 900, "output_tokens": 400, "latency": 12.0,
                  "profile": {"eval_duration": 10**10, "eval_count": 400, "gen_tps": 40.0 + i,
                              "prompt_eval_count": 900, "prompt_tps": 900.0,
                              "load_duration": 10**9, "num_ctx": 8192}}  # fmt: skip
        store.add_call(from_model_call(ollama, ts=1_700_000_000 + 60 * i))
    llama = {"provider": "openai", "model": "qwen3-8b", "endpoint": "llama", "latency": 3.0,
             "input_tokens": 50, "output_tokens": 100,
             "timings": {"predicted_per_second": 25.5, "prompt_per_second": 300.0}}  # fmt: skip
    store.add_call(from_model_call(llama, ts=1_700_000_100))
    store.close()


@pytest.fixture
def hosts_client(store: RunStore, configured: None) -> Iterator[TestClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake_ollama))
    with TestClient(create_app(store, TOKEN, http=http), base_url="http://127.0.0.1") as c:
        yield c


def test_the_hosts_page_shows_configured_hosts_prices_and_measured_speeds(
    hosts_client: TestClient,
) -> None:
    page = hosts_client.get(u("hosts")).text
    assert 'data-host="gpu1"' in page and 'data-host="local"' in page
    assert "$1.20" in page and "bearer" in page
    assert "<polyline" in page and "qwen2.5-coder:7b@gpu1 (last 44.0 tok/s)" in page
    assert "qwen3-8b@llama (last 25.5 tok/s)" in page
    assert "42.00 / 43.60" in page  # median / p90 of the five Ollama calls
    assert "<td>ollama</td>" in page and "<td>timings</td>" in page  # where each came from
    assert "no host pool yet" in page and "not a measurement" in page
    data = hosts_client.get(u("api/hosts")).json()
    assert data["speed"]["qwen2.5-coder:7b@gpu1"][-1] == [1_700_000_240, 44.0]
    assert [(r["model"], r["calls"]) for r in data["profiles"]] == [
        ("qwen2.5-coder:7b", 5), ("qwen3-8b", 1)]  # fmt: skip
    assert SECRET not in page and SECRET not in json.dumps(data)


def test_host_health_and_loaded_models_are_asked_of_each_host(hosts_client: TestClient) -> None:
    health = hosts_client.get(u("api/hosts/health")).json()
    gpu1, local = health["hosts"]["gpu1"], health["hosts"]["local"]
    assert gpu1 == {"ok": True, "version": "0.5.1", "models": ["qwen2.5-coder:7b", "llama3.2:3b"],
                    "loaded": ["qwen2.5-coder:7b"], "error": None}  # fmt: skip
    assert local["ok"] is False and "not reachable" in local["error"]
    assert SECRET not in json.dumps(health)


def test_a_broken_config_is_shown_not_a_server_error(
    store: RunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: TestClient
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[ollama.hosts.x\n")
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(config))
    page = client.get(u("hosts"))
    assert page.status_code == 200 and "not valid TOML" in page.text
    assert client.get(u("api/hosts/health")).json()["error"]
    assert "no profile store yet" in page.text


def test_the_charts_draw_each_measured_speed_of_each_model_at_each_host_over_time(
    hosts_client: TestClient,
) -> None:
    page = hosts_client.get(u("hosts")).text
    charts = dict(re.findall(r'<svg class=chart[^>]* aria-label="([^"]*)">(.*?)</svg>', page))
    gen = charts["generated tokens/s per model@host over time"]
    prompt = charts["prompt tokens/s per model@host over time"]
    dots = re.findall(r"<title>([^<]*): ([\d.,]+) tok/s at ([^<]*)</title>", gen)
    assert [(name, v) for name, v, _ in dots] == [
        *[("qwen2.5-coder:7b@gpu1", f"{40 + i}.0") for i in range(5)],
        ("qwen3-8b@llama", "25.5"),
    ]
    assert dots[0][2] == clock(1_700_000_000) and dots[-1][2] == clock(1_700_000_100)
    prompt_dots = re.findall(r"<title>([^<]*): ([\d.,]+) tok/s at", prompt)
    assert prompt_dots == [("qwen2.5-coder:7b@gpu1", "900.0")] * 5 + [("qwen3-8b@llama", "300.0")]
    data = hosts_client.get(u("api/hosts")).json()
    assert data["prompt_speed"]["qwen3-8b@llama"] == [[1_700_000_100, 300.0]]


def test_without_a_profile_store_the_page_says_so_and_creates_none(
    home: Path, client: TestClient
) -> None:
    page = client.get(u("hosts")).text
    assert "no profile store yet" in page and str(home / FILE_NAME) in page
    assert "<svg class=chart" not in page
    assert not (home / FILE_NAME).exists()


def test_an_empty_profile_store_says_no_call_was_recorded(home: Path, client: TestClient) -> None:
    store = ProfileStore(home / FILE_NAME)
    store.add_outcomes([])  # opens it: the file and its tables exist, no call in them
    store.close()
    page = client.get(u("hosts")).text
    assert "no model calls recorded yet" in page and "<svg class=chart" not in page
    assert client.get(u("api/hosts")).json()["speed"] == {}


def test_a_server_that_reports_only_token_counts_has_no_prompt_speed_to_draw(
    home: Path, client: TestClient
) -> None:
    store = ProfileStore(home / FILE_NAME)
    usage = {"provider": "anthropic", "model": "claude-x", "latency": 4.0, "first_token": 2.0,
             "input_tokens": 1000, "output_tokens": 100}  # fmt: skip
    store.add_call(from_model_call(usage, ts=1_700_000_000))
    store.close()
    page = client.get(u("hosts")).text
    assert "claude-x@anthropic: 50.0 tok/s" in page  # 100 tokens in the 2 s after the first
    assert "no prompt speed measured yet" in page
