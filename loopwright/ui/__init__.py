"""The dashboard: a small ASGI app over ``runs/`` (read-only, plus cancel), served on
127.0.0.1 behind a random token by ``loopwright ui``."""

from __future__ import annotations

from .app import create_app
from .gate import new_token
from .serve import Served, serve_in_thread

__all__ = ["Served", "create_app", "new_token", "serve_in_thread"]
