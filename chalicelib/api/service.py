"""Service routes: health and the machine-readable API description."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import BaseModel

from chalicelib.api.http import Call, endpoint
from chalicelib.bootstrap import container

bp = Blueprint(__name__)


class Health(BaseModel):
    status: str
    version: str


@endpoint(bp, "/health", methods=["GET"], public=True, summary="Liveness and version", response=Health)
def health(call: Call) -> Any:
    return {"status": "ok", "version": container().settings.version}


@endpoint(bp, "/openapi.json", methods=["GET"], public=True, summary="This document (OpenAPI 3.1)", response=dict)
def openapi(call: Call) -> Any:
    from chalicelib.openapi import document

    return document(container().settings.version)
