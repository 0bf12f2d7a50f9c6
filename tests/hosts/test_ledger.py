"""The host ledger: runs' holds on priced hosts, and what a rented host cost idle."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from loopwright.hosts import ledger as L
from loopwright.hosts.rented import RentedHost, mark_destroyed, save_rented
from loopwright.runs.holding import SEEN_INTERVAL, HoldWriter

T0 = 1_800_000_000.0


def rented(name: str = "vast-1", rate: float = 3.6, created: float = T0) -> RentedHost:
    host = RentedHost(
        name=name, instance_id=1, kind="ollama", url="http://127.0.0.1:9", token="t",
        usd_per_hour=rate, gpu="RTX 4090", model="m", created_at=created, idle_minutes=15,
        max_hours=8, state="running",
    )  # fmt: skip
    save_rented(host)
    return host


def test_the_union_of_overlapping_holds_counts_each_second_once() -> None:
    spans = [(10.0, 20.0), (15.0, 30.0), (40.0, 50.0), (12.0, 14.0)]
    assert L.union_seconds(spans, 0.0, 100.0) == 30.0
    assert L.union_seconds(spans, 25.0, 45.0) == 10.0  # clipped to the window
    assert L.union_seconds([], 0.0, 100.0) == 0.0


def test_idle_time_is_the_rental_span_less_the_union_of_the_runs_holds(home: Path) -> None:
    led = L.Ledger()
    rented("vast-1", rate=3.6)
    led.open_hold("vast-1", "run-a", T0 + 100, 3.6)
    led.open_hold("vast-1", "run-b", T0 + 150, 3.6)  # overlaps run-a: idle for neither
    led.close_holds("run-a", T0 + 200)
    led.close_holds("run-b", T0 + 300)
    led.open_hold("other", "run-a", T0, 9.0)  # another host's hold is not this one's
    led.close_holds("run-a", T0 + 1000)
    # span 1000 s, held 100..300: idle 800 s at $3.6/h
    assert L.idle_cost("vast-1", led, now=T0 + 1000) == pytest.approx(0.8)
    assert L.held_seconds("vast-1", led) == pytest.approx(250.0)  # each run's own time
    assert L.held_cost("vast-1", led) == pytest.approx(0.25)
    mark_destroyed("vast-1", T0 + 500)  # billing stopped: now no longer matters
    assert L.idle_cost("vast-1", led, now=T0 + 99_999) == pytest.approx(0.3)
    assert L.idle_cost("other", led) == 0.0  # not rented: no rental span, no idle cost
    led.close()
    mode = stat.S_IMODE(os.stat(home / L.FILE_NAME).st_mode)
    assert mode == 0o600


def test_a_second_hold_of_a_host_by_the_same_run_is_the_same_hold(home: Path) -> None:
    led = L.Ledger()
    led.open_hold("gpu", "run-a", T0, 1.0)
    led.open_hold("gpu", "run-a", T0 + 5, 1.0)
    assert [(h.start, h.open) for h in led.holds("gpu")] == [(T0, True)]
    led.close()


def test_the_writer_opens_extends_and_closes_a_runs_holds_from_its_events(home: Path) -> None:
    w = HoldWriter(home, "run-a")
    w.see("model_call", {}, T0 - 10)  # nothing held yet: no ledger
    assert not (home / L.FILE_NAME).exists()
    w.see("host_held", {"host": "vast-1", "usd_per_hour": 7.2}, T0)
    w.see("model_call", {}, T0 + SEEN_INTERVAL / 2)  # too soon to write again
    w.see("model_call", {}, T0 + SEEN_INTERVAL + 1)
    [h] = w.ledger.holds("vast-1")
    assert (h.start, h.end, h.open) == (T0, T0 + SEEN_INTERVAL + 1, True)
    w.see("host_released", {"host": "vast-1", "seconds": 100, "cost_usd": 0.2}, T0 + 100)
    [h] = w.ledger.holds("vast-1", run_id="run-a")
    assert (h.end, h.open) == (T0 + 100, False) and h.cost_usd == pytest.approx(0.2)
    w.close()


def test_a_run_that_ends_without_releasing_closes_its_holds(home: Path) -> None:
    began = time.time() - 100
    w = HoldWriter(home, "run-a")
    w.see("host_held", {"host": "vast-1", "usd_per_hour": 1.0}, began)
    w.close()
    led = L.Ledger()
    [h] = led.holds("vast-1")
    led.close()
    assert not h.open and h.seconds >= 100
