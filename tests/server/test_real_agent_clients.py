"""Codex 0.169.0, Gemini CLI 0.61.0 and the Cline CLI 3.0.65 as MCP clients of ``loopwright
serve``, and Claude Code 2.1.330 registered by the README's first line.

Each client registers loopwright with the line (or settings block) README.md gives for it,
read from the README here, so a line that stops working fails a test. A scripted model on
127.0.0.1 (``tests/backends/agents/mockmodel.py``, in the client's own wire format) calls
``orchestrate`` (the scripted backend, a scratch git repository inside the client's
working dir, a verify command), then ``orchestrate_result(wait=true)`` on the run it
started, then ends; the test reads the result the model got back and the run store.
``loopwright`` is found on ``PATH`` (the dev venv's, as after ``pipx install .``); the
state dir is the default one under the client's own ``HOME``, since Codex passes the
server only a few environment variables.

Installed by ``.ci/real_clients.sh``: cline under ``$LOOPWRIGHT_CI_CACHE/cline``, codex
and gemini in ``.ci/real_agents.sh``'s cache. A missing program skips locally and FAILS
under ``CI=true``. Every client runs with stdin /dev/null in its own process group under a
time limit; the group then gets SIGINT (Cline ignores SIGTERM) and SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from loopwright.runs.git.scratch import make_scratch_repo
from loopwright.runs.store import RunStore

from ..backends.agents.mockmodel import MockModel
from ..readme import readme_blocks, readme_line
from .test_stdio import LOOPWRIGHT

pytestmark = pytest.mark.real_clients
CACHE = Path(os.environ.get("LOOPWRIGHT_CI_CACHE", Path.home() / ".cache" / "loopwright-ci"))
AGENTS = Path(os.environ.get("LOOPWRIGHT_AGENTS_CACHE", CACHE / "agents"))
PROMPT = "Run a coding loop with loopwright and report its result."
LIMIT = 120.0
"""Seconds one client invocation may take (a scripted run takes a few)."""


def program(path: Path) -> str:
    if path.exists():
        return str(path)
    if os.environ.get("CI") == "true":
        pytest.fail(f"{path} is not installed: run .ci/real_clients.sh")
    pytest.skip(f"{path.name} is not installed (.ci/real_clients.sh installs it)")


def as_run(line: str, program_path: str) -> list[str]:
    """A README line as argv, its first word the installed program."""
    argv = shlex.split(line, comments=True)
    return [program_path, *argv[1:]]


def _end_group(proc: subprocess.Popen[str]) -> None:
    """SIGINT to the client's process group (Cline ignores SIGTERM), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run_client(
    argv: list[str], env: dict[str, str], cwd: Path, limit: float = LIMIT
) -> tuple[str, str]:
    """Run a client to its end (exit 0 required); its stdout and stderr."""
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _end_group(proc)
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"{argv[:3]} still running after {limit} s:\n{out[-2000:]}\n{err[-2000:]}")
    finally:
        _end_group(proc)
    assert proc.returncode == 0, f"{argv[:3]} exit {proc.returncode}:\n{out[-2000:]}\n{err[-2000:]}"
    return out, err


@dataclass
class Client:
    home: Path
    work: Path
    repo: Path
    env: dict[str, str]

    @property
    def store(self) -> RunStore:
        """The server's state dir: the default under the client's HOME."""
        return RunStore(self.home / ".local" / "state" / "loopwright")


@pytest.fixture
def client(tmp_path: Path) -> Client:
    home, work = tmp_path / "client-home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    path = f"{Path(LOOPWRIGHT).parent}{os.pathsep}{os.environ['PATH']}"
    env = {"PATH": path, "HOME": str(home), "NO_COLOR": "1", "LANG": "C.UTF-8"}
    assert shutil.which("loopwright", path=path) == LOOPWRIGHT
    return Client(home, work, make_scratch_repo(work / "app"), env)


@pytest.fixture
def mock() -> Iterator[MockModel]:
    with MockModel() as m:
        yield m


END = ("text", "The loopwright run completed.")


