"""Real MCP clients against ``loopwright serve``: MCP Inspector 2.12.0 and Claude Code 2.1.330.

Installed by ``.ci/real_clients.sh`` into ``$LOOPWRIGHT_CI_CACHE`` (default
``~/.cache/loopwright-ci``). Missing clients skip locally and FAIL when ``CI=true``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from loopwright.runs.git.scratch import make_scratch_repo
from loopwright.runs.store import RunStore

from ..helpers import write_scenario
from .conftest import ASKING
from .fake_anthropic import Script, serve
from .test_stdio import LOOPWRIGHT
from .test_tools import TOOLS

pytestmark = pytest.mark.real_clients
CACHE = Path(os.environ.get("LOOPWRIGHT_CI_CACHE", Path.home() / ".cache" / "loopwright-ci"))


def client_bin(sub: str, name: str) -> str:
    found = CACHE / sub / "node_modules" / ".bin" / name
    if found.exists():
        return str(found)
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is not installed under {CACHE}: run .ci/real_clients.sh")
    pytest.skip(f"{name} not installed (run .ci/real_clients.sh)")


def run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> str:
    """Run a client with stdin /dev/null in its own session; the whole group dies after."""
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 0, f"{argv[0]} exit {proc.returncode}: {err.decode()[-2000:]}"
    return out.decode()


@pytest.fixture
def client_env(tmp_path: Path, home: Path) -> dict[str, str]:
    (tmp_path / "client-home").mkdir()
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "client-home"),
        "LOOPWRIGHT_HOME": str(home),
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "NO_COLOR": "1",
        "XDG_CONFIG_HOME": str(tmp_path / "client-home" / ".config"),
    }


def inspector(env: dict[str, str], cwd: Path, *args: str) -> Any:
    argv = [
        client_bin("inspector", "mcp-inspector"),
        "--cli",
        "-e",
        f"LOOPWRIGHT_HOME={env['LOOPWRIGHT_HOME']}",
        LOOPWRIGHT,
        "serve",
        *args,
    ]
    return json.loads(run(argv, env, cwd))


def test_inspector_lists_every_tool_and_calls_doctor_and_orchestrate(
    client_env: dict[str, str], tmp_path: Path, home: Path
) -> None:
    listed = inspector(client_env, tmp_path, "--method", "tools/list")
    assert {t["name"] for t in listed["tools"]} == TOOLS
    doctor = inspector(client_env, tmp_path, "--method", "tools/call", "--tool-name", "doctor")
    assert not doctor["isError"] and doctor["structuredContent"]["versions"]["mcp"]
    done = inspector(
        client_env,
        tmp_path,
        "--method",
        "tools/call",
        "--tool-name",
        "orchestrate",
        "--tool-arg",
        "goal=write the scripted file",
        "--tool-arg",
        "detach=false",
    )
    reply = done["structuredContent"]
    assert not done["isError"] and reply["status"] == "completed"
    assert RunStore(home).read_result(reply["run_id"])["state"] == "completed"  # type: ignore[index]


def test_inspector_on_2026_07_28_settles_a_detached_orchestrate_as_a_task(
    client_env: dict[str, str], tmp_path: Path, home: Path
) -> None:
    """Inspector declares the tasks extension: the detached run comes back as a task it
    polls with tasks/get until the run's result (a plain reply would say "running")."""
    done = inspector(
        client_env,
        tmp_path,
        "--protocol-era",
        "modern",
        "--method",
        "tools/call",
        "--tool-name",
        "orchestrate",
        "--tool-arg",
        "goal=write the file",
    )
    reply = done["structuredContent"]
    assert not done["isError"] and reply["status"] == "completed"
    assert RunStore(home).read_result(reply["run_id"])["state"] == "completed"  # type: ignore[index]


def test_claude_code_adds_loopwright_and_lists_it_connected(
    client_env: dict[str, str], tmp_path: Path
) -> None:
    claude = client_bin("claude", "claude")
    run(
        [
            claude,
            "mcp",
            "add",
            "loopwright",
            "-e",
            f"LOOPWRIGHT_HOME={client_env['LOOPWRIGHT_HOME']}",
            "--",
            LOOPWRIGHT,
            "serve",
        ],
        client_env,
        tmp_path,
    )
    listed = run([claude, "mcp", "list"], client_env, tmp_path)
    line = next(ln for ln in listed.splitlines() if ln.startswith("loopwright"))
    assert "Connected" in line, listed


