"""HTTP pieces the providers share: error translation (with Retry-After), and line
readers for SSE and NDJSON streams."""

from __future__ import annotations

import email.utils
import ipaddress
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ...errors import ProviderError
from ..usage_limits import spend_limit, spend_note

ERROR_CHARS = 300
RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504, 529}


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def error_text(body: str | bytes) -> str:
    """The message inside an error body (``{"error": {"message"}}`` or ``{"error": "..."}``)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:ERROR_CHARS] or "(empty body)"
    err = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        err = err.get("message") or err.get("type") or err
    return str(err)[:ERROR_CHARS]


def status_error(
    provider: str, status: int, body: str | bytes, headers: Mapping[str, str], key_hint: str
) -> ProviderError:
    """An HTTP error status as a ``ProviderError`` that says how to fix it."""
    msg = error_text(body)
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if spend_limit(raw):
        text = f"{provider} usage limit ({status}): {msg}; {spend_note(msg)}"
        return ProviderError(text, status=status)
    if status == 401:
        text = f"{provider} rejected the credentials (401): {msg}; check {key_hint}"
    elif status == 403:
        text = f"{provider} refused access (403): {msg}; check {key_hint} and its permissions"
    elif status == 404:
        text = f"{provider}: not found (404): {msg}; check the model name"
    elif status == 429:
        text = f"{provider} rate limit (429): {msg}"
    elif status in (503, 529):
        text = f"{provider} is overloaded ({status}): {msg}"
    else:
        text = f"{provider} answered {status}: {msg}"
    return ProviderError(
        text,
        retryable=status in RETRYABLE,
        retry_after=retry_after(headers) if status in RETRYABLE else None,
        status=status,
    )


def on_this_machine(url: str) -> bool:
    """Whether ``url`` is a loopback address: a model there runs on this machine."""
    host = urlsplit(url if "//" in url else f"http://{url}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def schema_refused(status: int, message: str, words: tuple[str, ...]) -> bool:
    """Whether an error status answering a request with a response schema refuses the
    schema parameter itself (a server without structured output), named by ``words``."""
    text = message.lower()
    return status in (400, 422) and any(w in text for w in words)


def transport_error(provider: str, url: str, exc: httpx.HTTPError) -> ProviderError:
    if isinstance(exc, httpx.ConnectError):
        return ProviderError(f"{provider} not reachable at {url}: {exc}", host_down=True)
    if isinstance(exc, httpx.TimeoutException):
        name = type(exc).__name__
        return ProviderError(f"{provider} at {url} timed out ({name})", retryable=True)
    return ProviderError(f"{provider} at {url}: {type(exc).__name__}: {exc}", retryable=True)


async def sse_data(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """``(event, data)`` per server-sent event (data lines joined)."""
    event, data = "", list[str]()
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "", list[str]()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line.startswith("event:"):
            event = line[6:].strip()
    if data:
        yield event, "\n".join(data)


async def ndjson(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    async for line in response.aiter_lines():
        if line.strip():
            value = json.loads(line)
            if isinstance(value, dict):
                yield value
