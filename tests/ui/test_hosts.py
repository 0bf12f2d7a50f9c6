"""The Hosts page: the pool (``hosts.pool``) with its health asked of fake Ollama hosts on
127.0.0.1 (built from Ollama's API docs, ``tests/backends/models/fake_ollama.py``) and of
addresses that refuse or never answer, prices, age and measured speed; the speeds of the
profile store (``hosts.profiles``) as a table and charts; no secret of the config anywhere;
probing bounded, shared and off the event loop."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.testclient import TestClient

from loopwright.hosts import pool
from loopwright.hosts.profiles import FILE_NAME, ProfileStore, from_model_call
from loopwright.runs.store import RunStore
from loopwright.ui import create_app, hosts
from loopwright.ui.pages.hosts import Pool
from loopwright.ui.pages.layout import clock
from loopwright.ui.serve import Served
from tests.backends.models.fake_ollama import FakeOllama
from tests.hosts.poolkit import refused_url, write_config

from .conftest import SECRET, TOKEN, u


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    pool.forget()
    yield
    pool.forget()


@pytest.fixture
def hosts_client(store: RunStore, gpu1: FakeOllama) -> Iterator[TestClient]:
    with TestClient(create_app(store, TOKEN), base_url="http://127.0.0.1") as c:
        yield c


def rows(html: str) -> dict[str, str]:
    """Each pool row's HTML by its ``kind/name``."""
    return dict(re.findall(r'<tr data-host="([^"]+)">(.*?)</tr>', html))


def test_the_hosts_page_lists_the_pool_with_prices_age_and_measured_speed_asking_no_host(
    hosts_client: TestClient, gpu1: FakeOllama
) -> None:
    page = hosts_client.get(u("hosts")).text
    found = rows(page)
    assert list(found) == ["ollama/local", "ollama/gpu1", "openai/dead", "ollama/vast-12345"]
    assert "$1.20" in found["ollama/gpu1"] and "42.00" in found["ollama/gpu1"]  # median
    assert "<td>rented</td>" in found["ollama/vast-12345"] and "$0.50" in found["ollama/vast-12345"]
    assert "<td class=num>10 m " in found["ollama/vast-12345"]  # its age
    assert all("not asked yet" in row for row in found.values())
    assert gpu1.requests == []  # the page itself waits on no host: the script asks
    assert "<polyline" in page and "qwen2.5-coder:7b@gpu1 (last 44.0 tok/s)" in page
    assert "qwen3-8b@llama (last 25.5 tok/s)" in page
    assert "42.00 / 43.60" in page  # median / p90 of the five Ollama calls
    assert "<td>ollama</td>" in page and "<td>timings</td>" in page  # where each came from
    assert "not a measurement" in page
    data = hosts_client.get(u("api/hosts")).json()
    assert data["speed"]["qwen2.5-coder:7b@gpu1"][-1] == [1_700_000_240, 44.0]
    assert [(r["model"], r["calls"]) for r in data["profiles"]] == [
        ("qwen2.5-coder:7b", 5), ("qwen3-8b", 1)]  # fmt: skip
    assert [h["name"] for h in data["hosts"]] == ["local", "gpu1", "dead", "vast-12345"]
    assert SECRET not in page and SECRET not in json.dumps(data)


def test_the_pool_table_shows_a_healthy_and_a_down_host_from_fake_servers(
    hosts_client: TestClient, gpu1: FakeOllama
) -> None:
    found = rows(hosts_client.get(u("fragments/hosts")).text)
    up, dead = found["ollama/gpu1"], found["openai/dead"]
    assert "class='health good'>up<" in up
    assert "llama3.2:3b, qwen2.5-coder:7b" in up  # present
    assert "<td class=loaded>qwen2.5-coder:7b</td>" in up  # loaded
    assert "class='health bad'>down: " in dead and "<td class=models>—</td>" in dead
    assert "class='health bad'>down: " in found["ollama/local"]
    assert {h["authorization"] for _, _, h in gpu1.requests} == {f"Bearer {SECRET}"}
    health = hosts_client.get(u("api/hosts/health")).json()
    by_name = {h["name"]: h for h in health["hosts"]}
    assert by_name["gpu1"]["healthy"] is True and by_name["gpu1"]["loaded"] == ["qwen2.5-coder:7b"]
    assert by_name["dead"]["healthy"] is False and by_name["dead"]["reason"]
    assert SECRET not in json.dumps(health)


def test_a_host_that_never_answers_is_down_after_its_timeout_and_holds_up_no_other_request(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hosts, "PROBE_TIMEOUT", 1.0)
    monkeypatch.setenv("OLLAMA_HOST", refused_url().removeprefix("http://"))
    hung, taken, done = socket.socket(), threading.Event(), threading.Event()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)
    write_config(
        tmp_path,
        monkeypatch,
        (f'[hosts.hung]\nkind = "ollama"\nurl = "http://127.0.0.1:{hung.getsockname()[1]}"\n'),
    )

    def accept() -> None:  # takes the probe's connection and never answers it
        conn, _ = hung.accept()
        taken.set()
        with conn:
            done.wait(30)

    threading.Thread(target=accept, daemon=True).start()
    answer: list[httpx.Response] = []
    probe = threading.Thread(target=lambda: answer.append(
        httpx.get(f"{served.url}fragments/hosts", timeout=20)))  # fmt: skip
    try:
        probe.start()
        assert taken.wait(10), "the probe never reached the hung host"
        other = httpx.get(f"{served.url}api/runs", timeout=5)  # while the probe waits
        assert other.status_code == 200 and probe.is_alive()
        probe.join(20)
        assert "class='health bad'>down: " in rows(answer[0].text)["ollama/hung"]
    finally:
        done.set()
        hung.close()


def test_a_probe_that_hangs_is_given_up_at_its_limit_and_says_so(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    monkeypatch.setattr(hosts, "pool_now", lambda *a: release.wait(30) and Pool([]))
    try:
        started = time.monotonic()
        found = anyio.run(hosts.PoolProbe(home, limit=0.2).status)
        assert found.error == "the pool did not answer within 0.2 s"
        assert time.monotonic() - started < 5
    finally:
        release.set()


def test_requests_arriving_during_a_probe_wait_for_it_and_share_its_answer(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, entered, release = [], threading.Event(), threading.Event()

    def slow(*args: object) -> Pool:
        calls.append(args)
        entered.set()
        release.wait(10)
        return Pool([{"name": "gpu1"}], None, True)

    monkeypatch.setattr(hosts, "pool_now", slow)
    probe, answers = hosts.PoolProbe(home), []

    async def ask() -> None:
        answers.append(await probe.status())

    async def race() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            tg.start_soon(ask)
            with anyio.fail_after(10):  # both are in: one probing, one waiting for it
                while not (entered.is_set() and probe.waiting() == 1):
                    await anyio.sleep(0.01)
            release.set()

    anyio.run(race)
    assert len(calls) == 1 and answers[0] is answers[1]
    assert anyio.run(probe.status) is answers[0]  # still fresh: not asked again


def test_a_broken_config_is_shown_not_a_server_error(
    store: RunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: TestClient
) -> None:
    write_config(tmp_path, monkeypatch, "[hosts.x\n")
    page = client.get(u("hosts"))
    assert page.status_code == 200 and "not valid TOML" in page.text
    assert "not valid TOML" in client.get(u("fragments/hosts")).text
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
