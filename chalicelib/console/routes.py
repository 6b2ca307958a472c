"""Every console route on one Blueprint: the HTTP edge (``web``) and, by importing them, the pages."""

from __future__ import annotations

from chalicelib.console.pages import alerts, billing, patient, patient_actions, signin, worklist  # noqa: F401
from chalicelib.console.web import bp

__all__ = ["bp"]
