"""A run's defaults: the caller's argument, then the repository's file, then the user's,
then the built-in default; a bad value from a file is named with the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.errors import UserError
from loopwright.runs.defaults import settings, with_defaults
from loopwright.runs.request import build_request


@pytest.fixture(autouse=True)
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("LOOPWRIGHT_CONFIG", raising=False)
    path = tmp_path / "xdg" / "loopwright" / "config.toml"
    path.parent.mkdir(parents=True)
    return path


def test_an_argument_beats_the_repo_file_which_beats_the_user_file(
    repo: Path, user_config: Path
) -> None:
    user_config.write_text("[run]\nquorum = 'any'\nretries = 3\n[budget]\nmax_iterations = 9\n")
    (repo / ".loopwright.toml").write_text(
        "[run]\nverify = ['test -f README.md', ['true']]\nquorum = 'majority'\n"
        "[budget]\nmax_iterations = 2\nmax_cost_usd = 1.5\n"
    )
    given = {"cwd": str(repo), "verify": None, "review_quorum": None,
             "budget": {"max_iterations": 7, "max_cost_usd": None}}  # fmt: skip
    request = build_request("g", **with_defaults(str(repo), given))
    loop = request.loop
    assert loop.verify_commands == [["test", "-f", "README.md"], ["true"]]  # repo file
    assert loop.review_quorum == "majority"  # repo over user
    assert loop.worker_retries == 3  # user file
    assert loop.budget.max_iterations == 7  # the argument
    assert loop.budget.max_cost_usd == 1.5 and loop.budget.max_seconds == 3600  # built-in
    assert request.cleanup == "auto"


def test_config_show_names_where_each_value_comes_from(repo: Path, user_config: Path) -> None:
    user_config.write_text("[gc]\nkeep_days = 14\n")
    (repo / ".loopwright.toml").write_text("[run]\nbackend = 'scripted'\n")
    found = settings(str(repo))
    assert found["run.backend"] == ("scripted", f"repo file {repo / '.loopwright.toml'}")
    assert found["gc.keep_days"] == (14, f"user file {user_config}")
    assert found["budget.max_iterations"] == (5, "built-in")
    assert found["run.worker_timeout"] == (1800, "built-in")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[run]\nquorum = 'most'\n", "run.quorum = 'most': allowed are all, majority, any"),
        ("[run]\nbackend = 'nope'\n", "run.backend = 'nope': unknown backend 'nope'"),
        ("[run]\nverify = ['pytest \"-q']\n", "run.verify = ['pytest \"-q']: No closing quotation"),
    ],
)
def test_a_bad_value_in_the_repo_file_is_named_with_the_file_and_key(
    repo: Path, text: str, message: str
) -> None:
    (repo / ".loopwright.toml").write_text(text)
    with pytest.raises(UserError) as caught:
        with_defaults(str(repo), {})
    assert str(caught.value).startswith(f"repo file {repo / '.loopwright.toml'}: ")
    assert message in str(caught.value) and caught.value.field == "config"


def test_the_sandbox_comes_from_the_files_unless_loopwright_sandbox_says(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / ".loopwright.toml").write_text("[run]\nsandbox = 'all'\n")
    monkeypatch.delenv("LOOPWRIGHT_SANDBOX", raising=False)
    assert build_request("g", **with_defaults(str(repo), {"cwd": str(repo)})).sandbox == "all"
    assert settings(str(repo))["run.sandbox"][1].startswith("repo file ")
    monkeypatch.setenv("LOOPWRIGHT_SANDBOX", "verify")
    assert with_defaults(str(repo), {"cwd": str(repo)}).get("sandbox") is None
    assert settings(str(repo))["run.sandbox"] == ("verify", "environment LOOPWRIGHT_SANDBOX")
    given = {"cwd": str(repo), "sandbox": "off"}
    assert with_defaults(str(repo), given)["sandbox"] == "off"  # the argument wins


def test_a_repository_file_cannot_loosen_the_sandbox_or_name_a_cli_backend(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The repository is untrusted: its file turning the sandbox off would run its own
    # tests unconfined, and a cli backend is any program it names.
    monkeypatch.delenv("LOOPWRIGHT_SANDBOX", raising=False)
    for text, needle in (
        ("[run]\nsandbox = 'off'\n", "stricter than 'verify', not looser"),
        ("[run]\nworkers = ['cli:sh']\n", "may not name a cli backend"),
        ("[run]\nbackend = 'cli:sh'\n", "may not name a cli backend"),
    ):
        (repo / ".loopwright.toml").write_text(text)
        with pytest.raises(UserError, match=needle):
            with_defaults(str(repo), {"cwd": str(repo)})
    (repo / ".loopwright.toml").write_text("[run]\nsandbox = 'off'\n")
    assert with_defaults(str(repo), {"cwd": str(repo), "sandbox": "off"})["sandbox"] == "off"
