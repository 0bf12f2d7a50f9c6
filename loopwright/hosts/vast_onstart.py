"""What a rented instance runs when it starts: Ollama on 127.0.0.1 only, and the token
proxy (``vast_proxy``, shipped inside the script) on the public port in front of it.

The instance is created with Vast's ``ssh`` launch mode, which replaces the image's
entrypoint (``ollama serve`` on 0.0.0.0) and runs this script instead; nothing on the
instance then listens on a public address but the proxy.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

__all__ = [
    "IMAGE",
    "OLLAMA_INTERNAL",
    "PORT",
    "new_token",
    "onstart_script",
    "proxy_source",
]

IMAGE = "ollama/ollama:latest"
PORT = 11434
"""The instance's port the proxy listens on; Vast maps it to a random public port."""
OLLAMA_INTERNAL = 11435
"""Where Ollama listens, on 127.0.0.1 inside the instance."""

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_END = "LW_PROXY_EOF"

_SCRIPT = """#!/bin/bash
# Written by loopwright: Ollama on 127.0.0.1 only, a bearer-token proxy on port {port}.
set -u
export OLLAMA_HOST=127.0.0.1:{internal}
export OLLAMA_KEEP_ALIVE=30m
nohup ollama serve >/var/log/lw-ollama.log 2>&1 &
if ! python3 -c 'import argparse, hmac, http.client, http.server, json, typing' 2>/dev/null
then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3) \\
    >/var/log/lw-apt.log 2>&1
fi
cat >/root/lw_proxy.py <<'{end}'
{source}
{end}
export LW_PROXY_TOKEN='{token}'
nohup python3 /root/lw_proxy.py --listen 0.0.0.0:{port} --upstream 127.0.0.1:{internal} \\
  >/var/log/lw-proxy.log 2>&1 &
"""


def new_token() -> str:
    """A fresh random token for one instance (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def proxy_source() -> str:
    """The proxy program, as shipped to the instance."""
    return (Path(__file__).parent / "vast_proxy.py").read_text(encoding="utf-8")


def onstart_script(token: str) -> str:
    """The onstart script for an instance whose proxy checks ``token``."""
    if not _TOKEN.match(token):  # it goes between single quotes in a shell script
        raise ValueError("the proxy token must be 32-128 URL-safe characters")
    source = proxy_source()
    if _END in source:
        raise ValueError(f"the proxy source holds the heredoc end marker {_END}")
    return _SCRIPT.format(
        port=PORT, internal=OLLAMA_INTERNAL, end=_END, source=source.rstrip("\n"), token=token
    )
