"""A coding-agent CLI that reports its subscription usage limit gives a failed response with
``usage_limit.resume_at`` (the harness pauses the run until then). The texts are the CLIs'
own: Claude Code's result and ``rate_limit_event``, Codex's ``UsageLimitReachedError``
(codex-rs/core/src/error.rs), Gemini CLI's ``TerminalQuotaError`` (googleQuotaErrors.ts)."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loopwright.backends.usage_limits import (
    PAST_RESET_WAIT,
    claude_limit,
    codex_limit,
    gemini_limit,
)
from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ...helpers import events_of
from .conftest import call
from .fakes import STREAMS, install


def at(text: str, zone: str | None = None) -> float:
    """Epoch seconds of ``YYYY-MM-DD HH:MM`` in ``zone`` (this machine's when None)."""
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M")
    if zone is None:
        return moment.astimezone().timestamp()
    return moment.replace(tzinfo=ZoneInfo(zone)).timestamp()


@pytest.mark.parametrize(
    ("program", "spec", "stream", "fill", "wait"),
    [
        ("claude", "claude_code", "claude-usage-limit.jsonl", "resets_at", 7200),
        ("codex", "codex", "codex-usage-limit.jsonl", "2 days 17 hours 14 minutes", 234_840),
        ("gemini", "gemini_cli", "gemini-usage-limit.jsonl", "2h52m39s", 10_359),
    ],
)
async def test_a_cli_usage_limit_is_a_failed_response_that_says_when_it_resets(
    tmp_path: Path,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    program: str,
    spec: str,
    stream: str,
    fill: str,
    wait: float,
) -> None:
    fake = install(tmp_path, monkeypatch, program)[program]
    now = time.time()
    text = (STREAMS / stream).read_text().replace("{cwd}", str(work))
    text = text.replace("{resets_at}", str(int(now + wait))).replace("{resets_in}", fill)
    fake.set(text=text, exit=1)
    r = (await call(spec, work)).response
    assert not r.ok and r.usage_limit is not None
    assert abs(r.usage_limit.resume_at - (now + wait)) < 5
    assert f"{spec} usage limit, resets " in (r.error or "")
    said = "resets 3pm (Europe/Berlin)" if program == "claude" else fill
    assert said in r.usage_limit.message  # the CLI's own words


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("Claude AI usage limit reached|1755615600", at("2025-08-19 14:00"), 1755615600.0),
        (
            "You've hit your limit · resets 3pm (Europe/Berlin)",
            at("2026-04-01 12:00", "Europe/Berlin"),
            at("2026-04-01 15:00", "Europe/Berlin"),
        ),
        (
            "You've hit your limit · resets 6:20pm (Europe/Berlin)",
            at("2026-04-01 19:00", "Europe/Berlin"),
            at("2026-04-02 18:20", "Europe/Berlin"),  # already past today: tomorrow
        ),
        (
            "You've hit your limit · resets Apr 23 at 4pm (America/Recife)",
            at("2026-04-22 10:00", "America/Recife"),
            at("2026-04-23 16:00", "America/Recife"),
        ),
        (
            "You've hit your limit - resets Feb 7, 11am (Asia/Seoul)/login to switch to an API "
            "usage-billed account.",
            at("2026-02-04 10:00", "Asia/Seoul"),
            at("2026-02-07 11:00", "Asia/Seoul"),
        ),
        (
            "Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).",
            at("2025-08-19 14:00", "Europe/Warsaw"),
            at("2025-08-19 17:00", "Europe/Warsaw"),
        ),
    ],
)
def test_claude_code_usage_limit_texts_give_their_reset_time(
    text: str, now: float, expected: float
) -> None:
    limit = claude_limit(text, None, now)
    assert limit is not None and limit.resume_at == expected


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        (
            "You've hit your usage limit. Try again at 3:15 PM.",
            at("2026-03-01 09:00"),
            at("2026-03-01 15:15"),
        ),
        (
            "You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing), "
            "visit https://chatgpt.com/codex/settings/usage to purchase more credits or try "
            "again at Dec 29th, 2025 10:15 PM.",
            at("2025-12-24 09:00"),
            at("2025-12-29 22:15"),
        ),
        (
            "You've hit your usage limit. Try again in 41 minutes.",
            at("2025-09-03 09:00"),
            at("2025-09-03 09:41"),
        ),
        (
            'unexpected status 429: {"error":{"type":"usage_limit_reached","message":"The usage '
            'limit has been reached","plan_type":"plus","resets_at":1777936568,'
            '"resets_in_seconds":13872}}',
            1777936568.0 - 13872,
            1777936568.0,
        ),
    ],
)
def test_codex_usage_limit_texts_give_their_reset_time(
    text: str, now: float, expected: float
) -> None:
    limit = codex_limit(text, now)
    assert limit is not None and limit.resume_at == expected


