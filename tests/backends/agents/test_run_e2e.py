"""Whole loopwright runs whose worker is a fake ``claude`` on PATH editing the repo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ...helpers import events_of, wait_dead, worker_output
from .fakes import STREAMS, install

VERIFY = [sys.executable, "-c", "import hello"]


def _run(store: RunStore, repo: Path, worker: str) -> tuple[dict[str, object], list[dict]]:  # type: ignore[type-arg]
    request = build_request(
        "Create hello.py that prints hello",
        workers=[worker],
        cwd=str(repo),
        verify=[VERIFY],
        budget={"max_iterations": 1},
        options={"worker_retries": 0},
    )
    run = runner.start_thread(store, request)
    result = run.wait(60)
    return result, events_of(store.paths(run.run_id).events)


def test_a_run_with_claude_code_as_worker_edits_the_repo_and_verify_passes(
    store: RunStore, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "claude")["claude"]
    fake.set("claude-write.jsonl", writes={"hello.py": "print('hello')\n"})
    result, events = _run(store, repo, "claude_code:sonnet")
    assert result["state"] == "completed", result
    # the worker ran in the run's worktree; the checkpoint commit holds its edit
    ready = next(e["data"] for e in events if e["type"] == "worktree_ready")
    checkpoint = next(e["data"] for e in events if e["type"] == "checkpoint")
    assert {"status": "A", "path": "hello.py"} in checkpoint["files"]
    shown = subprocess.run(
        ["git", "show", f"{checkpoint['sha']}:hello.py"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert shown.stdout == "print('hello')\n"
    assert fake.record["cwd"] == ready["path"]
    finished = next(e["data"] for e in events if e["type"] == "worker_finished")
    assert finished["status"] == "ok" and finished["usage"]["cost_usd"] == 0.00108
    assert worker_output(finished).count('"type":"result"') == 1
    edits = [e["data"] for e in events if e["data"].get("kind") == "file_edit"]
    assert edits[0]["path"].endswith("/hello.py")
    calls = [e["data"] for e in events if e["type"] == "model_call"]
    assert calls[0]["provider"] == "claude_code" and calls[0]["input_tokens"] == 240
    usage = result["usage"]
    assert isinstance(usage, dict) and usage["cost_usd"] >= 0.00108


def test_a_run_whose_claude_code_key_is_rejected_fails_the_worker_with_the_fix(
    store: RunStore, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "claude")["claude"].set("claude-401.jsonl", exit=1)
    result, events = _run(store, repo, "claude_code")
    assert result["state"] != "completed"
    finished = next(e["data"] for e in events if e["type"] == "worker_finished")
    assert finished["status"] == "failed"
    assert "401" in finished["error"] and "ANTHROPIC_API_KEY" in finished["error"]
    for e in events:
        if e["type"] == "checkpoint":
            assert all(f["path"] != "hello.py" for f in e["data"]["files"])


def test_the_runs_time_budget_stops_a_hung_cli_with_its_grandchildren(
    store: RunStore, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "claude")["claude"]
    fake.set(hang=True, grandchild=True)
    request = build_request(
        "Create hello.py",
        workers=["claude_code:?idle_timeout=0"],
        cwd=str(repo),
        budget={"max_seconds": 2},
    )
    run = runner.start_thread(store, request)
    result = run.wait(60)
    assert result["state"] == "stopped", result
    anyio.run(wait_dead, fake.grandchild())


def test_a_key_the_cli_prints_reaches_neither_the_log_nor_the_output_file(
    home: Path, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-ant-e2e-secret-value-0123"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    stream = (STREAMS / "claude-write.jsonl").read_text().replace("MOCK_DONE", f"key {secret}")
    fake = install(tmp_path, monkeypatch, "claude")["claude"]
    fake.set(text=stream)
    store = RunStore(home)  # its redactor knows the key from the environment
    try:
        result, events = _run(store, repo, "claude_code")
        run_dir = store.paths(str(result["run_id"])).events.parent
        assert fake.record["env"]["ANTHROPIC_API_KEY"] == secret  # the CLI needs it
        texts = [p.read_text() for p in run_dir.rglob("*") if p.is_file()]
        assert texts and all(secret not in t for t in texts)
        assert any("[redacted]" in t for t in texts)
        assert any(e["data"].get("kind") == "message" for e in events)
    finally:
        if store._index is not None:
            store._index.close()
