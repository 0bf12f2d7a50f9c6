"""Errors become tool errors in one place: the wrapper every tool gets at registration."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from loopwright.errors import DiskFull, InvalidState, UserError
from loopwright.server import tools
from loopwright.server.app import build_server

from .test_tools import TOOLS, error

REQUIRED: dict[str, dict[str, Any]] = {
    "orchestrate": {"goal": "g"},
    "consult": {"question": "q", "models": ["scripted"]},
    "delegate": {"backend": "scripted", "task": "t"},
    "debate": {"question": "q", "models": ["scripted", "scripted"]},
    "improve": {"task": "t"},
}
"""Arguments a call needs to reach the tool's body (every other tool needs only run_id)."""
RUN_ID = "20261123-071300123-a3f9c2"
RAISED: list[tuple[Exception, str]] = [
    (UserError("must be an absolute path", "cwd"), "cwd: must be an absolute path"),
    (InvalidState("run x is completed; only needs_input runs resume", "run_id"), "run_id: run x"),
    (DiskFull("/state/runs/x/status.json"), "no space left on device writing /state/runs/x/"),
    (RuntimeError("a bug"), "internal error: RuntimeError: a bug"),
    (ExceptionGroup("task group", [UserError("bad", "answers")]), "answers: bad"),
]


def raising(original: Callable[..., Awaitable[Any]], exc: Exception) -> Callable[..., Any]:
    """A stand-in for a tool with the same name and parameters that raises ``exc``."""

    @functools.wraps(original)
    async def tool(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return tool


def arguments(name: str, fn: Callable[..., Any]) -> dict[str, Any]:
    if name in REQUIRED:
        return REQUIRED[name]
    return {"run_id": RUN_ID} if "run_id" in fn.__code__.co_varnames else {}


@pytest.mark.parametrize(("exc", "said"), RAISED, ids=lambda v: type(v).__name__)
async def test_every_registered_tool_maps_what_it_raises_to_a_clear_tool_error(
    exc: Exception, said: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_ins = [(raising(fn, exc), text, hints) for fn, text, hints in tools.TOOLS]
    monkeypatch.setattr(tools, "TOOLS", stand_ins)
    async with Client(build_server(home)) as c:
        listed = {t.name for t in (await c.list_tools()).tools}
        assert listed == TOOLS == {fn.__name__ for fn, _, _ in stand_ins}
        for fn, _, _ in stand_ins:
            text = await error(c, fn.__name__, **arguments(fn.__name__, fn.__wrapped__))
            assert said in text, (fn.__name__, text)


async def test_an_unexpected_error_leaves_its_traceback_in_the_server_log(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stand_ins = [(raising(fn, KeyError("k")), t, h) for fn, t, h in tools.TOOLS]
    monkeypatch.setattr(tools, "TOOLS", stand_ins)
    async with Client(build_server(home)) as c:
        with caplog.at_level(logging.ERROR, "loopwright.server"):
            text = await error(c, "orchestrate_status", run_id=RUN_ID)
    assert "internal error: KeyError" in text
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)
