"""Fake coding-agent CLIs: small executables on PATH that replay recorded streams.

A fake records what it was given (argv, environment, stdin, cwd) to ``record.json``, then
does what its config says: write files in its cwd, start a grandchild, print a recorded
stream (``{cwd}`` filled in), flood, print garbage, hang, or exit with a code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

STREAMS = Path(__file__).parent / "streams"

_SCRIPT = """#!{python}
import json, os, subprocess, sys, time
cfg = json.load(open({cfg!r}))
stdin = sys.stdin.read() if cfg.get("read_stdin", True) else None
record = dict(argv=sys.argv, env=dict(os.environ), stdin=stdin, cwd=os.getcwd())
files = {{}}
for arg in sys.argv:
    parent = os.path.basename(os.path.dirname(arg))
    if os.path.isfile(arg) and parent.startswith("loopwright-agent-"):
        files[arg] = open(arg).read()
record["files"] = files
with open(cfg["record"], "w") as f:
    json.dump(record, f)
for path, text in cfg.get("writes", {{}}).items():
    with open(os.path.join(os.getcwd(), path), "w") as f:
        f.write(text)
if cfg.get("grandchild"):
    keep = cfg.get("grandchild_holds_pipe")
    child = subprocess.Popen(["sleep", "300"], stdout=None if keep else subprocess.DEVNULL)
    with open(cfg["grandchild"], "w") as f:
        f.write(str(child.pid))
out = sys.stdout.buffer
if cfg.get("stream"):
    out.write(open(cfg["stream"]).read().replace("{{cwd}}", os.getcwd()).encode())
if cfg.get("text"):
    out.write(cfg["text"].encode())
if cfg.get("garbage"):
    out.write(bytes(range(256)) * 64 + b"\\n{{not json\\n")
if cfg.get("flood"):
    line = (b"x" * 1023) + b"\\n"
    block = line * 1024
    for _ in range(cfg["flood"]):
        out.write(block)
out.flush()
if cfg.get("tick"):
    while True:
        out.write(b"tick\\n"); out.flush(); time.sleep(0.05)
if cfg.get("hang"):
    time.sleep(300)
sys.exit(cfg.get("exit", 0))
"""


class Fake:
    def __init__(self, bin_dir: Path, name: str) -> None:
        self.bin_dir = bin_dir
        self.name = name
        self.dir = bin_dir.parent / f"fake-{name}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cfg_path = self.dir / "cfg.json"
        self.record_path = self.dir / "record.json"
        self.grandchild_path = self.dir / "grandchild.pid"
        path = bin_dir / name
        path.write_text(_SCRIPT.format(python=sys.executable, cfg=str(self.cfg_path)))
        path.chmod(0o755)
        self.set()

    def set(self, stream: str | None = None, **cfg: Any) -> Fake:
        cfg["record"] = str(self.record_path)
        if stream:
            cfg["stream"] = str(STREAMS / stream)
        if cfg.pop("grandchild", False):
            cfg["grandchild"] = str(self.grandchild_path)
        self.cfg_path.write_text(json.dumps(cfg))
        return self

    @property
    def record(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.record_path.read_text())
        return data

    def grandchild(self) -> int:
        return int(self.grandchild_path.read_text())


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *names: str) -> dict[str, Fake]:
    """Fakes for ``names`` on a fresh PATH dir in front of the real PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return {name: Fake(bin_dir, name) for name in names}
