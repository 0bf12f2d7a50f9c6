"""host.log (the run host's stderr) is redacted like every other file loopwright writes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from loopwright.runs.redact import RedactingWriter, Redactor

SECRET = "sk-ant-api03-hostlogsecret1234567890"


def test_a_secret_split_across_writes_is_redacted_in_the_hosts_stderr() -> None:
    raw = io.StringIO()
    writer = RedactingWriter(raw, Redactor([SECRET]))
    writer.write("Traceback: key=" + SECRET[:10])
    writer.write(SECRET[10:] + " failed\nnext line")
    writer.flush()
    assert SECRET not in raw.getvalue() and SECRET[:12] not in raw.getvalue()
    assert raw.getvalue().endswith("next line") and "[redacted]" in raw.getvalue()


def test_a_traceback_the_run_host_prints_carries_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The host's error names its state dir, whose path here holds the key.
    run_dir = tmp_path / SECRET / "runs" / "20261130-000000000-abcdef"
    run_dir.mkdir(parents=True)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    done = subprocess.run(
        [sys.executable, "-m", "loopwright.runs.host", str(run_dir)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode != 0 and "RunNotFound" in done.stderr
    assert SECRET not in done.stderr and "[redacted]" in done.stderr
