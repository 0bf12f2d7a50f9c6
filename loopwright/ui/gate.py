"""The dashboard's lock: a random token as the first segment of every URL's path.

``http://127.0.0.1:PORT/<token>/...`` goes on to the app (the token becomes the ASGI
``root_path``, so the app's routes and relative links need not know it); anything else is
403. The token is compared in constant time and never logged (the server runs without an
access log). Every response also gets headers that keep the page to itself: no
referrer (the URL holds the token), no framing, no script or style from elsewhere.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SECURITY_HEADERS", "TokenGate", "new_token"]

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def new_token() -> str:
    """32 URL-safe characters from the OS's random source (192 bits)."""
    return secrets.token_urlsafe(24)


class TokenGate:
    """ASGI middleware: passes ``/<token>/...`` on with ``root_path`` set, refuses the rest."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if len(token) < 16:
            raise ValueError("the dashboard token must be at least 16 characters")
        self.app = app
        self.prefix = f"/{token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        first, slash, _ = path[1:].partition("/")
        send = _with_headers(send)
        if not hmac.compare_digest(f"/{first}".encode(), self.prefix):
            await PlainTextResponse("forbidden: this URL needs the dashboard's token", 403)(
                scope, receive, send
            )
            return
        if not slash:  # /<token> -> /<token>/ so relative links resolve under it
            await RedirectResponse(f"/{first}/", 307)(scope, receive, send)
            return
        # Starlette routes on ``path`` less ``root_path``; ``url_for`` puts it back.
        await self.app({**scope, "root_path": f"/{first}"}, receive, send)


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                headers.setdefault(name, value)
        await send(message)

    return wrapped
