"""``loopwright export``: accepted worker turns as SFT chats, accepted-vs-rejected pairs for
the same prompt as DPO (verify decides), whole runs as trajectories; redacted, filtered."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from loopwright.cli import main
from loopwright.loop.prompts import WORKER_SYSTEM
from loopwright.runs.store import RunStore

from ..helpers import events_of
from .scenario import Backends, loop_run
from .test_recall import FIRST

SAME = {1: "Teach parse_date the ISO week form", 2: "Teach parse_date the ISO week form"}


def export(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    assert main(["export", *argv]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


async def test_sft_is_one_chat_per_accepted_turn_with_the_prompt_the_worker_was_given(
    store: RunStore, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, _, backends = await loop_run(store, repo, FIRST)
    [row] = export(capsys, "--format", "sft")  # iteration 1's turn failed verify
    system, user, assistant = row["messages"]
    assert system == {"role": "system", "content": WORKER_SYSTEM}
    assert (system["content"], user["content"]) == backends.work_prompts[1]  # as sent
    assert user["role"] == "user" and assistant["role"] == "assistant"
    assert assistant["content"] == "parse_date now takes 2024-W05-3"
    meta = row["meta"]
    assert (meta["run_id"], meta["iteration"], meta["attempt"], meta["verified"]) == (
        run_id, 2, 1, True,
    )  # fmt: skip
    assert meta["backend"] == "function:worker" and len(meta["checkpoint"]) == 40


async def test_dpo_pairs_a_turn_that_failed_verify_with_an_accepted_one_for_the_same_prompt(
    store: RunStore, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the reviewer says complete both times: verify alone rejects iteration 1's turn
    await loop_run(store, repo, FIRST, Backends(titles=SAME))
    [pair] = export(capsys, "--format", "dpo")
    assert [m["role"] for m in pair["prompt"]] == ["system", "user"]
    assert pair["chosen"] == [{"role": "assistant", "content": "parse_date now takes 2024-W05-3"}]
    assert pair["rejected"] == [{"role": "assistant", "content": "first try at week dates"}]
    assert pair["meta"]["rejected"]["why"].startswith("verify failed: python")
    assert (pair["meta"]["rejected"]["iteration"], pair["meta"]["chosen"]["iteration"]) == (1, 2)


async def test_dpo_pairs_a_failed_attempt_with_the_retry_that_worked(
    store: RunStore, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await loop_run(store, repo, FIRST, Backends(flaky=True))
    [pair] = export(capsys, "--format", "dpo")
    assert pair["rejected"][0]["content"] == "gave up: the parser is too tangled"
    assert pair["meta"]["rejected"]["why"] == "worker failed: x"
    assert (pair["meta"]["rejected"]["attempt"], pair["meta"]["chosen"]["attempt"]) == (1, 2)
    assert [r["meta"]["attempt"] for r in export(capsys, "--format", "sft")] == [2]


async def test_trajectories_are_each_runs_whole_event_stream_and_only_verified_keeps_passing_runs(
    store: RunStore, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done, _, _ = await loop_run(store, repo, FIRST)
    stopped = await _stopped_run(store, repo)
    rows = export(capsys, "--format", "trajectories")
    assert [r["run_id"] for r in rows] == [done, stopped]  # oldest first
    assert rows[0]["events"] == events_of(store.paths(done).events)
    assert rows[0]["request"]["loop"]["goal"] == FIRST and rows[0]["result"]["state"] == "completed"
    assert rows[1]["state"] == "stopped"
    only = export(capsys, "--format", "trajectories", "--only-verified")
    assert [r["run_id"] for r in only] == [done]


async def _stopped_run(store: RunStore, repo: Path) -> str:
    """A run stopped by its budget in iteration 1, whose verify failed."""
    from loopwright.runs import runner
    from loopwright.runs.drive import drive
    from loopwright.runs.request import build_request

    from .scenario import VERIFY

    request = build_request(FIRST, cwd=str(repo), verify=[VERIFY], budget={"max_iterations": 1})
    run_id = runner.create_run(store, request)
    result = await drive(store, run_id, roles=Backends().roles())
    assert result.state == "stopped"
    return run_id


async def test_export_filters_by_repository_and_start_and_redacts_every_line(
    store: RunStore, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from loopwright.runs.git.scratch import make_scratch_repo

    secret = "zq-7f3a9c1e55b2d4aa"
    first, _, _ = await loop_run(store, repo, f"{FIRST} with key {secret}")
    other = make_scratch_repo(tmp_path / "other")
    await loop_run(store, other, FIRST)
    assert secret in store.paths(first).events.read_text()  # unknown when it ran
    monkeypatch.setenv("DEPLOY_TOKEN", secret)  # known now: the export redacts it
    rows = export(capsys, "--format", "trajectories", "--repo", str(repo))
    assert [r["run_id"] for r in rows] == [first]
    assert secret not in json.dumps(rows) and "[redacted]" in rows[0]["goal"]
    assert len(export(capsys, "--format", "sft", "--since", "1h")) == 2
    assert export(capsys, "--format", "sft", "--since", "2999-01-01") == []
    assert main(["export", "--format", "sft", "--since", "yesterday"]) == 2
    assert "--since 'yesterday'" in capsys.readouterr().err


async def test_output_goes_to_a_private_file_and_never_through_a_link(
    store: RunStore, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await loop_run(store, repo, FIRST)
    target = tmp_path / "sft.jsonl"
    assert main(["export", "--format", "sft", "-o", str(target)]) == 0
    assert "exported 1 sft line(s) to" in capsys.readouterr().err
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert json.loads(target.read_text())["messages"][2]["role"] == "assistant"
    link = tmp_path / "link.jsonl"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        main(["export", "--format", "sft", "-o", str(link)])
    assert not (tmp_path / "elsewhere").exists()
