"""``loopwright hosts profile``: the recorded calls per model x host, as a table and as
JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from loopwright.hosts.profiles import FILE_NAME, ProfileStore

from .test_profiles import profile


def _cli(*args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "loopwright", "hosts", "profile", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_hosts_profile_prints_each_model_and_host_with_json_too(home: Path) -> None:
    store = ProfileStore(home / FILE_NAME)
    for n in range(3):
        store.add_call(profile(1000.0 + n, 70.0 + n, model="gemma", host="llama"))
    store.add_call(profile(2000.0, 9.0, model="qwen", host="gpu1"))
    store.close()
    text = _cli()
    assert "gemma" in text and "llama" in text and "71/71.8" in text and "qwen" in text
    rows = json.loads(_cli("gemma", "--json"))
    assert [(r["model"], r["host"], r["calls"]) for r in rows] == [("gemma", "llama", 3)]
    assert rows[0]["gen_tps"] == {"median": 71.0, "p90": 71.8}
