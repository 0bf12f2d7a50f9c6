"""``loopwright ui``: the dashboard on 127.0.0.1 (registered in ``loopwright.cli.commands``).

Lazy: Starlette and uvicorn load only for this command."""

from __future__ import annotations

import argparse

from ..config import state_dir
from ..runs import runner
from ..runs.store import RunStore
from .output import out


def cmd_ui(args: argparse.Namespace) -> int:
    from ..ui.gate import new_token
    from ..ui.serve import bind, open_in_browser, serve_forever, url_of

    store = RunStore(state_dir())
    if store.runs_dir.is_dir():
        runner.recover(store)  # as every reader does: runs whose host died are interrupted
    token = new_token()
    sock = bind(args.port)
    url = url_of(sock, token)
    out(f"loopwright dashboard: {url}")
    out("  only this machine can reach it, and only with the token in that URL; Ctrl-C stops")
    try:
        if not args.open:
            serve_forever(store, sock, token)
        else:
            with open_in_browser(url, store.home / "ui") as problem:
                if problem:
                    out(f"  could not open a browser: {problem}")
                serve_forever(store, sock, token)
    except KeyboardInterrupt:  # uvicorn stops cleanly on Ctrl-C, then passes the signal on
        pass
    out("dashboard stopped")
    return 0
