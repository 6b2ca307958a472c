"""Serve the Chalice app the way ``chalice local`` does, with a realistic listen backlog.

``chalice local`` uses a threaded server with Python's default backlog of 5
pending connections, which resets clients as soon as a few dozen connect at
once (a phone fleet syncing at 08:00 does).  This runs the same
``LocalDevServer`` with the same stage config, only with a deeper backlog, and
runs one handler at a time (see ``OneRequestAtATime``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from typing import Any

from chalice.cli.factory import CLIFactory
from chalice.local import LocalDevServer, ThreadedHTTPServer

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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=args.stage)
    app = OneRequestAtATime(config.chalice_app)
    server = LocalDevServer(app, config, "127.0.0.1", args.port, server_cls=BackloggedServer)  # type: ignore[arg-type]
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