def script(
    mock: MockModel, scenario: str, client: Client, names: tuple[str, str], end: Any = END
) -> str:
    """The model's turns: orchestrate, orchestrate_result on the run it started, ``end``."""
    start = {
        "goal": "write the scripted file",
        "backend": "scripted",
        "cwd": str(client.repo),
        "verify_commands": [["test", "-f", "loopwright-scripted.md"]],
    }
    follow = {"run_id": "{run_id}", "wait": True, "timeout": 50}
    return mock.script(scenario, ("tool", names[0], start), ("tool", names[1], follow), end)


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a request body, also inside strings (tool results as text)."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _dicts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dicts(v)
    elif isinstance(value, str) and "{" in value and "}" in value:
        with contextlib.suppress(ValueError):
            yield from _dicts(json.loads(value[value.index("{") : value.rindex("}") + 1]))


def assert_completed(mock: MockModel, client: Client) -> dict[str, Any]:
    """The model got back orchestrate_result's reply of a completed run, which the run
    store holds (the only run) with its verify passed in the client's scratch repo."""
    replies = [d for r in mock.requests for d in _dicts(r["body"]) if {"done", "run_id"} <= set(d)]
    assert replies, "no orchestrate_result reply reached the model"
    reply = replies[-1]
    assert reply["done"] is True and reply["state"] == "completed", reply
    result = client.store.read_result(reply["run_id"])
    assert result is not None and result["state"] == "completed", result
    assert result["workspace"]["repo"] == str(client.repo)
    assert [p.name for p in (client.store.home / "runs").iterdir()] == [reply["run_id"]]
    return reply


def test_codex_registered_by_the_readme_line_orchestrates_a_run_and_reads_its_result(
    client: Client, mock: MockModel
) -> None:
    codex = program(AGENTS / "codex" / "node_modules" / ".bin" / "codex")
    run_client(as_run(readme_line("Codex", "codex mcp add"), codex), client.env, client.work)
    written = tomllib.loads((client.home / ".codex" / "config.toml").read_text())
    shown = tomllib.loads(readme_blocks("Codex", "toml")[0])
    assert written["mcp_servers"] == shown["mcp_servers"]  # the README's table is what it wrote
    # Responses API: Codex offers an MCP server's tools in a namespace
    url = script(
        mock, "codex", client, ("mcp__loopwright/orchestrate", "mcp__loopwright/orchestrate_result")
    )
    provider = (
        f'model_providers.mock={{name="Mock",base_url="{url}/v1",env_key="MOCK_API_KEY",'
        'wire_api="responses",request_max_retries=0,stream_max_retries=0}'
    )
    argv = [codex, "exec", "--json", "--skip-git-repo-check", "--ephemeral"]
    argv += ["--dangerously-bypass-approvals-and-sandbox", "-m", "mock-model"]
    argv += ["-c", "model_provider=mock", "-c", provider]
    argv += ["-c", "mcp_servers.loopwright.required=true", PROMPT]
    out, _ = run_client(argv, {**client.env, "MOCK_API_KEY": "sk-mock"}, client.work)
    calls = [
        json.loads(line)["item"]
        for line in out.splitlines()
        if '"mcp_tool_call"' in line and '"item.completed"' in line
    ]
    assert [(c["server"], c["tool"]) for c in calls] == [
        ("loopwright", "orchestrate"),
        ("loopwright", "orchestrate_result"),
    ], out
    assert_completed(mock, client)


