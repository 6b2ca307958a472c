"""Serve the Chalice app the way ``chalice local`` does, with a realistic listen backlog.

``chalice local`` uses a threaded server with Python's default backlog of 5
pending connections, which resets clients as soon as a few dozen connect at
once (a phone fleet syncing at 08:00 does).  This runs the same
``LocalDevServer`` with the same stage config, only with a deeper backlog, and
runs one handler at a time (see ``OneRequestAtATime``).  In the local stage it
adds the local-only routes and starts the event runner (``devstack.local_routes``):
the app itself, as packaged for Lambda, has neither.

Where chalice local itself refuses a request, before the app runs, it answers
as the deployed API's gateway responses do (``infra/``): problem+json, never
its 403 "Missing Authentication Token" or http.server's HTML pages (see
``ProblemRequestHandler``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    RouteMatcher,
    ThreadedHTTPServer,
)

from chalicelib.api.problems import PROBLEM_JSON, problem_body
from devstack.stack import ROOT


class BackloggedServer(ThreadedHTTPServer):
    request_queue_size = 512


class OneRequestAtATime:
    """The app, invoked by one request at a time, as Lambda invokes one per execution environment.

    Chalice keeps the request being handled on the app object
    (``app.current_request``), not per thread; with the threaded server's
    concurrent requests, a view could read another request's headers - another
    caller's token.  Connections are still accepted and read concurrently; only
    the handler runs under the lock.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, event: Any, context: Any) -> Any:
        with self._lock:
            return self._app(event, context)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


class Problem(LocalGatewayException):
    """A refusal from the local gateway, in the app's problem+json shape (``problems.py``)."""

    def __init__(self, status: int, slug: str, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(problem_body(status, slug, title, detail)).encode()
        super().__init__({"Content-Type": PROBLEM_JSON, **(headers or {})}, body)
        self.CODE = status


def no_such_resource() -> Problem:
    return Problem(404, "not-found", "Not found", "No such resource.")


class ProblemGateway(LocalGateway):
    """chalice local's API Gateway stand-in, answering an unknown path 404 as the deployed gateway does.

    Chalice answers it 403 "Missing Authentication Token" (API Gateway's default),
    echoing any Authorization header into the body.
    """

    def __init__(self, app_object: Any, config: Config) -> None:
        super().__init__(app_object, config)
        self._routes: dict[str, dict[str, Any]] = app_object.routes
        self._matcher = RouteMatcher(list(self._routes))

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        if self.allowed(path) is None:
            raise no_such_resource()
        return super().handle_request(method, path, headers, body)

    def allowed(self, path: str) -> str | None:
        """The methods the route for ``path`` answers (listed as the app's own 405 does); None without a route."""
        try:
            route = self._matcher.match_route(path).route
        except ValueError:
            return None
        return ", ".join(self._routes[route])


class ProblemRequestHandler(ChaliceRequestHandler):
    """chalice local's request handler, refusing in problem+json.

    http.server answers a method it has no ``do_<METHOD>`` for (TRACE, CONNECT,
    anything unknown) with a 501 HTML page, and a request it cannot parse with
    an HTML 400/414/431; here the first is 405 with ``Allow`` (404 on an unknown
    path) and the rest keep their status, all problem+json.  Neither echoes the
    request line, which may carry a query string.
    """

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Config) -> None:
        self.local_gateway = ProblemGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._refuse_method
        raise AttributeError(name)

    def _refuse_method(self) -> None:
        self._parse_payload()  # off the connection, or the next request on it would start mid-body
        allowed = self.local_gateway.allowed(self.path)
        if allowed is None:
            self._send_error_response(no_such_resource())
            return
        detail = f"This resource answers {allowed}."
        self._send_error_response(Problem(405, "method-not-allowed", "Method not allowed", detail, {"Allow": allowed}))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        status = HTTPStatus(code)
        problem = Problem(code, status.phrase.lower().replace(" ", "-"), status.phrase, status.description)
        self.close_connection = True  # what is left of an unparsable request cannot be read as the next one
        if self.command == "HEAD":
            self._send_http_response_no_body(code, {"Content-Type": PROBLEM_JSON})
        else:
            self._send_error_response(problem)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    parser.add_argument("--event-runner", action="store_true", help="poll the stream and queues, tick each minute")
    parser.add_argument("--data-dir", type=Path, default=None, help="keeps the event runner's stream checkpoints")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=args.stage)
    if args.stage == "local":
        from devstack import local_routes

        runner = local_routes.register(config.chalice_app, data_dir=args.data_dir)
        if args.event_runner:
            # Like Lambda's event sources: the stream and queues polled, the scheduled jobs run once a
            # minute of the stage's clock (after /_local/tick travelled, real minutes lie in its past).
            runner.start(poll_seconds=0.5)
    app = OneRequestAtATime(config.chalice_app)
    server = LocalDevServer(
        app,  # type: ignore[arg-type]
        config,
        "127.0.0.1",
        args.port,
        handler_cls=ProblemRequestHandler,
        server_cls=BackloggedServer,
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
