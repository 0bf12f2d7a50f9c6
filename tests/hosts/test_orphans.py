"""Orphans on the fake Vast.ai: an instance loopwright created but never saved (its rent
killed between create and save) is warned of by hosts ls and doctor and destroyed by
hosts down; instances without loopwright's label are never listed nor touched; a failing
or silent API is a warning, not a crash; without VAST_API_KEY nothing is asked."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from typing import Any

import pytest

from loopwright.hosts.rented import RentedHost, load_rented, save_rented
from loopwright.hosts.vast_orphans import orphan_warnings
from tests.hosts.fakevast import FakeVast


def cli(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "loopwright", *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    return done


def orphan_check(code: int = 1) -> dict[str, Any]:
    report = json.loads(cli("doctor", "--json", code=code).stdout)
    [check] = [c for c in report["checks"] if c["name"] == "no unknown Vast.ai instances"]
    found: dict[str, Any] = check
    return found


def deletes(fake: FakeVast) -> list[str]:
    return [path for method, path, _ in fake.calls if method == "DELETE"]


def test_an_instance_whose_rent_was_killed_before_saving_is_warned_of_and_hosts_down_destroys_it(
    fake_vast: FakeVast,
) -> None:
    iid = fake_vast.launch("loopwright:qwen2.5-coder:32b")  # created; rent died before save
    ls = cli("hosts", "ls", "--no-probe")
    assert f"paid instance loopwright does not know: vast-{iid} (Vast.ai instance {iid}" in (
        ls.stderr
    )
    assert f"loopwright hosts down vast-{iid}" in ls.stderr
    check = orphan_check()
    assert check["ok"] is False and f"vast-{iid}" in check["detail"]
    said = cli("hosts", "down", f"vast-{iid}").stdout
    assert said.strip() == f"vast-{iid} (instance {iid}, not in the store) destroyed"
    assert fake_vast.destroyed() == [iid]
    assert "does not know" not in cli("hosts", "ls", "--no-probe").stderr
    assert orphan_check(code=0)["ok"] is True


def test_hosts_down_takes_an_orphan_by_its_instance_id(fake_vast: FakeVast) -> None:
    iid = fake_vast.launch("loopwright:m")
    assert "destroyed" in cli("hosts", "down", str(iid)).stdout
    assert fake_vast.destroyed() == [iid]


def test_an_instance_the_store_records_as_destroyed_but_vast_still_runs_is_an_orphan(
    fake_vast: FakeVast,
) -> None:
    iid = fake_vast.launch("loopwright:m")
    save_rented(stored(iid, "destroyed"))
    assert f"vast-{iid}" in cli("hosts", "ls", "--no-probe").stderr
    said = cli("hosts", "down", f"vast-{iid}").stdout
    assert "not in the store) destroyed" in said and fake_vast.destroyed() == [iid]


def test_a_rented_host_the_store_knows_is_no_orphan_and_rent_labels_its_instances(
    fake_vast: FakeVast,
) -> None:
    iid = fake_vast.launch("loopwright:m")
    save_rented(stored(iid, "running"))
    assert anyio_run(orphan_warnings) == []
    fake_vast.loading_polls = 0
    rent = ["hosts", "rent", "--gpu", "RTX 4090", "--model", "qwen2.5-coder:32b"]
    cli(*rent, "--max-price", "0.60", "--json")
    labels = [i.body.get("label") for i in fake_vast.instances.values()]
    assert labels[-1] == "loopwright:qwen2.5-coder:32b"
    assert anyio_run(orphan_warnings) == []  # saved by its rent: not an orphan


def test_instances_without_loopwrights_label_are_never_listed_nor_touched(
    fake_vast: FakeVast,
) -> None:
    mine = [fake_vast.launch(None), fake_vast.launch("my training job")]
    assert "does not know" not in cli("hosts", "ls", "--no-probe").stderr
    assert orphan_check(code=0)["ok"] is True
    for iid in mine:
        said = cli("hosts", "down", f"vast-{iid}", code=2).stderr
        assert f"no rented host named 'vast-{iid}'" in said
        said = cli("hosts", "down", str(iid), code=2).stderr
        assert f"no rented host named '{iid}'" in said
    assert deletes(fake_vast) == [] and fake_vast.destroyed() == []


def test_a_failing_vast_api_is_a_warning_in_hosts_ls_and_doctor_not_a_crash(
    fake_vast: FakeVast,
) -> None:
    fake_vast.launch("loopwright:m")
    fake_vast.list_status = 500
    ls = cli("hosts", "ls", "--no-probe")
    assert "could not ask Vast.ai for the instances loopwright created" in ls.stderr
    assert "HTTP 500" in ls.stderr and "Traceback" not in ls.stderr
    check = orphan_check()
    assert check["ok"] is False and "could not ask Vast.ai" in check["detail"]


def test_a_refused_key_is_a_warning_that_never_shows_the_key(
    fake_vast: FakeVast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAST_API_KEY", "wrong-key-0123456789")
    ls = cli("hosts", "ls", "--no-probe")
    assert "VAST_API_KEY was refused" in ls.stderr and "wrong-key-0123456789" not in ls.stderr


def test_a_vast_api_that_never_answers_is_a_warning_within_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("VAST_API_KEY", "k" * 32)
        monkeypatch.setenv("VAST_API_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        start = time.monotonic()
        [warning] = anyio_run(lambda: orphan_warnings(timeout=0.5))
    assert time.monotonic() - start < 5
    assert warning.startswith("could not ask Vast.ai for the instances loopwright created")


def test_without_vast_api_key_nothing_is_asked(
    fake_vast: FakeVast, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_vast.launch("loopwright:m")
    monkeypatch.delenv("VAST_API_KEY")
    ls = cli("hosts", "ls", "--no-probe")
    check = orphan_check(code=0)
    assert "does not know" not in ls.stderr and "not set" in check["detail"]
    assert "no rented host named 'vast-" in cli("hosts", "down", "vast-12346", code=2).stderr
    assert fake_vast.calls == [] and load_rented(include_destroyed=True) == []


def stored(iid: int, state: str) -> RentedHost:
    return RentedHost(
        name=f"vast-{iid}", instance_id=iid, kind="ollama", url="http://127.0.0.1:9",
        token="t" * 40, usd_per_hour=0.41, gpu="RTX 4090", model="m", created_at=1.0,
        idle_minutes=15, max_hours=8, state=state,
        destroyed_at=2.0 if state == "destroyed" else None,
    )  # fmt: skip


def anyio_run(fn: Any) -> Any:
    import anyio

    return anyio.run(fn)
