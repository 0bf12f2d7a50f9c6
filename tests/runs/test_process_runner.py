"""A run starts every program through the ``ProcessRunner`` it is handed: verify, the
worker CLIs, the tool loop's ``run_command``, git, and (detached) its host."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.backends.agents.backend import CliAgent
from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.pooled import HostFailover
from loopwright.backends.scripted import ScriptedBackend
from loopwright.runs import runner
from loopwright.runs.drive import build_roles
from loopwright.runs.git.scratch import make_scratch_repo
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..backends.agents.fakes import install
from ..backends.models.fake_ollama import FakeOllama, Server, call
from ..helpers import write_scenario
from ..process.recording import RecordingRunner

BUGGY = "def add(a, b):\n    return a - b\n"
CHECK = [sys.executable, "-c", "import calc; assert calc.add(2, 3) == 5"]
VERIFY = [sys.executable, "-c", "import calc, hello"]
PLAN = {
    "planner": [{"json": {"subgoals": [
        {"id": "fix", "title": "fix add", "instructions": "make add() add"},
        {"id": "hello", "title": "hello.py", "instructions": "write hello.py"},
    ]}}],
}  # fmt: skip


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOllama]:
    """A model that fixes calc.py, checks it with ``run_command``, and finishes."""
    fake = FakeOllama(
        models={"coder"},
        chats=[
            call("edit_file", path="calc.py", search="a - b", replace="a + b"),
            call("run_command", argv=CHECK),
            call("finish", summary="add() adds now"),
        ],
    )
    server = Server(fake)
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    yield fake
    server.stop()


def test_a_run_starts_verify_the_worker_cli_the_tool_loop_s_commands_and_git_with_its_runner(
    store: RunStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ollama: FakeOllama,
) -> None:
    claude = install(tmp_path, monkeypatch, "claude")["claude"]
    claude.set("claude-write.jsonl", writes={"hello.py": "print('hello')\n"})
    repo = make_scratch_repo(tmp_path / "repo", {"calc.py": BUGGY})
    request = build_request(
        "fix add and write hello.py",
        planner=write_scenario(tmp_path / "plan.json", PLAN),
        workers=["ollama:coder@local", "claude_code:sonnet"],  # one subgoal each
        cwd=str(repo),
        verify=[VERIFY],
        budget={"max_iterations": 1},
        options={"worker_retries": 0},
    )
    recording = RecordingRunner()
    run = runner.start_thread(store, request, runner=recording)
    assert run.wait(60)["state"] == "completed"
    started = recording.argvs("run")
    assert VERIFY in started
    assert CHECK in started  # the model's run_command
    assert [a for a in started if Path(a[0]).name == "claude"], started
    git = recording.git()
    assert {"worktree", "commit-tree", "update-ref"} <= set(git), git


def test_a_detached_run_s_host_is_started_by_the_runner_it_is_handed(store: RunStore) -> None:
    recording = RecordingRunner()
    run_id = runner.start(store, build_request("write the file"), runner=recording)
    assert runner.wait(store, run_id, timeout=30)["state"] == "completed"
    [argv] = recording.argvs("spawn_detached")
    assert argv[:3] == [sys.executable, "-m", "loopwright.runs.host"]
    assert argv[3] == str(store.paths(run_id).root)


def test_the_backends_of_a_run_start_their_programs_with_the_run_s_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "claude")
    request = build_request("x", workers=["claude_code", "ollama:coder", "scripted"])
    recording = RecordingRunner()
    roles = build_roles(request, recording)
    cli, chat, scripted = roles.workers
    assert isinstance(cli, CliAgent) and cli.runner is recording
    assert isinstance(chat, HostFailover) and chat.pinned is not None  # Ollama's local host
    made = chat.backend(chat.pinned)  # the backend its calls go through
    assert isinstance(made, ChatBackend) and made.runner is recording
    assert isinstance(scripted, ScriptedBackend) and scripted.runner is recording
    assert isinstance(roles.planner, ScriptedBackend) and roles.planner.runner is recording
