"""``loopwright cost``: each run's API and held-host cost, each host's holds, and what
the rented hosts cost the pool idle."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pytest

from loopwright.cli.cost_cmd import add_cost_command
from loopwright.hosts.ledger import Ledger
from loopwright.hosts.rented import RentedHost, save_rented
from loopwright.runs.request import build_request
from loopwright.runs.runner import create_run
from loopwright.runs.store import RunStore


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``loopwright ARGV`` through the cost command's own parser, its output."""
    parser = argparse.ArgumentParser(prog="loopwright")
    add_cost_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    capsys.readouterr()
    assert args.func(args) == 0
    return capsys.readouterr().out


def test_cost_lists_runs_hosts_and_the_pools_idle_cost(
    store: RunStore, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    save_rented(
        RentedHost(
            name="vast-7", instance_id=7, kind="ollama", url="http://127.0.0.1:9", token=None,
            usd_per_hour=1.8, gpu="RTX 4090", model="m", created_at=now - 3600,
            idle_minutes=15, max_hours=8, state="running",
        )
    )  # fmt: skip
    ledger = Ledger()
    ledger.open_hold("vast-7", "20261130-000000000-aaaaaa", now - 3000, 1.8)
    ledger.close_holds("20261130-000000000-aaaaaa", now - 1200)  # held 30 min of the hour
    ledger.close()
    report = json.loads(cli(capsys, "cost", "--json"))
    [host] = report["hosts"]
    assert host["source"] == "rented" and host["held_s"] == pytest.approx(1800)
    assert host["idle_s"] == pytest.approx(1800, abs=5)
    assert report["pool"]["idle_cost_usd"] == pytest.approx(0.9, abs=0.01)
    assert report["total"]["idle_cost_usd"] == pytest.approx(0.9, abs=0.01)
    text = cli(capsys, "cost")
    assert "vast-7" in text and "rented" in text and "pool idle" in text
    assert "$0.90" in text
    old = json.loads(cli(capsys, "cost", "--since", "0.01", "--json"))  # the last 14.4 minutes
    [host] = old["hosts"]
    assert host["held_s"] == 0 and host["rented_s"] == pytest.approx(864, abs=5)


def test_cost_gives_each_runs_api_and_held_host_cost_from_its_status(
    store: RunStore, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = create_run(store, build_request("g"))
    status = store.read_status(run_id)
    status["usage"] = {"cost_usd": 0.75, "host_cost_usd": 0.5, "unknown_cost_calls": 2}
    store.write_status(run_id, status)
    [row] = json.loads(cli(capsys, "cost", "--json"))["runs"]
    assert (row["run_id"], row["api_cost_usd"], row["host_cost_usd"]) == (run_id, 0.25, 0.5)
    line = next(x for x in cli(capsys, "cost", run_id).splitlines() if x.startswith(run_id))
    assert line.split()[2:5] == ["$0.2500", "$0.5000", "$0.7500"]
    assert "2 call(s) of unknown price" in line
    assert "total $0.7500: API $0.2500, held hosts $0.5000, idle $0.0000" in cli(capsys, "cost")


def test_loopwright_cost_is_a_command_of_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from loopwright.cli import main

    assert main(["cost", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == []
    assert main(["cost", "nope"]) == 2  # not a run id: refused naming RUN
    assert "RUN" in capsys.readouterr().err
