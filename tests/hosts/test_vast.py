"""The Vast.ai client against the fake built from the documented API: search, create,
states, ports, destroy, errors, 429, and the key kept out of every message."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from loopwright.errors import HostError, UserError
from loopwright.hosts.vast import VastClient, api_settings, endpoint
from tests.hosts.fakevast import KEY, FakeVast

pytestmark = pytest.mark.usefixtures("fake_vast")


async def no_wait(_: float) -> None:
    return None


def client(http: httpx.AsyncClient, key: str = KEY) -> VastClient:
    return VastClient(http, key, os.environ["VAST_API_URL"], sleep=no_wait)


async def test_search_asks_for_the_gpu_under_the_price_with_the_disk_and_sorts_cheapest_first(
    fake_vast: FakeVast,
) -> None:
    async with httpx.AsyncClient() as http:
        offers = await client(http).search_offers("RTX 4090", 0.60, 60)
    assert [o.id for o in offers] == [502, 501]
    q = fake_vast.queries[0]
    assert q["gpu_name"] == {"eq": "RTX 4090"} and q["rentable"] == {"eq": True}
    assert q["dph_total"] == {"lte": 0.60} and q["disk_space"] == {"gte": 60}
    assert q["verified"] == {"eq": True} and q["rented"] == {"eq": False}  # 505 is rented
    assert q["external"] == {"eq": False} and q["allocated_storage"] == 60
    assert [(m, p, a) for m, p, a in fake_vast.calls] == [("GET", "/bundles/", f"Bearer {KEY}")]


async def test_create_then_loading_then_running_gives_the_public_address_of_11434(
    fake_vast: FakeVast,
) -> None:
    async with httpx.AsyncClient() as http:
        vast = client(http)
        new = await vast.create(
            502, image="ollama/ollama:latest", disk=60, onstart="export LW_PROXY_TOKEN='"
            + "t" * 40 + "'", label="lw", port=11434,
        )  # fmt: skip
        where = await vast.wait_running(new, 11434, timeout=30, poll=0)
    inst = fake_vast.instances[new]
    assert inst.polls == 3  # null, loading, running
    assert (where.host, where.port, where.usd_per_hour) == ("127.0.0.1", inst.proxy_port, 0.41)
    assert inst.body["runtype"] == "ssh" and inst.body["disk"] == 60


async def test_an_instance_that_exits_while_loading_is_a_host_error_naming_its_state(
    fake_vast: FakeVast,
) -> None:
    fake_vast.fail_state = "exited"
    async with httpx.AsyncClient() as http:
        vast = client(http)
        new = await vast.create(
            502, image="i", disk=60, onstart="LW_PROXY_TOKEN='" + "t" * 40 + "'", label="lw",
            port=11434,
        )  # fmt: skip
        with pytest.raises(HostError, match=r"is exited instead of running: container exited"):
            await vast.wait_running(new, 11434, timeout=30, poll=0)


async def test_waiting_for_running_is_bounded_by_its_timeout(fake_vast: FakeVast) -> None:
    fake_vast.loading_polls = 10**6
    ticks = iter(range(100))
    async with httpx.AsyncClient() as http:
        vast = client(http)
        new = await vast.create(
            502, image="i", disk=60, onstart="LW_PROXY_TOKEN='" + "t" * 40 + "'", label="lw",
            port=11434,
        )  # fmt: skip
        with pytest.raises(HostError, match=r"still loading after 5 s"):
            await vast.wait_running(new, 11434, timeout=5, poll=0, clock=lambda: next(ticks))


async def test_a_429_is_retried_after_retry_after_and_then_succeeds(fake_vast: FakeVast) -> None:
    fake_vast.rate_limit = 2
    waited: list[float] = []

    async def sleep(s: float) -> None:
        waited.append(s)

    async with httpx.AsyncClient() as http:
        vast = VastClient(http, KEY, os.environ["VAST_API_URL"], sleep=sleep)
        assert len(await vast.search_offers("RTX 4090", 0.6, 60)) == 2
    assert waited == [0.0, 0.0] and len(fake_vast.calls) == 3


async def test_429s_beyond_the_retries_end_in_a_host_error_saying_rate_limited(
    fake_vast: FakeVast,
) -> None:
    fake_vast.rate_limit = 100
    async with httpx.AsyncClient() as http:
        vast = VastClient(http, KEY, os.environ["VAST_API_URL"], retries=3, sleep=no_wait)
        with pytest.raises(HostError, match="HTTP 429 \\(rate limited; retried\\)") as err:
            await vast.search_offers("RTX 4090", 0.6, 60)
    assert err.value.status == 429 and len(fake_vast.calls) == 4


async def test_a_refused_key_is_a_host_error_that_does_not_carry_the_key() -> None:
    wrong = "wrong-key-9f8e7d6c5b4a"
    async with httpx.AsyncClient() as http:
        with pytest.raises(HostError) as err:
            await client(http, wrong).search_offers("RTX 4090", 0.6, 60)
    assert "VAST_API_KEY was refused" in str(err.value) and "Invalid user key" in str(err.value)
    assert wrong not in str(err.value) and err.value.status == 401


async def test_an_unreachable_api_is_a_host_error_without_the_key() -> None:
    async with httpx.AsyncClient() as http:
        vast = VastClient(http, KEY, "http://127.0.0.1:9/api/v0", sleep=no_wait)
        with pytest.raises(HostError, match=r"cannot reach Vast\.ai") as err:
            await vast.search_offers("RTX 4090", 0.6, 60)
    assert KEY not in str(err.value) and KEY not in repr(err.value.__cause__)


async def test_destroy_removes_the_instance_and_a_gone_instance_is_not_an_error(
    fake_vast: FakeVast,
) -> None:
    async with httpx.AsyncClient() as http:
        vast = client(http)
        new = await vast.create(
            502, image="i", disk=60, onstart="LW_PROXY_TOKEN='" + "t" * 40 + "'", label="lw",
            port=11434,
        )  # fmt: skip
        assert await vast.destroy(new) is True
        assert await vast.destroy(new) is False
    assert fake_vast.destroyed() == [new]


def test_no_vast_api_key_is_a_user_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VAST_API_KEY")
    with pytest.raises(UserError, match="VAST_API_KEY is not set") as err:
        api_settings()
    assert err.value.field == "VAST_API_KEY"


def test_a_plain_http_api_url_off_this_machine_is_refused_so_the_key_never_travels_in_clear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VAST_API_URL", "http://console.vast.ai/api/v0")
    with pytest.raises(UserError, match="plain http"):
        api_settings()
    monkeypatch.delenv("VAST_API_URL")
    assert api_settings() == (KEY, "https://console.vast.ai/api/v0")


def test_the_endpoint_is_read_from_the_documented_ports_map_and_absent_until_mapped() -> None:
    ports = {"11434/tcp": [{"HostIp": "0.0.0.0", "HostPort": "41234"}]}
    record = {"public_ipaddr": "203.0.113.9", "ports": ports, "dph_total": 0.5}
    found = endpoint(record, 11434)
    assert found is not None and found.url == "http://203.0.113.9:41234"
    assert endpoint({**record, "ports": {}}, 11434) is None
    assert endpoint({**record, "public_ipaddr": None}, 11434) is None
    assert json.dumps(record)  # the record is plain JSON, as Vast sends it
