"""Spend and usage limits of model APIs are final for the call: one request, no retries,
the provider's message and the reset time in the error."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from loopwright.backends.models.anthropic import AnthropicChat, make_client
from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.chat import RetryPolicy
from loopwright.backends.models.openai_compat import OpenAIChat
from loopwright.backends.settings import Endpoint

from .fakes import Recorder, Sleeps, error, request

EP = Endpoint("openai", "https://api.example.test/v1", "sk-test-secret-123", "OPENAI_API_KEY")
ANTHROPIC_LIMIT = (
    "You have reached your specified API usage limits. "
    "You will regain access on 2099-04-01 at 00:00 UTC."
)  # the text Anthropic sends (anthropics/claude-code#2127, #38035)
INSUFFICIENT_QUOTA = {
    "error": {
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
}


def openai(rec: Recorder, sleeps: Sleeps) -> ChatBackend:
    policy = RetryPolicy(sleep=sleeps)
    return ChatBackend(
        "openai:gpt-4.1",
        lambda c, e: OpenAIChat(c, EP, "gpt-4.1", retry=policy),
        client=rec.client(),
    )


def anthropic(rec: Recorder, sleeps: Sleeps) -> ChatBackend:
    policy = RetryPolicy(sleep=sleeps)
    return ChatBackend(
        "anthropic:claude-sonnet-4-6",
        lambda c, e: AnthropicChat(make_client(c), "claude-sonnet-4-6", retry=policy),
        client=httpx2.AsyncClient(transport=httpx2.MockTransport(rec)),
    )


def anthropic_error(status: int, kind: str, message: str, headers: dict[str, str]) -> Any:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return lambda _r: httpx2.Response(status, json=body, headers=headers)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-secret-key")
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)


async def test_a_429_whose_wait_exceeds_the_retry_cap_fails_at_once_with_the_reset_time() -> None:
    sleeps = Sleeps()
    body = {"error": {"message": "Monthly spend limit reached"}}
    rec = Recorder([error(429, body, {"retry-after": "7200"})])
    r = await openai(rec, sleeps).run(request()[0])
    assert len(rec.requests) == 1 and sleeps.delays == []
    assert not r.ok and "Monthly spend limit reached" in (r.error or "")
    assert "resets " in (r.error or "") and "(in 2h 0m)" in (r.error or "")
    assert "not retried" in (r.error or "") and "30 s retry cap" in (r.error or "")


async def test_a_429_within_the_retry_cap_is_still_retried() -> None:
    sleeps = Sleeps()
    rec = Recorder([error(429, {"error": {"message": "slow down"}}, {"retry-after": "30"})])
    r = await openai(rec, sleeps).run(request()[0])
    assert not r.ok and len(rec.requests) == 4 and sleeps.delays == [30.0, 30.0, 30.0]


async def test_openai_insufficient_quota_fails_at_once_as_a_usage_limit() -> None:
    sleeps = Sleeps()
    rec = Recorder([error(429, INSUFFICIENT_QUOTA)])
    r = await openai(rec, sleeps).run(request()[0])
    assert len(rec.requests) == 1 and sleeps.delays == []
    assert not r.ok and "usage limit (429)" in (r.error or "")
    assert "You exceeded your current quota" in (r.error or "")
    assert "no reset time given" in (r.error or "") and "not retried" in (r.error or "")


@pytest.mark.parametrize(
    ("status", "kind", "headers"),
    [
        (400, "invalid_request_error", {}),  # what Anthropic sends today
        (429, "rate_limit_error", {"retry-after": "86400"}),  # as a rate limit, if ever
    ],
)
async def test_anthropic_spend_limit_fails_at_once_naming_when_access_returns(
    status: int, kind: str, headers: dict[str, str]
) -> None:
    sleeps = Sleeps()
    rec = Recorder([anthropic_error(status, kind, ANTHROPIC_LIMIT, headers)])
    r = await anthropic(rec, sleeps).run(request()[0])
    assert len(rec.requests) == 1 and sleeps.delays == []
    error_text = r.error or ""
    assert not r.ok and f"Anthropic usage limit ({status})" in error_text
    assert "You have reached your specified API usage limits" in error_text
    assert "resets 2099-0" in error_text and "not retried" in error_text