def claude_headless(client_env: dict[str, str], tmp_path: Path, port: int) -> list[str]:
    """``claude -p`` argv (and its env, updated in place) pointed at the scripted endpoint."""
    config = tmp_path / "mcp.json"
    server = {
        "command": LOOPWRIGHT,
        "args": ["serve"],
        "env": {"LOOPWRIGHT_HOME": client_env["LOOPWRIGHT_HOME"]},
    }
    config.write_text(json.dumps({"mcpServers": {"loopwright": server}}))
    client_env.update(
        ANTHROPIC_BASE_URL=f"http://127.0.0.1:{port}",
        ANTHROPIC_API_KEY="sk-ant-test",
        CLAUDE_CODE_MAX_RETRIES="0",
        ENABLE_TOOL_SEARCH="false",
    )
    names = ("orchestrate", "orchestrate_tail", "orchestrate_resume")
    tools = ",".join(f"mcp__loopwright__{t}" for t in names)
    return [
        client_bin("claude", "claude"),
        "-p",
        "Run the loop.",
        "--output-format",
        "stream-json",
        "--verbose",
        "--mcp-config",
        str(config),
        "--strict-mcp-config",
        "--allowedTools",
        tools,
    ]


@pytest.mark.parametrize("where", ["scratch", "project"])
def test_claude_code_orchestrates_and_tails_a_run_to_completion(
    client_env: dict[str, str], tmp_path: Path, home: Path, where: str
) -> None:
    """``project``: cwd is a repository inside Claude Code's root (its working dir), which
    the server reads with a roots round on 2026-07-28."""
    args = {"cwd": str(make_scratch_repo(tmp_path / "app"))} if where == "project" else {}
    script = Script(goal="write the scripted file", **args)
    httpd, port = serve(script)
    try:
        argv = claude_headless(client_env, tmp_path, port)
        out = run(argv, client_env, tmp_path, timeout=180)
    finally:
        httpd.shutdown()
        httpd.server_close()
    final = json.loads(out.strip().splitlines()[-1])
    assert final["type"] == "result" and not final["is_error"], final
    assert not final.get("permission_denials"), final
    assert script.calls[0] == "orchestrate" and script.calls[-1] == "orchestrate_tail"
    assert script.run_id and not script.errors
    result = RunStore(home).read_result(script.run_id)
    assert result is not None and result["state"] == "completed"
    assert f"DONE {script.run_id} completed" in final["result"]
    if where == "project":
        assert result["workspace"]["repo"] == args["cwd"]


def test_headless_claude_code_cancels_the_question_form_and_resumes_the_same_run(
    client_env: dict[str, str], tmp_path: Path, home: Path
) -> None:
    backend = write_scenario(tmp_path / "asking.json", ASKING)
    script = Script(goal="write the scripted file", questions="ask", backend=backend)
    httpd, port = serve(script)
    try:
        run(claude_headless(client_env, tmp_path, port), client_env, tmp_path, timeout=180)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert script.calls[:2] == ["orchestrate", "orchestrate_resume"], script.calls
    assert script.run_id and not script.errors
    result = RunStore(home).read_result(script.run_id)
    assert result is not None and result["state"] == "completed"
    assert len(list((home / "runs").iterdir())) == 1


def test_claude_code_roots_refuse_a_sibling_dir_with_a_common_prefix(
    client_env: dict[str, str], tmp_path: Path
) -> None:
    outside = make_scratch_repo(tmp_path.with_name(tmp_path.name + "-outside"))
    script = Script(goal="write the scripted file", cwd=str(outside))
    httpd, port = serve(script)
    try:
        run(claude_headless(client_env, tmp_path, port), client_env, tmp_path, timeout=180)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert script.calls == ["orchestrate"] and script.run_id is None
    assert "outside the client's roots" in str(script.errors), script.errors


def test_the_cache_dir_holds_pinned_versions() -> None:
    for sub, pkg, version in (
        ("claude", "@anthropic-ai/claude-code", "2.1.330"),
        ("inspector", "@modelcontextprotocol/inspector", "2.12.0"),
    ):
        client_bin(sub, "claude" if sub == "claude" else "mcp-inspector")
        meta = json.loads((CACHE / sub / "node_modules" / pkg / "package.json").read_text())
        assert meta["version"] == version
    assert shutil.which("node")
