"""The Gemini backend without the ``[gemini]`` extra: a clean error naming the install
command, exit 2, and no run created; ``backends`` says why it is not available."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

WITHOUT_GOOGLE = """
import sys

class NoGoogle:  # as if the [gemini] extra (google-genai) were not installed
    def find_spec(self, name, path=None, target=None):
        if name == "google" or name.startswith("google."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoGoogle())
from loopwright.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_gemini_backend_without_its_extra_is_a_clean_error_creating_no_run(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    done = subprocess.run([sys.executable, "-c", WITHOUT_GOOGLE, "run", "x", "--backend",
                           "gemini:gemini-2.5-pro"], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("loopwright: error: --backend: ")
    assert done.stderr.endswith(
        "gemini needs the google-genai SDK: pip install 'loopwright[gemini]' (the google-genai "
        "SDK)\n"
    )
    assert not (home / "runs").exists() and not (home / "scratch").exists()
    listed = subprocess.run([sys.executable, "-c", WITHOUT_GOOGLE, "backends"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert listed.returncode == 0 and "google-genai not installed" in listed.stdout
