"""A pattern run's request (consult, delegate, debate) takes a run's sandbox default and
refuses what a run's request refuses, naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.errors import UserError
from loopwright.runs.defaults import pattern_sandbox
from loopwright.runs.pattern_request import build_pattern_request


@pytest.mark.parametrize("env", ["", "verify", "all"])
def test_a_pattern_request_defaults_to_the_configured_sandbox_as_a_run_does(
    monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    monkeypatch.setenv("LOOPWRIGHT_SANDBOX", env)
    for pattern in ("consult", "delegate", "debate"):
        models = ["scripted", "scripted"] if pattern == "debate" else ["scripted"]
        request = build_pattern_request(pattern, "q", models=models)
        assert request.sandbox == (env or "verify"), pattern
    asked = build_pattern_request("consult", "q", models=["scripted"], sandbox="off",
                                  allow_network=True)  # fmt: skip
    assert (asked.sandbox, asked.allow_network) == ("off", True)
    with pytest.raises(UserError) as wrong:
        build_pattern_request("consult", "q", models=["scripted"], sandbox="none")
    assert wrong.value.field == "sandbox"


def test_a_pattern_spec_with_a_control_character_is_refused_naming_the_field() -> None:
    bad_models = {"models": ["scripted\x1b[2J"]}
    bad_helper = {"models": ["scripted"], "helper": "scripted\n"}
    for field, given in (("models", bad_models), ("synthesizer", bad_helper)):
        with pytest.raises(UserError) as refused:
            build_pattern_request("consult", "q", **given)
        assert refused.value.field == field and "control character" in str(refused.value)


def test_the_config_files_sandbox_is_a_pattern_runs_default_and_a_repo_may_only_tighten_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LOOPWRIGHT_SANDBOX")
    user = tmp_path / "xdg-config" / "loopwright" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[run]\nsandbox = "all"\n')
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert pattern_sandbox(str(repo), None) == "all"
    assert pattern_sandbox(str(repo), "off") == "off"  # the caller's own word goes first
    (repo / ".loopwright.toml").write_text('[run]\nsandbox = "off"\n')
    with pytest.raises(UserError) as looser:
        pattern_sandbox(str(repo), None)
    assert "stricter" in str(looser.value) and "run.sandbox" in str(looser.value)
    monkeypatch.setenv("LOOPWRIGHT_SANDBOX", "off")  # the environment goes over the files
    assert pattern_sandbox(str(repo), None) is None
