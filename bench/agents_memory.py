"""Memory while a coding-agent CLI worker prints 1 GB: RSS must stay flat.

A fake CLI prints ``--mb`` MiB of 1 KiB lines: plain text through the ``aider`` reader,
stream-json lines through the ``claude_code`` reader (``--format claude``), or one line
with no break at all (``--format oneline``, aider reader). The call goes
through the registry's backend with a capped output file and an event sink, as in a run.
RSS of this process is sampled every 50 ms; the report gives it before, at peak, after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from loopwright.backends.base import AgentRequest
from loopwright.backends.registry import create_backend
from loopwright.runs.recorder import CappedFile
from loopwright.runs.redact import Redactor


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fake(bin_dir: Path, name: str, mb: int, fmt: str) -> None:
    if fmt == "claude":
        msg = {"type": "assistant", "message": {"content": [{"type": "text", "text": "x" * 960}]}}
        line = json.dumps(msg)
        end = '{"type":"result","is_error":false,"result":"done","usage":{},"total_cost_usd":0}'
    else:
        line, end = "x" * 1023, "Tokens: 1k sent, 1k received."
    newline = "" if fmt == "oneline" else "\\n"  # oneline: 1 GB without a line break
    script = bin_dir / name
    script.write_text(
        "#!/usr/bin/env python3\nimport sys\n"
        f"block = ({line!r} + '{newline}').encode() * 1024\n"
        f"for _ in range({mb}):\n    sys.stdout.buffer.write(block)\n"
        f"print({end!r})\n"
    )
    script.chmod(0o755)


async def main(mb: int, fmt: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="lw-bench-mem-"))
    bin_dir, work = root / "bin", root / "work"
    bin_dir.mkdir()
    work.mkdir()
    name, spec = ("claude", "claude_code") if fmt == "claude" else ("aider", "aider")
    fake(bin_dir, name, mb, fmt)
    os.environ["PATH"] = f"{bin_dir}:{os.environ['PATH']}"
    backend = create_backend(spec)
    events: list[Any] = []
    out = CappedFile(str(root / "worker.out"), Redactor.from_env())
    request = AgentRequest(
        "work", "", "print a lot", str(work), 3600,
        emit=lambda t, d: events.append((t, d)), output=out, may_edit=True,
    )  # fmt: skip
    before = rss_mb()
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            samples.append(rss_mb())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    started = time.perf_counter()
    response = await backend.run(request)
    elapsed = time.perf_counter() - started
    done.set()
    thread.join()
    out.close()
    size = (root / "worker.out").stat().st_size
    print(
        f"{spec}: {mb} MiB printed in {elapsed:.1f} s ({mb / elapsed:.0f} MiB/s), ok={response.ok}"
    )
    peak = max(samples or [before])
    print(f"RSS before {before:.1f} MB, peak {peak:.1f} MB, after {rss_mb():.1f} MB")
    print(f"output file {size / 2**20:.1f} MiB (capped), events {len(events)}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--format", choices=["text", "claude", "oneline"], default="text")
    args = ap.parse_args()
    asyncio.run(main(args.mb, args.format))