@pytest.mark.parametrize(
    ("text", "wait"),
    [
        ("[API Error: You exceeded your current quota. Please retry in 34.5s.]", 34.5),
        ("Quota exceeded for quota metric.\nSuggested retry after 3600s.", 3600.0),
        (
            "You have exhausted your capacity on this model. Your quota will reset after 1h2m3s.",
            3723,
        ),
    ],
)
def test_gemini_cli_quota_texts_give_their_reset_time(text: str, wait: float) -> None:
    now = at("2026-01-01 10:00")
    limit = gemini_limit(text, now)
    assert limit is not None and limit.resume_at == now + wait


def test_gemini_daily_quota_resets_at_midnight_pacific_time() -> None:
    now = at("2026-01-01 10:00", "America/Los_Angeles")
    limit = gemini_limit("You have exhausted your daily quota on this model.", now)
    assert limit is not None and limit.resume_at == at("2026-01-02 00:00", "America/Los_Angeles")


def test_other_failures_and_limits_without_a_reset_time_are_not_usage_limits() -> None:
    now = time.time()
    assert claude_limit("Invalid API key · Fix external API key", None, now) is None
    assert claude_limit("You've hit your limit", None, now) is None  # no time: cannot wait
    assert codex_limit("unexpected status 401 Unauthorized: Incorrect API key", now) is None
    assert (
        gemini_limit('[API Error: {"error":{"code":401,"message":"API key not valid"}}]', now)
        is None
    )


def test_a_reset_time_already_past_waits_a_minute_rather_than_spinning() -> None:
    now = time.time()
    limit = claude_limit(f"Claude AI usage limit reached|{int(now) - 600}", None, now)
    assert limit is not None and limit.resume_at == now + PAST_RESET_WAIT


def test_a_run_whose_claude_code_worker_hits_its_limit_pauses_and_goes_on_by_itself(
    store: RunStore, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first call meets the limit (reset in 1-2 s), the second one does the work."""
    bin_dir, count = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    limited = tmp_path / "limited.jsonl"
    stream = (STREAMS / "claude-usage-limit.jsonl").read_text()
    limited.write_text(stream.replace("{resets_at}", str(int(time.time()) + 2)))
    fake = bin_dir / "claude"
    write = STREAMS / "claude-write.jsonl"
    script = _SWITCHING.format(python=sys.executable, count=count, limited=limited, write=write)
    fake.write_text(script)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    request = build_request(
        "Create hello.py that prints hello",
        workers=["claude_code:sonnet"],
        cwd=str(repo),
        verify=[[sys.executable, "-c", "import hello"]],
        budget={"max_iterations": 1},
        options={"worker_retries": 0},
    )
    run = runner.start_thread(store, request)
    assert run.wait(60)["state"] == "completed"
    assert count.read_text() == "2"
    events = events_of(store.paths(run.run_id).events)
    paused = next(e["data"] for e in events if e["type"] == "paused")
    assert paused["backend"] == "claude_code:sonnet" and "hit your limit" in paused["message"]
    finished = [e["data"] for e in events if e["type"] == "worker_finished"]
    assert [f["status"] for f in finished] == ["ok"]  # one worker attempt, its call repeated


_SWITCHING = """#!{python}
import os, sys
sys.stdin.read()
n = int(open("{count}").read()) if os.path.exists("{count}") else 0
open("{count}", "w").write(str(n + 1))
if n == 0:
    sys.stdout.write(open("{limited}").read().replace("{{cwd}}", os.getcwd()))
    sys.exit(1)
open("hello.py", "w").write("print('hello')\\n")
sys.stdout.write(open("{write}").read().replace("{{cwd}}", os.getcwd()))
"""
