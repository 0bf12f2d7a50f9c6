"""The command line's ``hosts rent`` and ``hosts down`` on the fake Vast.ai: --json prints
the host with its name and no token, down destroys it, no key creates nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from loopwright.hosts.rented import load_rented
from tests.hosts.fakevast import KEY, FakeVast


def _cli(*args: str, ok: bool = True) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "loopwright", *args], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode == 0) == ok, done.stderr
    return done.stdout if ok else done.stdout + done.stderr


def test_hosts_rent_json_prints_the_host_with_its_name_and_no_token_and_down_destroys_it(
    fake_vast: FakeVast,
) -> None:
    fake_vast.loading_polls = 0
    rent_args = ["hosts", "rent", "--gpu", "RTX 4090", "--model", "qwen2.5-coder:32b"]
    printed: dict[str, Any] = json.loads(_cli(*rent_args, "--max-price", "0.60", "--json"))
    [inst] = fake_vast.instances.values()
    assert printed["name"] == f"vast-{inst.id}" and printed["state"] == "running"
    assert "token" not in printed and printed["token_set"] is True
    assert inst.token not in json.dumps(printed) and KEY not in json.dumps(printed)
    assert printed["idle_minutes"] == 15 and printed["max_hours"] == 8
    said = _cli("hosts", "down", printed["name"])
    assert said.strip() == f"{printed['name']} (instance {inst.id}) destroyed"
    assert fake_vast.destroyed() == [inst.id]
    assert (
        _cli("hosts", "down", printed["name"]).strip() == f"{printed['name']} was already destroyed"
    )


def test_hosts_rent_without_vast_api_key_says_so_and_creates_nothing(
    fake_vast: FakeVast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VAST_API_KEY")
    said = _cli("hosts", "rent", "--gpu", "RTX 4090", "--model", "m", "--max-price", "1",
                ok=False)  # fmt: skip
    assert "VAST_API_KEY is not set" in said
    assert fake_vast.calls == [] and load_rented(include_destroyed=True) == []


def test_hosts_down_of_an_unknown_host_is_an_error_naming_it(fake_vast: FakeVast) -> None:
    assert "no rented host named 'vast-1'" in _cli("hosts", "down", "vast-1", ok=False)
    # it looked for an orphan of that name (one listing), and destroyed nothing
    assert [(m, p) for m, p, _ in fake_vast.calls] == [("GET", "/instances/")]
