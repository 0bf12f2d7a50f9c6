from __future__ import annotations

import subprocess
import sys

import loopwright


def test_every_name_in_all_is_importable() -> None:
    for name in loopwright.__all__:
        assert getattr(loopwright, name) is not None, name


def test_importing_the_event_log_does_not_import_the_whole_package() -> None:
    code = ("import sys, loopwright.runs.eventlog; "
            "print(' '.join(m for m in ('pydantic', 'anyio', 'git', 'httpx', 'anthropic', 'mcp') "
            "if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_run_host_imports_no_heavy_optional_libraries() -> None:
    code = (
        "import sys, loopwright.runs.host; "
        "print(' '.join(m for m in ('git', 'httpx', 'anthropic', 'mcp') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_run_state_list_and_the_type_agree() -> None:
    from typing import get_args

    from loopwright.loop.vocab import ALL_STATES, LIVE_STATES, TERMINAL_STATES, RunState

    assert get_args(RunState) == ALL_STATES
    assert set(LIVE_STATES) | TERMINAL_STATES < set(ALL_STATES)
