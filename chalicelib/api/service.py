"""Service routes: health and the machine-readable API description."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint
from chalicelib.bootstrap import container

bp = Blueprint(__name__)


@endpoint(bp, "/health", methods=["GET"], public=True)
def health(call: Call) -> Any:
    return {"status": "ok", "version": container().settings.version}


@endpoint(bp, "/openapi.json", methods=["GET"], public=True)
def openapi(call: Call) -> Any:
    from chalicelib.openapi import document

    return document(container().settings.version)
