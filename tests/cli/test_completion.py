"""``loopwright completion``: written from the parser, and bash completes with it."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from loopwright.cli.completion import commands_of, script
from loopwright.cli.parser import build_parser
from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore


def nothing(args: argparse.Namespace) -> int:
    return 0


def real_parser() -> argparse.ArgumentParser:
    return build_parser(defaultdict(lambda: nothing), "0")


def complete(words: list[str], tmp_path: Path) -> list[str]:
    """What bash offers for ``words`` (the last one being typed), with the script loaded."""
    bin_dir = Path(sys.executable).parent
    code = (
        f'eval "$({bin_dir}/loopwright completion bash)"\n'
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        '_loopwright; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "--norc", "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, check=True)  # fmt: skip
    return done.stdout.split()


def test_bash_completes_commands_options_choices_and_run_ids(
    store: RunStore, tmp_path: Path
) -> None:
    run = runner.start_thread(store, build_request("something"))
    assert run.wait(30)["state"] == "completed"
    assert complete(["loopwright", "mer"], tmp_path) == ["merge"]
    assert complete(["loopwright", "run", "--quo"], tmp_path) == ["--quorum"]
    assert complete(["loopwright", "run", "--quorum", "m"], tmp_path) == ["majority"]
    assert complete(["loopwright", "gc", "--state", "sto"], tmp_path) == ["stopped"]
    assert complete(["loopwright", "completion", "f"], tmp_path) == ["fish"]
    assert complete(["loopwright", "ollama", "p"], tmp_path) == ["profile", "pull"]
    assert complete(["loopwright", "tail", run.run_id[:12]], tmp_path) == [run.run_id]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_every_command_and_option_of_the_parser_is_in_the_script(shell: str) -> None:
    p = real_parser()
    text = script(shell, p)
    for cmd in commands_of(p):
        assert cmd.name in text
        for option in cmd.options:
            for flag in option.flags:
                assert (flag if shell != "fish" else flag.lstrip("-")) in text, (cmd.name, flag)
    assert "older-than" in text and "completed" in text
