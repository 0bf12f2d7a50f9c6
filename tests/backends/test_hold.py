"""A call to a host priced by the hour: charged by the run's hold on the host when the
caller charges holds (a run's ``BudgetTracker``), else by its own duration; never both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loopwright.backends.models.ollama import create
from loopwright.backends.registry import parse_spec
from loopwright.loop.budget import BudgetTracker
from loopwright.loop.types import Budget, UsageTotals

from .models.fake_ollama import FakeOllama, say
from .models.fakes import request


@pytest.fixture
def priced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "loopwright.toml"
    cfg.write_text('[hosts.gpu]\nkind = "ollama"\nurl = "http://gpu.test:11434"\n'
                   "usd_per_hour = 36.0\n")  # fmt: skip
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(cfg))


@pytest.mark.usefixtures("priced")
async def test_a_call_no_run_holds_for_charges_its_duration() -> None:
    backend = create(parse_spec("ollama:m@gpu"), FakeOllama(chats=[say("hi")]).client())
    req, events, _ = request()
    response = await backend.run(req)
    assert response.ok and response.usage.cost_usd == pytest.approx(0.02)  # 2 s at $36/h
    assert not events.of("host_held")


@pytest.mark.usefixtures("priced")
async def test_a_call_a_run_holds_the_host_for_costs_nothing_by_its_duration() -> None:
    backend = create(parse_spec("ollama:m@gpu"), FakeOllama(chats=[say("hi")]).client())
    budget = BudgetTracker(Budget(), UsageTotals())
    logged: list[tuple[str, dict[str, Any]]] = []
    req, _, _ = request()
    req.emit = budget.through(lambda t, d: logged.append((t, d)))
    for _ in range(2):
        response = await backend.run(req)
        assert response.ok and response.usage.cost_usd == 0.0
    assert [d for t, d in logged if t == "host_held"] == [{"host": "gpu", "usd_per_hour": 36.0}]
    assert [h.host for h in budget.holds.all] == ["gpu"] and budget.holds.rate() == 0.01
