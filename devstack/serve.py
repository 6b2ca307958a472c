"""Serve the Chalice app the way ``chalice local`` does, with a realistic listen backlog.

``chalice local`` uses a threaded server with Python's default backlog of 5
pending connections, which resets clients as soon as a few dozen connect at
once (a phone fleet syncing at 08:00 does).  This runs the same
``LocalDevServer`` with the same stage config, only with a deeper backlog.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from chalice.cli.factory import CLIFactory
from chalice.local import LocalDevServer, ThreadedHTTPServer

from devstack.stack import ROOT


class BackloggedServer(ThreadedHTTPServer):
    request_queue_size = 512


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=args.stage)
    server = LocalDevServer(config.chalice_app, config, "127.0.0.1", args.port, server_cls=BackloggedServer)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
