"""``loopwright demo``: a scratch repo with a real bug, fixed by a scripted loop.

The first iteration fixes ``mean`` only, so pytest still fails and the reviewer says so;
the second fixes ``median`` and the run completes. The scenario lives next to this file
(``demo_scenario.json``) and shows the scripted backend's format.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..config import sandbox_default
from ..process.sandbox import INSTALL, sandbox_problem
from ..runs.git.gitcmd import git
from ..runs.git.scratch import make_scratch_repo
from ..runs.ids import new_run_id
from ..runs.preflight import check_sandbox_mode
from ..runs.request import RunRequest, build_request
from ..runs.store import RunStore

SCENARIO = Path(__file__).with_name("demo_scenario.json")

FILES = {
    "README.md": "# calc\n\nA tiny statistics package (with bugs) made by `loopwright demo`.\n",
    "calc/__init__.py": "",
    "calc/stats.py": '''"""Small statistics helpers."""


def mean(values):
    """The arithmetic mean of a non-empty list of numbers."""
    return sum(values) // len(values)


def median(values):
    """The middle value of a non-empty list (the mean of the two middle ones if even)."""
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
''',
    "tests/__init__.py": "",
    "tests/test_stats.py": """import unittest

from calc.stats import mean, median


class StatsTest(unittest.TestCase):
    def test_mean_of_integers_that_do_not_divide_evenly(self):
        self.assertEqual(mean([1, 2]), 1.5)

    def test_median_of_an_odd_count(self):
        self.assertEqual(median([3, 1, 2]), 2)

    def test_median_of_an_even_count(self):
        self.assertEqual(median([4, 1, 3, 2]), 2.5)
""",
    ".gitignore": "__pycache__/\n.pytest_cache/\n",
}

GOAL = (
    "Fix the bugs in calc/stats.py: mean() must return the exact average and median() "
    "must handle lists of even length. The test suite must pass."
)


def verify_command() -> list[str]:
    """Real pytest when it is installed here; the stdlib's unittest otherwise."""
    if importlib.util.find_spec("pytest") is not None:
        return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return [sys.executable, "-m", "unittest", "-v"]


def demo_sandbox(asked: str | None) -> str:
    """The demo's ``--sandbox``: as asked (refused like a run's when bubblewrap cannot
    work); else the configured default, or ``off`` when bubblewrap cannot work here, said
    on stderr: the demo's verify is loopwright's own pytest on its own scratch repo.
    A user's run never falls back like this."""
    if asked is not None:
        check_sandbox_mode(asked)
        return asked
    mode = sandbox_default()
    why = sandbox_problem() if mode != "off" else None
    if why is None:
        return mode
    print(
        f"loopwright demo: the sandbox cannot work here ({why}), so the demo's verify runs "
        f"unsandboxed: it is loopwright's own scratch repo. Install bubblewrap ({INSTALL}) "
        "to confine it; your own runs with --sandbox verify or all are refused instead.",
        file=sys.stderr,
        flush=True,
    )
    return "off"


def demo_request(store: RunStore, sandbox: str | None = None) -> RunRequest:
    """The demo's run: its scratch repo made only once its ``--sandbox`` is settled
    (``demo_sandbox``)."""
    sandbox = demo_sandbox(sandbox)
    repo = make_scratch_repo(store.home / "scratch" / f"demo-{new_run_id()}", FILES)
    return build_request(
        GOAL,
        criteria=["python -m pytest passes", "mean and median are right for every input"],
        backend=f"scripted:{SCENARIO}",
        cwd=str(repo),
        verify=[verify_command()],
        budget={"max_iterations": 4, "max_seconds": 300},
        sandbox=sandbox,
    )


def diff_stat(workspace: dict[str, Any]) -> str:
    repo, span = Path(workspace["repo"]), f"{workspace['base']}..{workspace['branch']}"
    log = git(repo, "log", "--oneline", "--reverse", span).rstrip()
    stat = git(repo, "diff", "--stat", workspace["base"], workspace["branch"]).rstrip()
    return f"{log}\n{stat}".strip() or "(none)"
