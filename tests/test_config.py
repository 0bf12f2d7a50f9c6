"""The config files: where they are, what they may hold, and how a mistake is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright import config
from loopwright.backends.settings import ollama_hosts
from loopwright.errors import UserError


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("LOOPWRIGHT_CONFIG", raising=False)
    config.notices()
    return home / "loopwright"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


GPU = '[ollama.hosts.gpu1]\nurl = "http://127.0.0.1:9"\n'


def test_the_user_config_is_read_from_xdg_config_home(config_home: Path) -> None:
    write(config_home / "config.toml", GPU)
    assert ollama_hosts()["gpu1"].url == "http://127.0.0.1:9"
    assert config.notices() == []


def test_the_old_place_in_the_state_dir_is_still_read_with_a_notice(
    home: Path, config_home: Path
) -> None:
    write(home / "loopwright.toml", GPU)
    assert ollama_hosts()["gpu1"].url == "http://127.0.0.1:9"
    (notice,) = config.notices()
    assert str(home / "loopwright.toml") in notice and str(config_home / "config.toml") in notice
    write(config_home / "config.toml", "")  # the new place wins once it exists
    assert "gpu1" not in ollama_hosts() and config.notices() == []


def test_loopwright_config_naming_a_missing_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(UserError, match=r"LOOPWRIGHT_CONFIG=.*nope.toml': no such file"):
        ollama_hosts()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[ollama.hosts.gpu1]\nurll = "http://x"\n',
         "unknown key ollama.hosts.gpu1.urll; did you mean ollama.hosts.gpu1.url?"),
        ("[run]\nverfy = ['pytest']\n", "unknown key run.verfy; did you mean run.verify?"),
        ("[budget]\nmax_iteration = 3\n",
         "unknown key budget.max_iteration; did you mean budget.max_iterations?"),
        ("[olama.hosts.x]\n", "unknown key olama; did you mean ollama?"),
        ("[budget]\nmax_iterations = '3'\n", "budget.max_iterations = '3': give a whole number"),
        ("[budget]\nmax_iterations = true\n", "budget.max_iterations = True: give a whole number"),
        ("[run]\nworkers = 'codex'\n", "run.workers = 'codex': give a list of backend specs"),
        ("[gc]\nkeep_days = -1\n", "gc.keep_days = -1: give a number of days, 0 or more"),
        ("run = 3\n", "run must be a table ([run])"),
        ("[run\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_a_mistake_in_the_user_config_is_named_with_the_file_and_key(
    config_home: Path, text: str, message: str
) -> None:
    path = write(config_home / "config.toml", text)
    with pytest.raises(UserError, match=r"^config ") as caught:
        ollama_hosts()
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_a_repository_file_holds_run_defaults_only(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    write(
        repo / ".loopwright.toml", "[run]\nverify = ['pytest -q']\n[budget]\nmax_iterations = 3\n"
    )
    found = config.repo_file(repo / "src")  # found from a folder inside the repository
    assert found.path == repo / ".loopwright.toml"
    assert found.data["budget"]["max_iterations"] == 3
    write(repo / ".loopwright.toml", GPU)
    with pytest.raises(UserError, match=r"\[ollama\] belongs in the user config"):
        config.repo_file(repo)
    assert config.repo_file(tmp_path).path is None  # no repository: no file


def test_the_repository_file_goes_over_the_users(tmp_path: Path, config_home: Path) -> None:
    write(config_home / "config.toml", "[run]\nbackend = 'codex'\nquorum = 'any'\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    write(repo / ".loopwright.toml", "[run]\nbackend = 'claude_code'\n")
    found = config.layered(repo)
    assert found["run.backend"] == ("claude_code", f"repo file {repo / '.loopwright.toml'}")
    assert found["run.quorum"] == ("any", f"user file {config_home / 'config.toml'}")
