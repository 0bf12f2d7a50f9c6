"""Specs that name a host of the pool (``@NAME``) or let it choose (``@pool``), and what a
call does when its host fails: the next host that has the model, then the fallback spec,
each move a ``host_failover`` event; with nothing left, an error naming each host and why.
Fake Ollama and llama-server hosts on 127.0.0.1; a host is killed by stopping its server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.backends.models import ollama_api
from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.chat import RetryPolicy
from loopwright.backends.models.ollama import OllamaChat
from loopwright.backends.registry import check_spec, create_backend
from loopwright.backends.settings import as_ollama_host
from loopwright.hosts import pool
from loopwright.hosts.rented import last_used
from tests.backends.models.fake_ollama import FakeOllama, Server, say
from tests.backends.models.fakes import Sleeps, request
from tests.hosts.fake_llama import FakeLlama, LlamaServer
from tests.hosts.poolkit import DyingServer, measured, ollama, refused_url, rent, write_config


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    pool.forget()
    yield
    pool.forget()
    ollama_api._FACTS.clear()
    ollama_api.close_profiles()


def chats(fake: FakeOllama) -> int:
    return len(fake.bodies("/api/chat"))


def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **hosts: tuple[str, float]) -> None:
    """``[hosts.NAME]`` of kind ollama for each ``NAME=(url, usd_per_hour)``."""
    text = "".join(
        f'[hosts.{n}]\nkind = "ollama"\nurl = "{u}"\nusd_per_hour = {usd}\n'
        for n, (u, usd) in hosts.items()
    )
    write_config(
        tmp_path, monkeypatch, text + f'[hosts.local]\nkind = "ollama"\nurl = "{refused_url()}"\n'
    )


async def test_at_name_reaches_a_config_host_a_rented_host_and_an_openai_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ollama(chats=[say("from gpu1")]) as (a, gpu1), ollama(chats=[say("rented")]) as (b, vast):
        server = LlamaServer(FakeLlama(model="gemma", reply="from llama"))
        try:
            write_config(tmp_path, monkeypatch, (
                f'[hosts.gpu1]\nkind = "ollama"\nurl = "{gpu1.url}"\n'
                f'[hosts.llama]\nkind = "openai"\nurl = "{server.url}"\n'
            ))  # fmt: skip
            rent("vast-7", vast.url)
            assert check_spec("ollama:m@vast-7", "worker") == "ollama:m@vast-7"
            req, events, _ = request("review")
            got = [await create_backend(s).run(req) for s in
                   ("ollama:m@gpu1", "ollama:m@vast-7", "openai:gemma@llama")]  # fmt: skip
        finally:
            server.stop()
    assert [r.text for r in got] == ["from gpu1", "rented", "from llama"]
    assert chats(a) == 1 and chats(b) == 1
    assert all(h.get("authorization") == "Bearer rented-token-abcdef"
               for p, _, h in b.requests if p == "/api/chat")  # fmt: skip
    assert last_used("vast-7") is not None  # the keeper's idle clock sees the call
    assert [e["host"] for e in events.of("model_call")] == ["gpu1", "vast-7", "llama"]
    assert events.of("host_failover") == []


async def test_at_pool_takes_loaded_hosts_first_then_the_fastest_then_the_cheapest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        ollama(loaded=set(), chats=[say("a")]) as (fa, a),  # not loaded, though fastest
        ollama(loaded={"m"}, chats=[say("b")]) as (fb, b),  # loaded, slow
        ollama(loaded={"m"}, chats=[say("c")]) as (fc, c),  # loaded, fast, dear
        ollama(loaded={"m"}, chats=[say("d")]) as (fd, d),  # loaded, fast, cheap
        ollama(models={"other"}, loaded={"other"}) as (_, e),  # no m
    ):
        config(tmp_path, monkeypatch, a=(a.url, 0.1), b=(b.url, 0.1), c=(c.url, 2.0),
               d=(d.url, 0.5), e=(e.url, 0.0), gone=(refused_url(), 0.0))  # fmt: skip
        for host, tps in (("a", 200.0), ("b", 20.0), ("c", 50.0), ("d", 50.0)):
            measured(host, "m", tps)
        measured("b", "other", 500.0)  # another model's speed does not count
        order, why = await pool.choose("ollama", "m")
        req, events, _ = request("review")
        r = await create_backend("ollama:m@pool").run(req)
    assert [h.name for h in order] == ["d", "c", "b", "a"]
    assert why["e"] == "does not have m" and why["gone"].startswith("down: no connection")
    assert why["local"].startswith("down: no connection")
    assert r.ok and r.text == "d" and [chats(f) for f in (fa, fb, fc, fd)] == [0, 0, 0, 1]
    assert events.of("model_call")[0]["host"] == "d"


async def test_a_host_killed_mid_run_is_marked_down_and_the_call_goes_to_the_next_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ollama(loaded={"m"}, chats=[say("c")]) as (fc, c):
        fd = FakeOllama(loaded={"m"}, chats=[say("d")])
        d = Server(fd)
        config(tmp_path, monkeypatch, c=(c.url, 2.0), d=(d.url, 0.5))
        measured("c", "m", 10.0)
        measured("d", "m", 10.0)  # both measured: d, cheaper, goes first
        backend = create_backend("ollama:m@pool")
        first = await backend.run(request("review")[0])
        d.stop()  # the host dies between two calls of the run
        req, events, _ = request("review")
        events.charges_holds = True  # type: ignore[attr-defined]  # a run's sink does
        second = await backend.run(req)
        status = {s.name: s for s in await pool.pool_status()}
    assert (first.text, second.text, second.ok) == ("d", "c", True)
    (moved,) = events.of("host_failover")
    assert moved["host"] == "d" and moved["to"] == "c" and moved["to_kind"] == "host"
    assert moved["spec"] == "ollama:m@pool" and "not reachable" in moved["reason"]
    assert [e["host"] for e in events.of("model_call")] == ["c"]
    assert status["d"].healthy is False and status["d"].reason.startswith("marked down")
    assert chats(fc) == 1
    # the run (which charges holds) stops paying for the priced host it left
    assert [e["host"] for e in events.of("host_held")] == ["d", "c"]
    assert events.of("host_released") == [{"host": "d"}]


async def test_a_host_that_dies_in_the_middle_of_a_call_hands_the_call_to_the_next_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ollama(loaded={"m"}, chats=[say("from c")]) as (fc, c):
        fd = FakeOllama(loaded={"m"})
        d = DyingServer(fd)
        try:
            config(tmp_path, monkeypatch, c=(c.url, 2.0), d=(d.url, 0.5))
            req, events, _ = request("review")
            r = await create_backend("ollama:m@pool").run(req)
        finally:
            d.stop()
    assert r.ok and r.text == "from c" and chats(fd) == 1 and chats(fc) == 1
    (moved,) = events.of("host_failover")
    assert (moved["host"], moved["to"]) == ("d", "c") and "not reachable" in moved["reason"]
    (retry,) = events.of("warning")  # the dropped stream was retried once, then refused
    assert "retry 1" in retry["message"]


async def test_a_host_that_keeps_answering_5xx_after_the_retries_is_down_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ollama(loaded={"m"}, chat_status=503) as (_, sick):
        config(tmp_path, monkeypatch, sick=(sick.url, 0.0))
        host = as_ollama_host(pool.find_host("sick", "ollama"))
        sleeps = Sleeps()
        chat = ChatBackend("ollama:m@sick", lambda c, e: OllamaChat(
            c, host, "m", retry=RetryPolicy(sleep=sleeps)), host="sick")  # fmt: skip
        r = await chat.run(request("review")[0])
    assert not r.ok and r.host_down is not None and "503" in r.host_down
    assert "gave up after 4 attempts" in r.host_down and len(sleeps.delays) == 3


async def test_with_no_host_left_the_call_goes_to_the_fallback_spec_with_the_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fd = FakeOllama(loaded={"m"}, chats=[say("d")])
    d = Server(fd)
    config(tmp_path, monkeypatch, d=(d.url, 0.5))
    pooled = create_backend("ollama:m@pool", fallback="scripted")
    pinned = create_backend("ollama:m@d", fallback="scripted")
    assert (await pooled.run(request("review")[0])).text == "d"
    d.stop()
    req, events, _ = request("review")
    via_pool = await pooled.run(req)
    via_name = await pinned.run(req)
    assert via_pool.ok and via_name.ok
    first, second = events.of("host_failover")
    assert (first["host"], first["to"], first["to_kind"]) == ("d", "scripted", "fallback")
    assert "not reachable" in first["reason"]
    # d is marked down now: the pinned spec goes to its fallback without calling it again
    assert (second["host"], second["to"], second["spec"]) == ("d", "scripted", "ollama:m@d")
    assert second["reason"].startswith("d: marked down")


async def test_with_no_fallback_the_error_names_each_host_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = refused_url()
    with ollama(models={"other"}) as (_, e):
        config(tmp_path, monkeypatch, gpu1=(dead, 0.0), e=(e.url, 0.0))
        req, events, _ = request("review")
        pinned = await create_backend("ollama:m@gpu1").run(req)
        pooled = await create_backend("ollama:m@pool").run(req)
        again = await create_backend("ollama:m@gpu1").run(req)
    assert not pinned.ok and pinned.error is not None
    assert pinned.error.startswith("ollama:m@gpu1: host gpu1 could not take the call (gpu1: failed")
    assert dead in pinned.error and "give a fallback spec (run --fallback SPEC" in pinned.error
    assert again.error == pinned.error  # with nowhere else to go, a named host is tried again
    assert not pooled.ok and pooled.error is not None
    assert "no ollama host of the pool could take the call" in pooled.error
    assert "gpu1: marked down" in pooled.error and "e: does not have m" in pooled.error
    # each time the named host failed, the log says so, with nowhere to go
    assert [(e["host"], e["to"]) for e in events.of("host_failover")] == [("gpu1", None)] * 2


async def test_openai_at_pool_picks_a_server_that_serves_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gemma, qwen = FakeLlama(model="gemma", reply="gemma here"), FakeLlama(model="qwen")
    servers = [LlamaServer(gemma), LlamaServer(qwen)]
    try:
        write_config(tmp_path, monkeypatch, "".join(
            f'[hosts.{n}]\nkind = "openai"\nurl = "{s.url}/v1"\n'
            for n, s in zip(("a", "b"), reversed(servers), strict=True)
        ))  # fmt: skip
        assert check_spec("openai:gemma@pool", "worker") == "openai:gemma@pool"
        req, events, _ = request("review")
        r = await create_backend("openai:gemma@pool").run(req)
    finally:
        for s in servers:
            s.stop()
    assert r.ok and r.text == "gemma here"
    assert [p for m, p, _ in qwen.requests if m == "POST"] == []
    assert events.of("model_call")[0]["host"] == "b"
