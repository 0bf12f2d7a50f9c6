"""Errors in the words the user typed: the option's name, once, in plain words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.cli import commands
from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..helpers import write_scenario


@pytest.fixture(autouse=True)
def fresh_store() -> Iterator[None]:
    commands._STORE = None
    yield
    commands._STORE = None


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["run", "x", "--retries", "11"], "--retries: must be less than or equal to 10"),
        (["run", "x", "--concurrency", "0"], "--concurrency: must be greater than or equal to 1"),
        (["run", "x", "--max-seconds", "-5"], "--max-seconds: must be greater than 0 (got -5.0)"),
        (["run", "x", "--verify", '"unclosed'], "--verify: cannot split No closing quotation"),
        (["run", "x", "--backend", "nope"], "--backend: unknown backend 'nope'"),
        (["run", "x", "--worker", "nope"], "--worker: unknown backend 'nope'"),
        (["status", "../etc"], "RUN '../etc' is not a run id"),
        (["run", "x", "--cwd", "/no/such"], "--cwd '/no/such' does not exist"),
    ],
)
def test_an_error_names_the_option_the_user_typed_once(
    argv: list[str], said: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert commands.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"loopwright: error: {said}"), err
    option = said.split(":")[0].split()[0]
    assert err.count(option) == 1
    for raw in ("Input should", "pydantic", "worker_retries", "run_id", "https://"):
        assert raw not in err
    assert not (home / "runs").exists()


def test_an_answer_to_a_question_nobody_asked_is_named(
    store: RunStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = {"json": {"criteria": ["x"], "questions": [{"id": "q1", "text": "Which?"}]}}
    spec = write_scenario(tmp_path / "s.json", {"clarifier": [question]})
    run = runner.start_thread(store, build_request("g", backend=spec, questions="ask"))
    assert run.wait(30)["state"] == "needs_input"
    assert commands.main(["resume", run.run_id, "--answer", "q9=postgres"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"loopwright: error: --answer: run {run.run_id} asked no question 'q9'; it asked: q1\n"
    )
    assert store.read_status(run.run_id)["state"] == "needs_input"
