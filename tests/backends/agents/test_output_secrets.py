"""A worker's output file is redacted as one stream, whatever cuts its lines apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.backends.agents.backend import LINE_MAX
from loopwright.runs import runner
from loopwright.runs.redact import MASK
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from .fakes import STREAMS, install

LITERAL = "plain-service-secret-0123456789"
"""Redacted as the value of a secret-named variable: it has no token shape."""
SHAPED = "sk-ant-api03-" + "Ab1_" * 10
"""Redacted by its shape: no variable holds it."""


def test_keys_cut_by_the_piece_boundary_of_a_4_mib_line_are_redacted_in_the_worker_file(
    home: Path, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", LITERAL)
    unit = f"{SHAPED} {LITERAL} "
    pad = (LINE_MAX - 1 - len(SHAPED) // 2) % len(unit)
    line = "x" * pad + " " + unit * ((LINE_MAX + 256 * 1024) // len(unit))
    assert " " not in line[LINE_MAX - 4 : LINE_MAX + 4]  # the 4 MiB cut falls inside a key
    stream = (STREAMS / "claude-write.jsonl").read_text()
    install(tmp_path, monkeypatch, "claude")["claude"].set(text=stream + line)
    store = RunStore(home)  # its redactor knows LITERAL from the environment
    try:
        request = build_request(
            "print a long line",
            workers=["claude_code"],
            cwd=str(repo),
            budget={"max_iterations": 1},
            options={"worker_retries": 0},
        )
        run = runner.start_thread(store, request)
        run.wait(120)
        (out,) = store.paths(run.run_id).workers.glob("*.out")
        data = out.read_text()
    finally:
        if store._index is not None:
            store._index.close()
    redacted = line.replace(SHAPED, MASK).replace(LITERAL, MASK)
    assert data == stream + redacted + "\n"  # the long line whole, no half of a key left
