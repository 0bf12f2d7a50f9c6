"""The dashboard's small parts: the diff highlighter, the checkpoint diff's argv, the
timeline fold and its incremental reading, the gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.errors import InvalidState
from loopwright.runs.eventlog import EventWriter
from loopwright.ui.diffs import checkpoint_diff, highlight
from loopwright.ui.gate import TokenGate, new_token
from loopwright.ui.timeline import Timelines

PATCH = """diff --git a/x.py b/x.py
index 1111111..2222222 100644
--- a/x.py
+++ b/x.py
@@ -1,3 +1,3 @@ def f():
 keep <b>
--- a removed line that starts with two dashes
+++ an added line that starts with two pluses
\\ No newline at end of file"""


def test_the_highlighter_classes_each_line_by_what_it_is_and_escapes_it() -> None:
    spans = highlight(PATCH).split("</span>")
    classes = [s.split('"')[1] for s in spans if s]
    assert classes == ["dl-file", "dl-meta", "dl-file", "dl-file", "dl-hunk", "dl-ctx",
                       "dl-del", "dl-add", "dl-meta"]  # fmt: skip
    assert "keep &lt;b&gt;" in highlight(PATCH) and "<b>" not in highlight(PATCH)


def test_a_checkpoint_that_is_not_a_full_commit_id_never_reaches_git(tmp_path: Path) -> None:
    out = tmp_path / "written-by-git"
    for sha in (f"--output={out}", "HEAD", "abc", "0" * 39, "g" * 40, "0" * 40 + "\n"):
        with pytest.raises(InvalidState):
            checkpoint_diff(str(tmp_path), sha)
    assert not out.exists()


def test_a_diff_ignores_an_external_diff_the_repository_configures(repo: Path) -> None:
    from loopwright.runs.git.gitcmd import git

    marker = repo / "ext-diff-ran"
    tool = repo.parent / "tool.sh"
    tool.write_text(f"#!/bin/sh\ntouch {marker}\n")
    tool.chmod(0o755)
    git(repo, "config", "diff.external", str(tool))
    (repo / "a.txt").write_text("one\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "a")
    sha = git(repo, "rev-parse", "HEAD").strip()
    patch = checkpoint_diff(str(repo), sha)["patch"]
    assert "+one" in patch and not marker.exists()


def test_the_timeline_reads_only_what_was_appended_since_its_last_look(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    w = EventWriter(log, "r")
    w.append("plan", 1, {"subgoals": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}]})
    w.append("worker_started", 1, {"subgoal": "a", "backend": "x", "attempt": 1})
    timelines = Timelines()
    with timelines.lock:
        fold = timelines.get(log)
        assert fold.events == 2
        assert [s.status for s in fold.iterations[1].subgoals.values()] == ["running", "planned"]
    w.append("worker_finished", 1, {"subgoal": "a", "status": "failed", "error": "boom"})
    w.append("model_call", 1, {"provider": "p", "model": "m", "input_tokens": 3,
                               "output_tokens": 4, "cost_usd": None})  # fmt: skip
    w.append("plan", 2, {"subgoals": [{"id": "c", "title": "C"}]})
    w.append("plan", 2, {"subgoals": [{"id": "d", "title": "D"}]})  # planned again: replaced
    w.close()
    with timelines.lock:
        fold = timelines.get(log)
        assert fold.events == 6 and fold.cursor == str(log.stat().st_size)
        a = fold.iterations[1].subgoals["a"]
        assert (a.status, a.error, a.backend) == ("failed", "boom", "x")
        assert list(fold.iterations[2].subgoals) == ["d"]
        use = fold.models["p:m"]
        assert (use.calls, use.input_tokens, use.output_tokens) == (1, 3, 4)
        assert use.unknown_cost_calls == 1


def test_the_gate_wants_a_long_token_and_tokens_differ() -> None:
    with pytest.raises(ValueError):
        TokenGate(lambda s, r, x: None, "short")  # type: ignore[arg-type,return-value]
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) == 32 for t in tokens)
