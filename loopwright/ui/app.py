"""The dashboard's ASGI app: pages, fragments the script refreshes, a JSON API, the SSE
event stream, static files, and one action (cancel). Everything else only reads.

``create_app(store, token)`` returns it behind ``TokenGate`` (every URL starts with
``/<token>/``) and a host check (only ``127.0.0.1`` and ``localhost``: a page elsewhere
cannot reach it through DNS rebinding).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from ..backends.settings import config_path
from ..errors import InvalidState, RunNotFound, UserError
from ..runs import runner
from ..runs.ids import check_run_id
from ..runs.store import RunStore
from . import data, hosts
from .diffs import checkpoint_diff
from .events import check_cursor, event_page, sse
from .gate import TokenGate
from .pages.hosts import hosts_html, pool_rows
from .pages.run import RunView, diff_html, live_html, run_html
from .pages.runs import rows_html, runs_html
from .timeline import Timelines

__all__ = ["ALLOWED_HOSTS", "Dashboard", "create_app"]

STATIC = Path(__file__).with_name("static")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


class Dashboard:
    """The routes over one run store."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.timelines = Timelines()
        self.probe = hosts.PoolProbe(store.home)

    # --- runs ------------------------------------------------------------------------
    def _page(self, request: Request) -> tuple[data.RunPage, data.Filters]:
        filters = data.Filters.parse(request.query_params)
        return data.runs_page(self.store, filters), filters

    def runs(self, request: Request) -> Response:
        page, filters = self._page(request)
        repos = list(self.store.index.repos())
        return HTMLResponse(runs_html(page, _base(request), filters, repos))

    def runs_rows(self, request: Request) -> Response:
        return HTMLResponse(rows_html(self._page(request)[0]))

    def runs_json(self, request: Request) -> Response:
        page, _ = self._page(request)
        return JSONResponse({"runs": page.rows, "next": page.next, "total": page.total})

    # --- one run ---------------------------------------------------------------------
    def _view(self, request: Request) -> RunView:
        run_id = check_run_id(request.path_params["run_id"])
        status = runner.refresh(self.store, run_id)
        req = data.read_request(self.store, run_id)
        return RunView(
            run_id, status, req, self.store.read_result(run_id), data.budgets(status, req),
            data.roles(req), self.timelines.get(self.store.paths(run_id).events),
            data.worker_files(self.store, run_id), request.query_params.get("all") == "1",
        )  # fmt: skip

    def run(self, request: Request) -> Response:
        with self.timelines.lock:
            return HTMLResponse(run_html(self._view(request), _base(request)))

    def run_live(self, request: Request) -> Response:
        with self.timelines.lock:
            return HTMLResponse(live_html(self._view(request)))

    def run_json(self, request: Request) -> Response:
        with self.timelines.lock:
            view = self._view(request)
            iterations = [asdict(it) for _, it in sorted(view.fold.iterations.items())]
            models = {k: vars(v) for k, v in view.fold.models.items()}
        return JSONResponse({
            "status": view.status, "request": view.request, "result": view.result,
            "budgets": [vars(b) for b in view.budgets], "roles": dict(view.roles),
            "iterations": iterations, "models": models,
            "workers": [{"name": n, "bytes": s} for n, s in view.workers],
        })  # fmt: skip

    def _diff(self, request: Request) -> dict[str, Any]:
        run_id = check_run_id(request.path_params["run_id"])
        number = int(request.path_params["iteration"])
        status = self.store.read_status(run_id)
        with self.timelines.lock:
            it = self.timelines.get(self.store.paths(run_id).events).iterations.get(number)
            sha = str((it.checkpoint or {}).get("sha", "")) if it else ""
        repo = (status.get("workspace") or {}).get("repo")
        if not sha or not repo:
            raise RunNotFound(f"iteration {number} of run {run_id} has no checkpoint", "iteration")
        return {"iteration": number, **checkpoint_diff(str(repo), sha)}

    def diff(self, request: Request) -> Response:
        return HTMLResponse(diff_html(self._diff(request)))

    def diff_json(self, request: Request) -> Response:
        return JSONResponse(self._diff(request))

    def worker_output(self, request: Request) -> Response:
        run_id = check_run_id(request.path_params["run_id"])
        body = data.open_worker_output(self.store, run_id, request.path_params["name"])
        return Response(body, media_type="text/plain; charset=utf-8")

    def events_json(self, request: Request) -> Response:
        run_id = check_run_id(request.path_params["run_id"])
        q = request.query_params
        params = {"cursor": q.get("cursor"), "before": q.get("before") or None,
                  "limit": data.check_limit(q.get("limit"), 200)}  # fmt: skip
        return JSONResponse(event_page(self.store.existing(run_id).events, params))

    async def events_stream(self, request: Request) -> Response:
        run_id = check_run_id(request.path_params["run_id"])
        cursor = request.headers.get("last-event-id") or request.query_params.get("cursor")
        if cursor is not None:  # refused here: once the stream starts it can only end
            check_cursor(self.store.existing(run_id).events, cursor)
        body = sse(self.store, run_id, cursor)
        return StreamingResponse(body, media_type="text/event-stream",
                                 headers={"x-accel-buffering": "no"})  # fmt: skip

    async def cancel(self, request: Request) -> Response:
        run_id = check_run_id(request.path_params["run_id"])
        self.store.existing(run_id)
        status = await anyio.to_thread.run_sync(runner.cancel, self.store, run_id)
        return JSONResponse({"run_id": run_id, "state": status["state"]})

    # --- hosts -----------------------------------------------------------------------
    def hosts(self, request: Request) -> Response:  # sync: Starlette runs it in a thread
        pool = hosts.pool_now(self.store.home, probe=False)
        page = hosts_html(_base(request), str(config_path()), pool,
                          hosts.speeds(self.store.home), hosts.PROBE_TIMEOUT)  # fmt: skip
        return HTMLResponse(page)

    def hosts_json(self, request: Request) -> Response:
        pool = hosts.pool_now(self.store.home, probe=False)
        speed = hosts.speeds(self.store.home)
        return JSONResponse({
            "hosts": pool.hosts, "config_error": pool.error, "profile_store": speed.store,
            "profiles": speed.profiles, "speed": speed.gen, "prompt_speed": speed.prompt,
        })  # fmt: skip

    async def hosts_rows(self, request: Request) -> Response:
        return HTMLResponse(pool_rows(await self.probe.status()))

    async def hosts_health(self, request: Request) -> Response:
        pool = await self.probe.status()
        return JSONResponse({"hosts": pool.hosts, "error": pool.error})

    def routes(self) -> list[Route | Mount]:
        r = "/runs/{run_id}"
        return [
            Route("/", self.runs),
            Route("/fragments/runs", self.runs_rows),
            Route(r, self.run),
            Route("/fragments" + r, self.run_live),
            Route(r + "/diff/{iteration:int}", self.diff),
            Route(r + "/workers/{name}", self.worker_output),
            Route("/hosts", self.hosts),
            Route("/fragments/hosts", self.hosts_rows),
            Route("/api/runs", self.runs_json),
            Route("/api" + r, self.run_json),
            Route("/api" + r + "/events", self.events_json),
            Route("/api" + r + "/events/stream", self.events_stream),
            Route("/api" + r + "/diff/{iteration:int}", self.diff_json),
            Route("/api" + r + "/cancel", self.cancel, methods=["POST"]),
            Route("/api/hosts", self.hosts_json),
            Route("/api/hosts/health", self.hosts_health),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")) + "/"


_STATUS = ((RunNotFound, 404), (InvalidState, 409), (UserError, 400))


async def _user_error(request: Request, exc: Exception) -> Response:
    code = next(c for kind, c in _STATUS if isinstance(exc, kind))
    field = getattr(exc, "field", None)
    if request.url.path.startswith(_base(request) + "api/"):
        return JSONResponse({"error": str(exc), "field": field}, code)
    return Response(str(exc), code, media_type="text/plain; charset=utf-8")


def create_app(store: RunStore, token: str, allowed_hosts: list[str] | None = None) -> ASGIApp:
    """The dashboard over ``store``, reachable only under ``/<token>/``."""
    app = Starlette(routes=Dashboard(store).routes(), exception_handlers={UserError: _user_error})
    gated = TokenGate(app, token)
    return TrustedHostMiddleware(gated, allowed_hosts=allowed_hosts or ALLOWED_HOSTS)
