"""What the README tells a newcomer to type for installing and registering loopwright is
well formed and points at what the install makes. The real clients run these same lines in
tests/server/test_real_agent_clients.py (marker real_clients); these checks are the cheap
part that runs with every suite."""

from __future__ import annotations

import json
import shlex
import tomllib
from pathlib import Path

from .readme import readme_blocks, readme_line

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())


def test_the_first_claude_code_line_names_the_program_the_try_it_install_makes() -> None:
    first = readme_blocks("Try it: two commands", "sh")[0]
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install . ")
    assert "loopwright" in PYPROJECT["project"]["scripts"]  # so .venv/bin/loopwright exists
    line = readme_line("Claude Code", "claude mcp add")
    assert shlex.split(line)[-3:] == ["--", "$(pwd)/.venv/bin/loopwright", "serve"]
    assert line.endswith('-- "$(pwd)/.venv/bin/loopwright" serve')
    assert "--scope user" in line  # from the checkout, yet for every project


def test_every_registration_line_starts_loopwright_serve() -> None:
    lines = {
        "Claude Code": "claude mcp add --scope user loopwright -- loopwright serve",
        "Codex": "codex mcp add loopwright -- loopwright serve",
        "Gemini CLI": "gemini mcp add -s user loopwright loopwright serve",
    }
    for title, expected in lines.items():
        prefix = " ".join(expected.split()[:3])
        found = [
            ln.split("#")[0].strip()
            for block in readme_blocks(title, "sh")
            for ln in block.splitlines()
            if ln.startswith(prefix)
        ]
        assert expected in found, (title, found)


def test_every_settings_block_parses_and_runs_loopwright_serve() -> None:
    for title in ("Cline", "Cursor", "Windsurf"):
        (block,) = readme_blocks(title, "json")
        server = json.loads(block)["mcpServers"]["loopwright"]
        assert (server["command"], server["args"]) == ("loopwright", ["serve"]), title
    (table,) = readme_blocks("Codex", "toml")
    server = tomllib.loads(table)["mcp_servers"]["loopwright"]
    assert (server["command"], server["args"]) == ("loopwright", ["serve"])


def test_the_install_section_shows_pipx_uv_and_uvx_from_a_checkout() -> None:
    (block,) = readme_blocks("Install", "sh")
    assert block.startswith("pipx install .")
    assert "uv tool install ." in block and "loopwright --version" in block
    text = Path(__file__).resolve().parents[1].joinpath("README.md").read_text()
    assert "`uvx --from . loopwright demo`" in text


def test_doctor_advises_on_the_timeouts_of_every_client_the_readme_registers() -> None:
    from loopwright.server.doctor import ADVICE

    for client in ("Claude Code", "Codex", "Gemini CLI", "Cline", "Cursor", "Windsurf"):
        readme_blocks(client, "")  # the README has the client's section
        assert any(client in advice.split(":")[0] for advice in ADVICE), client
