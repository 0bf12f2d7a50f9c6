"""The pool: config hosts of every table and running rented hosts in one list, each with
its health asked of fake Ollama and llama-server hosts on 127.0.0.1, models present and
loaded, measured speed, $/h, age and idle time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from loopwright.backends.models import ollama_api
from loopwright.errors import UserError
from loopwright.hosts import pool
from loopwright.hosts.health import probe_all
from loopwright.hosts.named import configured_hosts
from tests.hosts.fake_llama import FakeLlama, LlamaServer
from tests.hosts.poolkit import measured, ollama, refused_url, rent, silent_url, write_config


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    pool.forget()
    yield
    pool.forget()
    ollama_api.close_profiles()


def status(probe: bool = True) -> dict[str, pool.HostStatus]:
    return {s.name: s for s in anyio.run(lambda: pool.pool_status(probe, timeout=2.0))}


def test_hosts_of_every_config_table_and_running_rented_ones_form_one_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GPU1_TOKEN", "gpu1-secret-token")
    write_config(tmp_path, monkeypatch, (
        '[hosts.gpu1]\nkind = "ollama"\nurl = "http://gpu1.test:11434/"\n'
        'token_env = "GPU1_TOKEN"\nusd_per_hour = 0.8\n'
        '[hosts.llama]\nkind = "openai"\nurl = "http://llama.test:8080/v1"\n'
        '[ollama.hosts.old]\nurl = "http://old.test:11434"\n'
        '[openai.endpoints.vllm]\nbase_url = "http://vllm.test:8000/v1"\n'
    ))  # fmt: skip
    rent("vast-7", "http://203.0.113.7:41234")
    rent("vast-8", "http://203.0.113.8:41234", state="destroyed")
    rent("vast-9", "http://203.0.113.9:41234", state="loading")
    hosts = {(h.kind, h.name): h for h in pool.pool_hosts()}
    assert [name for _, name in hosts] == ["local", "old", "vllm", "gpu1", "llama", "vast-7"]
    assert [kind for kind, _ in hosts] == ["ollama", "ollama", "openai", "ollama", "openai",
                                           "ollama"]  # fmt: skip
    gpu1 = hosts[("ollama", "gpu1")]
    assert gpu1.headers == {"Authorization": "Bearer gpu1-secret-token"}
    assert gpu1.usd_per_hour == 0.8 and gpu1.url == "http://gpu1.test:11434"
    assert "gpu1-secret-token" not in repr(gpu1)
    llama = hosts[("openai", "llama")]
    assert llama.url == "http://llama.test:8080" and llama.api_url == "http://llama.test:8080/v1"
    assert hosts[("openai", "vllm")].api_url == "http://vllm.test:8000/v1"
    vast = hosts[("ollama", "vast-7")]
    assert vast.source == "rented" and vast.headers["Authorization"].startswith("Bearer ")
    assert pool.find_host("vast-7", "ollama") == vast
    with pytest.raises(UserError, match="no Ollama host named 'vast-8'; known: local, old, gpu1"):
        pool.find_host("vast-8", "ollama")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[hosts.x]\nkind = "tgi"\nurl = "http://x"\n', 'hosts.x.kind = \'tgi\': give "ollama"'),
        ('[hosts.x]\nkind = "ollama"\nurl = "x:1"\n', "url must start with http"),
        ('[hosts.pool]\nkind = "ollama"\nurl = "http://x"\n', "'pool' is a reserved name"),
        ('[hosts.openai]\nkind = "openai"\nurl = "http://x"\n', "'openai' is a reserved name"),
        ('[hosts.x]\nkind = "ollama"\nurl = "http://x"\n[ollama.hosts.x]\nurl = "http://y"\n',
         "[hosts.x] and [ollama.hosts.x] name the same ollama host"),
        ('[hosts.x]\nkind = "ollama"\nurll = "http://x"\n', "did you mean hosts.x.url?"),
    ],
)  # fmt: skip
def test_a_bad_hosts_table_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, message: str
) -> None:
    write_config(tmp_path, monkeypatch, table)
    with pytest.raises(UserError) as caught:
        configured_hosts()
    assert message in str(caught.value)


def test_ls_shows_health_models_loaded_speed_cost_age_and_idle_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        ollama(models={"qwen:7b", "llama3.2:3b"}, loaded={"qwen:7b"}) as (_, gpu1),
        ollama(models={"qwen:7b"}) as (vast_fake, vast),
    ):
        llama_server = LlamaServer(FakeLlama(model="gemma"))
        try:
            write_config(tmp_path, monkeypatch, (
                f'[hosts.gpu1]\nkind = "ollama"\nurl = "{gpu1.url}"\nusd_per_hour = 0.8\n'
                f'[hosts.llama]\nkind = "openai"\nurl = "{llama_server.url}"\n'
                f'[hosts.local]\nkind = "ollama"\nurl = "{refused_url()}"\n'
            ))  # fmt: skip
            rent("vast-7", vast.url, usd=0.45, age=3600)
            measured("gpu1", "qwen:7b", 40.0, time.time() - 120)
            measured("gpu1", "qwen:7b", 60.0, time.time() - 60)
            measured("gpu1", "llama3.2:3b", 90.0, time.time() - 300)
            found = status()
        finally:
            llama_server.stop()
    g = found["gpu1"]
    assert (g.healthy, g.models, g.loaded) == (True, ["llama3.2:3b", "qwen:7b"], ["qwen:7b"])
    assert g.gen_tps == 60.0 and g.usd_per_hour == 0.8 and g.source == "config"
    assert g.age_s is None and g.idle_s is not None and 55 <= g.idle_s <= 120
    v = found["vast-7"]
    assert (v.healthy, v.models, v.loaded, v.source) == (True, ["qwen:7b"], [], "rented")
    assert v.age_s is not None and 3590 <= v.age_s <= 3700 and v.idle_s is None
    assert v.gen_tps is None and v.usd_per_hour == 0.45
    assert all(h["authorization"] == "Bearer rented-token-abcdef" for *_, h in vast_fake.requests)
    assert {p for p, *_ in vast_fake.requests} == {"/api/version", "/api/ps", "/api/tags"}
    ll = found["llama"]
    assert (ll.healthy, ll.kind, ll.models, ll.loaded) == (True, "openai", ["gemma"], ["gemma"])
    assert set(g.as_dict()) == {"name", "kind", "url", "source", "healthy", "reason", "models",
                                "loaded", "gen_tps", "usd_per_hour", "age_s", "idle_s",
                                "idle_cost_usd"}  # fmt: skip


def test_a_down_host_shows_its_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = refused_url()
    loading, keyed = LlamaServer(FakeLlama(loading=True)), LlamaServer(FakeLlama(key="k" * 20))
    try:
        write_config(tmp_path, monkeypatch, (
            f'[hosts.local]\nkind = "ollama"\nurl = "{dead}"\n'
            f'[hosts.loading]\nkind = "openai"\nurl = "{loading.url}"\n'
            f'[hosts.keyed]\nkind = "openai"\nurl = "{keyed.url}"\napi_key_env = "NO_SUCH_KEY"\n'
        ))  # fmt: skip
        found = status()
        unprobed = status(probe=False)
    finally:
        loading.stop()
        keyed.stop()
    local = found["local"]
    assert local.healthy is False and local.reason.startswith("no connection")
    assert dead in local.reason and local.models == []
    assert found["loading"].reason.startswith("/health answered HTTP 503: Loading model")
    assert found["keyed"].reason.startswith(
        "/v1/models refused our credentials: HTTP 401 (check NO_SUCH_KEY)"
    )
    assert {s.healthy for s in unprobed.values()} == {None}


def test_a_host_marked_down_after_a_failed_call_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ollama() as (_, gpu1):
        write_config(tmp_path, monkeypatch, f'[hosts.gpu1]\nkind = "ollama"\nurl = "{gpu1.url}"\n')
        pool.mark_down(pool.find_host("gpu1", "ollama"), "Ollama not reachable")
        found = status()
    assert found["gpu1"].healthy is False
    assert found["gpu1"].reason == "marked down after a failed call: Ollama not reachable"


def test_hosts_are_probed_at_once_each_within_its_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with silent_url() as a, silent_url() as b, silent_url() as c:
        hosts = [h for h in configured_hosts({"hosts": {
            n: {"kind": "ollama", "url": u} for n, u in (("a", a), ("b", b), ("c", c))}})
            if h.name != "local"]  # fmt: skip
        started = time.monotonic()
        found = anyio.run(lambda: probe_all(hosts, timeout=1.0))
        took = time.monotonic() - started
    assert [h.reason for h in found] == [f"no answer within 1s at {u}" for u in (a, b, c)]
    assert took < 2.5  # three hung hosts one after another would take 3 s
