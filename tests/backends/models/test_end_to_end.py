"""A real loopwright run whose worker is a scripted model behind a real HTTP server on
127.0.0.1: the tool loop edits the repo and the verify command passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.runs import runner
from loopwright.runs.git.scratch import make_scratch_repo
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ...helpers import worker_output
from .fake_ollama import FakeOllama, Server, call

BUGGY = "def add(a, b):\n    return a - b\n"
CHECK = ["python", "-c", "import calc; assert calc.add(2, 3) == 5"]


def fixing_model() -> FakeOllama:
    return FakeOllama(
        models={"coder"},
        chats=[
            call("list_files"),
            call("read_file", path="calc.py"),
            call("edit_file", path="calc.py", search="a - b", replace="a + b"),
            call("run_command", argv=CHECK),
            call("finish", summary="add() adds now"),
        ],
    )


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeOllama, Server]]:
    fake = fixing_model()
    server = Server(fake)
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    yield fake, server
    server.stop()


def test_a_run_with_an_ollama_worker_fixes_the_repo_through_the_tool_loop(
    store: RunStore, tmp_path: Path, served: tuple[FakeOllama, Server]
) -> None:
    fake, _ = served
    repo = make_scratch_repo(tmp_path / "repo", {"calc.py": BUGGY})
    request = build_request(
        "make add() add", workers=["ollama:coder@local"], cwd=str(repo), verify=[CHECK]
    )
    run = runner.start_thread(store, request)
    assert run.wait(60)["state"] == "completed"
    result = store.read_result(run.run_id)
    assert result is not None and result["state"] == "completed"
    assert result["verify"][0]["passed"]
    events = [json.loads(x) for x in store.paths(run.run_id).events.read_text().splitlines()]
    calls = [e["data"] for e in events if e["type"] == "model_call"]
    assert len(calls) == 5 and all(c["profile"]["eval_count"] == 50 for c in calls)
    assert [c["tool_calls"] for c in calls][2] == ["edit_file"]
    finished = next(e["data"] for e in events if e["type"] == "worker_finished")
    assert finished["status"] == "ok" and finished["usage"]["output_tokens"] == 250
    assert finished["preview"].startswith("add() adds now")
    assert any(e["type"] == "worker_output" and e["data"].get("tool") for e in events)
    assert "[tool] run_command" in worker_output(finished)  # in the event: it fits the preview
    assert len(fake.bodies("/api/chat")) == 5


def test_the_cli_runs_an_ollama_worker_against_the_configured_host(
    tmp_path: Path, served: tuple[FakeOllama, Server], home: Path
) -> None:
    _, server = served
    repo = make_scratch_repo(tmp_path / "repo", {"calc.py": BUGGY})
    cfg = tmp_path / "loopwright.toml"
    cfg.write_text(f'[ollama.hosts.box]\nurl = "{server.url}"\n')
    argv = [sys.executable, "-m", "loopwright", "run", "make add() add", "--worker",
            "ollama:coder@box", "--cwd", str(repo), "--verify", " ".join(CHECK[:2]) + ' "'
            + CHECK[2] + '"', "--json"]  # fmt: skip
    env = {**os.environ, "LOOPWRIGHT_CONFIG": str(cfg)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["state"] == "completed"
