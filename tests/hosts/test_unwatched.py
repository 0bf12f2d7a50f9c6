"""A paid rented instance whose keeper is dead is warned about by doctor and at every
run start; with nothing rented, neither says anything nor creates a file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from loopwright.hosts.rented import RentedHost, save_rented


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def cli(*args: str, code: int = 0) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "loopwright", *args, "--json"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def orphan() -> RentedHost:
    host = RentedHost(
        name="vast-777", instance_id=777, kind="ollama", url="http://127.0.0.1:9",
        token="t" * 40, usd_per_hour=0.5, gpu="RTX 4090", model="m", created_at=1.0,
        idle_minutes=15, max_hours=8, state="running", keeper_pid=dead_pid(),
    )  # fmt: skip
    save_rented(host)
    return host


def rented_check(report: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        c for c in report["checks"] if c["name"] == "rented hosts watched"
    ]
    assert len(found) == 1
    return found[0]


def test_doctor_warns_of_a_running_rented_host_whose_keeper_is_dead() -> None:
    orphan()
    check = rented_check(cli("doctor", code=1))  # a failed check: doctor exits 1
    assert check["ok"] is False
    assert "paid instance nobody watches: vast-777 (Vast.ai instance 777" in check["detail"]
    assert "loopwright hosts down vast-777" in check["detail"]


def test_doctor_with_nothing_rented_is_content_and_creates_no_hosts_folder(home: Path) -> None:
    report = cli("doctor")
    assert rented_check(report)["ok"] is True and not (home / "hosts").exists()
    assert "VAST_API_KEY" in report["credentials"]


def test_a_run_start_warns_of_a_rented_host_nobody_watches(home: Path) -> None:
    orphan()
    result = cli("run", "write a file", "--verify", "test -f loopwright-scripted.md")
    events = (home / "runs" / result["run_id"] / "events.jsonl").read_text().splitlines()
    warnings = [e["data"]["message"] for e in map(json.loads, events) if e["type"] == "warning"]
    assert any(w.startswith("paid instance nobody watches: vast-777") for w in warnings)
