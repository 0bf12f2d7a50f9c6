"""Tests that need a working bubblewrap (marker ``sandbox``): skipped where it is missing,
except under CI (``CI=true``), where a missing or broken bubblewrap fails them."""

from __future__ import annotations

import os

import pytest

from loopwright.process.sandbox import sandbox_problem


def need_sandbox() -> None:
    """Skip (fail under CI) unless a sandboxed command runs here."""
    problem = sandbox_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the sandbox tests need a working bubblewrap (CI installs it): {problem}")
    pytest.skip(f"no working bubblewrap here: {problem}")


@pytest.fixture
def sandbox_works() -> None:
    need_sandbox()