def test_gemini_cli_registered_by_the_readme_line_orchestrates_a_run_and_reads_its_result(
    client: Client, mock: MockModel
) -> None:
    gemini = program(AGENTS / "gemini" / "node_modules" / ".bin" / "gemini")
    url = script(
        mock, "gemini", client, ("mcp_loopwright_orchestrate", "mcp_loopwright_orchestrate_result")
    )
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"enableAutoUpdate": False, "maxAttempts": 1},
    }
    (client.home / ".gemini").mkdir()
    (client.home / ".gemini" / "settings.json").write_text(json.dumps(settings))
    env = {
        **client.env,
        "GEMINI_API_KEY": "mock-key",
        "GOOGLE_GEMINI_BASE_URL": url,
        "GEMINI_CLI_NO_RELAUNCH": "true",
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
    }
    run_client(as_run(readme_line("Gemini CLI", "gemini mcp add"), gemini), env, client.work)
    listed = "".join(run_client([gemini, "mcp", "list"], env, client.work))
    assert re.search(r"loopwright: .*loopwright serve .*Connected", listed), listed
    argv = [gemini, "-p", PROMPT, "-o", "stream-json", "--yolo", "-m", "gemini-2.5-flash"]
    out, _ = run_client(argv, env, client.work)
    used = [json.loads(ln)["tool_name"] for ln in out.splitlines() if '"tool_use"' in ln]
    assert used == ["mcp_loopwright_orchestrate", "mcp_loopwright_orchestrate_result"], out
    assert assert_completed(mock, client)["result"]["state"] == "completed"


def test_cline_cli_with_the_readme_settings_orchestrates_a_run_and_reads_its_result(
    client: Client, mock: MockModel
) -> None:
    cline = program(CACHE / "cline" / "node_modules" / ".bin" / "cline")
    names = ("loopwright__orchestrate", "loopwright__orchestrate_result")
    # with -y only submit_and_exit ends Cline's run
    done = {"summary": "The loopwright run completed.", "verified": True}
    url = script(mock, "cline", client, names, ("tool", "submit_and_exit", done))
    settings = client.home / ".cline" / "data" / "settings" / "cline_mcp_settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(readme_blocks("Cline", "json")[0])
    env = {**client.env, "CLINE_NO_AUTO_UPDATE": "1", "CLINE_SESSION_BACKEND_MODE": "local"}
    auth = [cline, "auth", "--provider", "openai-compatible", "--apikey", "sk-mock"]
    auth += ["--modelid", "mock-model", "--baseurl", f"{url}/v1"]
    run_client(auth, env, client.work)
    out, _ = run_client([cline, "--json", "-y", "-c", str(client.work), PROMPT], env, client.work)
    events = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    used = [
        e["event"]["toolName"]
        for e in events
        if e.get("type") == "agent_event" and e["event"].get("type") == "content_end"
    ]
    assert used == ["loopwright__orchestrate", "loopwright__orchestrate_result", "submit_and_exit"]
    assert events[-1]["type"] == "run_result" and events[-1]["finishReason"] == "completed", out
    assert_completed(mock, client)


def test_claude_code_registered_by_the_readme_first_line_after_try_it_connects_anywhere(
    client: Client, tmp_path: Path
) -> None:
    """The line runs in a checkout whose .venv (as Try it makes it) holds loopwright, with
    loopwright not on PATH; `claude mcp list` in another directory shows it connected."""
    claude = program(CACHE / "claude" / "node_modules" / ".bin" / "claude")
    checkout = tmp_path / "checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin" / "loopwright").symlink_to(LOOPWRIGHT)
    line = readme_line("Claude Code", "claude mcp add")
    assert '"$(pwd)/.venv/bin/loopwright"' in line
    bare = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "loopwright").exists()
    )
    env = {
        **client.env,
        "PATH": f"{Path(claude).parent}{os.pathsep}{bare}",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    run_client(["sh", "-c", line], env, checkout)
    listed, _ = run_client([claude, "mcp", "list"], env, client.work)
    entry = next(ln for ln in listed.splitlines() if ln.startswith("loopwright"))
    assert f"{checkout}/.venv/bin/loopwright serve" in entry and "Connected" in entry, listed


def test_the_caches_hold_the_pinned_cline_codex_and_gemini_cli() -> None:
    for where, package, version in (
        (CACHE / "cline", "cline", "3.0.65"),
        (AGENTS / "codex", "@openai/codex", "0.169.0"),
        (AGENTS / "gemini", "@google/gemini-cli", "0.61.0"),
    ):
        meta = program(where / "node_modules" / package / "package.json")
        assert json.loads(Path(meta).read_text())["version"] == version, package
