"""``loopwright consult``, ``delegate`` and ``debate`` as a person or a script uses them."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..helpers import write_scenario
from .test_cli import cli

QUESTION = "Which queue should the service use?"


def test_consult_prints_each_answer_attributed_and_json_is_the_attributed_result(
    tmp_path: Path,
) -> None:
    a = write_scenario(tmp_path / "a.json", {"consult": ["Use Redis streams"]})
    b = write_scenario(
        tmp_path / "b.json",
        {
            "consult": [
                {
                    "text": "Use Postgres",
                    "usage": {"input_tokens": 12, "output_tokens": 4, "cost_usd": 0.002},
                }
            ]
        },
    )
    s = write_scenario(tmp_path / "s.json", {"synthesize": ["Agreement: both queue."]})
    shown = cli("consult", QUESTION, "--models", f"{a},{b}", "--synthesizer", s)
    assert shown.returncode == 0, shown.stderr
    assert "Use Redis streams" in shown.stdout and "Agreement: both queue." in shown.stdout
    assert f"{b} · 12+4 tok" in shown.stdout and "$0.0020" in shown.stdout
    assert "disagreement of the answers" in shown.stdout
    done = cli("consult", QUESTION, "--models", a, "--models", b, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["pattern"] == "consult" and result["state"] == "completed"
    assert [(x["spec"], x["text"]) for x in result["answers"]] == [
        (a, "Use Redis streams"),
        (b, "Use Postgres"),
    ]


def test_delegate_edits_a_worktree_and_exits_1_when_the_reviewer_finds_it_incomplete(
    repo: Path, tmp_path: Path
) -> None:
    no = {"json": {"complete": False, "score": 0.2, "issues": ["no tests"], "next_steps": []}}
    reviewer = write_scenario(tmp_path / "r.json", {"reviewer": [no]})
    done = cli(
        "delegate",
        "scripted",
        "write the notes",
        "--cwd",
        str(repo),
        "--reviewer",
        reviewer,
        "--json",
    )
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["state"] == "stopped" and result["verdict"]["issues"] == ["no tests"]
    assert "loopwright-scripted.md" in result["patch"]
    assert not (repo / "loopwright-scripted.md").exists()
    diff = cli("diff", result["run_id"], "--json")
    assert [f["path"] for f in json.loads(diff.stdout)["files"]] == ["loopwright-scripted.md"]


def test_debate_runs_its_rounds_and_a_judge_picks(tmp_path: Path) -> None:
    def says(word: str) -> list[object]:
        revised = {"json": {"critique": "", "changed": True, "answer": f"{word} revised"}}
        return [f"{word} draft", revised]

    a = write_scenario(tmp_path / "a.json", {"debate": says("tabs")})
    b = write_scenario(tmp_path / "b.json", {"debate": says("spaces")})
    judge = write_scenario(tmp_path / "j.json", {"judge": [{"json": {"pick": 2, "reason": "pep"}}]})
    done = cli(
        "debate",
        "Tabs or spaces?",
        "--models",
        f"{a},{b}",
        "--rounds",
        "1",
        "--judge",
        judge,
        "--converge-at",
        "0",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [r["round"] for r in result["rounds"]] == [0, 1]
    assert result["pick"]["spec"] == b and result["pick"]["answer"] == "spaces revised"
    tail = cli("tail", result["run_id"], "-n", "100")
    assert "[revision #2 round 1]" in tail.stdout and "picked draft #2" in tail.stdout


def test_bad_pattern_input_exits_2_naming_the_option() -> None:
    one = cli("debate", "q", "--models", "scripted")
    assert one.returncode == 2 and "--models" in one.stderr
    rounds = cli("debate", "q", "--models", "scripted,scripted", "--rounds", "99")
    assert rounds.returncode == 2 and "--rounds" in rounds.stderr


def test_ctrl_c_cancels_a_consult_mid_way_and_exits_130(tmp_path: Path) -> None:
    slow = write_scenario(tmp_path / "s.json", {"consult": [{"text": "late", "delay": 60}]})
    quick = write_scenario(tmp_path / "q.json", {"consult": ["early answer"]})
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopwright", "consult", QUESTION, "--models", f"{quick},{slow}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _printed(proc, "early answer", timeout=30)  # the first answer, live
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "CANCELLED" in out


def _printed(proc: subprocess.Popen[str], text: str, timeout: float) -> bool:
    """Read ``proc``'s output (raw, unbuffered) until it holds ``text`` or ``timeout`` passes."""
    assert proc.stdout is not None
    fd, seen = proc.stdout.fileno(), b""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0 and text.encode() not in seen:
        ready, _, _ = select.select([fd], [], [], left)
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            break
        seen += chunk
    return text.encode() in seen
