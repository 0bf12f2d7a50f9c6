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
