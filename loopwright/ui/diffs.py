"""Each iteration's diff, from its checkpoint commit, and a small highlighter for it.

An iteration's checkpoint is one commit whose parent is the previous checkpoint (or the
run's base), so ``git diff sha^ sha`` is exactly that iteration's work. The sha comes from
the run's own log but is still checked to be a full hex object name before it reaches
git's argv, and git runs with no external diff and no textconv the repository might
configure. Diffs of commits never change: a few are kept in memory.
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any

from ..errors import InvalidState, ProcessError
from ..runs.git.gitcmd import git

__all__ = ["PATCH_CAP", "checkpoint_diff", "highlight"]

PATCH_CAP = 200_000
"""Characters of one iteration's patch shown; the rest is cut (and said to be)."""
SHA_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def checkpoint_diff(repo: str, sha: str) -> dict[str, Any]:
    """``{sha, patch, truncated}`` of one checkpoint commit in ``repo``."""
    if not SHA_RE.match(sha):
        raise InvalidState(f"checkpoint {sha[:80]!r} is not a commit id")
    return dict(_diff(repo, sha))


@functools.lru_cache(maxsize=64)
def _diff(repo: str, sha: str) -> tuple[tuple[str, Any], ...]:
    try:
        patch = git(repo, "diff", "--no-ext-diff", "--no-textconv", "--no-color", "-M",
                    f"{sha}^", sha, timeout=30)  # fmt: skip
    except ProcessError as exc:
        raise InvalidState(f"the checkpoint {sha[:10]} cannot be read from {repo}: {exc}") from exc
    return (("sha", sha), ("patch", patch[:PATCH_CAP]), ("truncated", len(patch) > PATCH_CAP))


_HUNK = (("@@", "dl-hunk"), ("+", "dl-add"), ("-", "dl-del"), ("\\", "dl-meta"))


def _line_class(line: str, in_header: bool) -> str:
    if in_header:  # between "diff --git" and the first "@@": ---/+++ name the files
        return "dl-file" if line.startswith(("diff --git", "--- ", "+++ ")) else "dl-meta"
    for prefix, cls in _HUNK:
        if line.startswith(prefix):
            return cls
    return "dl-ctx"


def highlight(patch: str) -> str:
    """The patch as HTML lines (escaped), each in a span classed by what it is: file
    header, hunk header, added, deleted or context. The ``---``/``+++`` lines of a file
    header are not taken for a deleted or added line."""
    out: list[str] = []
    in_header = False
    for line in patch.splitlines():
        if line.startswith("diff --git"):
            in_header = True
        elif line.startswith("@@"):
            in_header = False
        cls = _line_class(line, in_header)
        out.append(f'<span class="{cls}">{html.escape(line) or " "}</span>')
    return "".join(out)  # each span is a block: no newline between them
