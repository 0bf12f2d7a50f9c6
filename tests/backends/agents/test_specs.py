"""Specs, the ``cli`` template, and what ``list_backends`` says about each CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.backends.registry import check_spec, list_backends
from loopwright.errors import UserError

from .conftest import call
from .fakes import install


def test_specs_are_checked_and_normalised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, monkeypatch, "claude", "opencode")
    assert check_spec("claude_code") == "claude_code"
    assert check_spec(" claude_code:opus ") == "claude_code:opus"
    assert check_spec("claude_code:?skip_permissions=true") == "claude_code:?skip_permissions=true"
    assert check_spec("opencode:mock/m?idle_timeout=0") == "opencode:mock/m?idle_timeout=0"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("claude_code:sonnet?color=blue", "unknown option 'color'"),
        ("claude_code:?skip_permissions=maybe", "use true or false"),
        ("claude_code:?idle_timeout=-1", "seconds >= 0"),
        ("claude_code:sonnet@gpu1", "runs on this machine"),
        ("opencode:sonnet", "provider/model"),
        ("codex", "npm install -g @openai/codex@0.169.0"),
        ("cli:", "cli needs a command"),
        ("cli:agent 'unclosed", "does not parse"),
        ("cli:no-such-agent-xyz {prompt_file}", "not on PATH"),
    ],
)
def test_bad_specs_are_user_errors_that_name_the_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str, words: str
) -> None:
    install(tmp_path, monkeypatch, "claude", "opencode")
    with pytest.raises(UserError, match="worker") as err:
        check_spec(spec, "worker")
    assert words in str(err.value)


async def test_a_cli_template_gets_the_task_in_a_file(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "my-agent")["my-agent"]
    fake.set(text="did it\n", writes={"out.txt": "x"}, read_stdin=False)
    c = await call("cli:my-agent --yes --task {prompt_file} --in {cwd}", work, prompt="Do X")
    assert c.response.ok and c.response.text == "did it\n"
    assert c.response.usage.cost_usd is None
    argv, files = fake.record["argv"], fake.record["files"]
    assert argv[1:3] == ["--yes", "--task"] and argv[-1] == str(work)
    task = files[argv[3]]
    assert task.startswith("You are a careful worker.") and task.endswith("Do X")
    assert c.kinds("output")[0]["text"] == "did it"


async def test_a_cli_template_without_files_gets_the_task_on_stdin(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "my-agent")["my-agent"]
    fake.set(text="broken\n", exit=3)
    c = await call("cli:my-agent --system {system_file}", work, prompt="Do X")
    assert not c.response.ok and c.response.error == "my-agent exited 3: broken"
    rec = fake.record
    assert rec["stdin"] == "Do X" and rec["files"][rec["argv"][2]] == "You are a careful worker."


async def test_a_cli_config_file_can_read_a_known_stream_format(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "wrapped-claude")["wrapped-claude"]
    fake.set("claude-write.jsonl")
    monkeypatch.setenv("WRAPPER_TOKEN", "wrapper-secret-1")
    config = tmp_path / "agent.toml"
    config.write_text(
        'command = ["wrapped-claude", "--go"]\nformat = "claude"\nenv = ["WRAPPER_TOKEN"]\n'
    )
    assert check_spec(f"cli:{config}") == f"cli:{config.resolve()}"
    c = await call(f"cli:{config}", work)
    assert c.response.ok and c.response.usage.cost_usd == 0.00108
    assert fake.record["env"]["WRAPPER_TOKEN"] == "wrapper-secret-1"
    bad = tmp_path / "bad.toml"
    bad.write_text('command = "x"\nformat = "yaml"\n')
    with pytest.raises(UserError, match="format 'yaml'"):
        check_spec(f"cli:{bad}")


def test_list_backends_says_where_each_cli_is_its_version_and_login_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = install(tmp_path, monkeypatch, "claude", "codex")
    fakes["claude"].set(text="2.1.330 (Claude Code)\n", read_stdin=False)
    fakes["codex"].set(text="codex-cli 0.169.0\n", read_stdin=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret-value")
    for name in ("OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_HOME", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    infos = {i.name: i for i in list_backends()}
    claude, codex, gemini = infos["claude_code"], infos["codex"], infos["gemini_cli"]
    assert claude.available and "2.1.330 (Claude Code)" in claude.reason
    assert str(fakes["claude"].bin_dir / "claude") in claude.reason
    assert "ANTHROPIC_API_KEY is set" in claude.reason and not claude.fix
    assert not codex.available and "codex login" in codex.fix  # installed, no login
    assert "codex-cli 0.169.0" in codex.reason
    assert not gemini.available and "npm install -g @google/gemini-cli@0.61.0" in gemini.fix
    assert infos["cli"].available
    assert "sk-ant-very-secret-value" not in repr(list_backends())


def test_aider_caches_are_excluded_in_the_shared_git_dir_of_a_worktree(tmp_path: Path) -> None:
    import subprocess

    from loopwright.backends.agents.presets import exclude_aider_files

    main, wt = tmp_path / "main", tmp_path / "wt"
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(main)], check=True, timeout=30)
    (main / "a.py").write_text("a = 1\n")
    subprocess.run([*git, "-C", str(main), "add", "."], check=True, timeout=30)
    subprocess.run([*git, "-C", str(main), "commit", "-qm", "init"], check=True, timeout=30)
    subprocess.run(
        ["git", "-C", str(main), "worktree", "add", "-q", str(wt)], check=True, timeout=30
    )
    (wt / "sub").mkdir()
    exclude_aider_files(str(wt / "sub"))
    exclude_aider_files(str(wt))  # idempotent
    assert (main / ".git" / "info" / "exclude").read_text().splitlines().count(".aider*") == 1
    (wt / ".aider.tags.cache.v4").mkdir()
    (wt / ".aider.tags.cache.v4" / "cache.db").write_text("x")
    status = subprocess.run(
        ["git", "-C", str(wt), "status", "--porcelain"], capture_output=True, text=True, timeout=30
    )
    assert ".aider" not in status.stdout
    exclude_aider_files(str(tmp_path / "not-a-repo"))  # nothing to do, no error
