"""Worker outputs: kept in the event while they fit its preview, spilled to a file after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from loopwright import AgentRequest, FunctionBackend, ScriptedBackend
from loopwright.config import PREVIEW_CHARS
from loopwright.loop.harness import Roles
from loopwright.runs import runner
from loopwright.runs.drive import drive
from loopwright.runs.recorder import SpillingOutput
from loopwright.runs.redact import Redactor
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..helpers import events_of

YES = {"json": {"complete": True, "score": 1.0}}


def _run(store: RunStore, tmp_path: Path, worker: FunctionBackend) -> tuple[Path, list[Any]]:
    """One in-process iteration with ``worker``; the run's workers dir and its events."""
    work = tmp_path / "work"
    work.mkdir()
    request = build_request("go", cwd=str(work), isolate=False, criteria=["done"])
    run_id = runner.create_run(store, request)
    scripted = ScriptedBackend({"reviewer": [YES]})
    roles = Roles(planner=scripted, workers=[worker], reviewers=[scripted])

    async def go() -> None:
        with anyio.fail_after(30):
            await drive(store, run_id, roles=roles)

    anyio.run(go)
    p = store.paths(run_id)
    return p.workers, events_of(p.events)


def _worker(output: str, answer: str) -> FunctionBackend:
    def fn(request: AgentRequest) -> str:
        assert request.output is not None
        request.output.write(output)
        return answer

    return FunctionBackend(fn, "function:w")


def _finished(events: list[Any]) -> dict[str, Any]:
    [data] = [e["data"] for e in events if e["type"] == "worker_finished"]
    return dict(data)


def test_a_four_byte_worker_output_creates_no_file_and_the_event_carries_it(
    store: RunStore, tmp_path: Path
) -> None:
    workers, events = _run(store, tmp_path, _worker("done", "done"))
    assert list(workers.iterdir()) == []
    finished = _finished(events)
    assert finished["output_path"] is None
    assert finished["preview"] == "done" and "output" not in finished  # said once


def test_a_short_output_that_is_not_the_answer_is_carried_whole_by_the_event(
    store: RunStore, tmp_path: Path
) -> None:
    stream = '{"type":"message","text":"done"}\n{"type":"result"}\n'
    workers, events = _run(store, tmp_path, _worker(stream, "done"))
    assert list(workers.iterdir()) == []
    finished = _finished(events)
    assert finished["output_path"] is None
    assert finished["output"] == stream and finished["preview"] == "done"


def test_a_long_worker_output_spills_to_a_file_with_the_whole_text(
    store: RunStore, tmp_path: Path
) -> None:
    text = "".join(f"line {n}\n" for n in range(2000))
    workers, events = _run(store, tmp_path, _worker(text, "done"))
    finished = _finished(events)
    assert [f.name for f in workers.iterdir()] == ["1-s1-1.out"]
    assert finished["output_path"] == str(workers / "1-s1-1.out")
    assert Path(finished["output_path"]).read_text() == text
    assert "output" not in finished


def test_an_output_spills_when_it_outgrows_the_preview_and_not_before(tmp_path: Path) -> None:
    path = tmp_path / "w.out"
    out = SpillingOutput(str(path), Redactor([]))
    out.write("a" * (PREVIEW_CHARS - 1))
    out.write("b")  # exactly the preview: still in memory
    whole = "a" * (PREVIEW_CHARS - 1) + "b"
    assert out.path is None and not path.exists() and out.text == whole
    out.write("c")
    out.write("tail")
    out.close()
    assert out.path == str(path) and out.text is None
    assert path.read_text() == whole + "ctail"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_spilled_output_is_redacted_and_capped(tmp_path: Path) -> None:
    path = tmp_path / "w.out"
    out = SpillingOutput(str(path), Redactor(["sk-secret-value-123"]), keep=10, cap=100)
    out.write("key sk-secret-value-123 ")
    out.write("x" * 200)
    out.close()
    text = path.read_text()
    assert "sk-secret-value-123" not in text and "[redacted]" in text
    assert "output cut at the size cap" in text


def test_an_empty_output_is_neither_a_file_nor_in_the_event(
    store: RunStore, tmp_path: Path
) -> None:
    workers, events = _run(store, tmp_path, _worker("", "done"))
    finished = _finished(events)
    assert list(workers.iterdir()) == []
    assert finished["output_path"] is None and "output" not in finished
