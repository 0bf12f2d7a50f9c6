from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from loopwright.backends.base import AgentRequest, AgentResponse, OutputWriter, Purpose
from loopwright.backends.registry import create_backend
from loopwright.loop.events import MemoryOutput


@dataclass
class Call:
    response: AgentResponse
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    output: str = ""

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [d for t, d in self.events if t == "worker_output" and d.get("kind") == kind]

    @property
    def model_call(self) -> dict[str, Any]:
        return next(d for t, d in self.events if t == "model_call")


async def call(
    spec: str,
    cwd: Path,
    *,
    prompt: str = "Create hello.py",
    system: str = "You are a careful worker.",
    purpose: Purpose = "work",
    timeout: float = 30,
    output: OutputWriter | None = None,
) -> Call:
    backend = create_backend(spec)
    events: list[tuple[str, dict[str, Any]]] = []
    out = output or MemoryOutput()
    request = AgentRequest(
        purpose,
        system,
        prompt,
        str(cwd),
        timeout,
        emit=lambda t, d: events.append((t, d)),
        output=out,
        may_edit=purpose == "work",
    )
    with anyio.fail_after(timeout + 30):
        response = await backend.run(request)
    text = "".join(out.parts) if isinstance(out, MemoryOutput) else ""
    return Call(response, events, text)


@pytest.fixture(autouse=True)
def _codex_logged_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Codex without any login is refused before it starts (it would retry forever)."""
    monkeypatch.setenv("CODEX_API_KEY", "codex-test-key")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    return d
