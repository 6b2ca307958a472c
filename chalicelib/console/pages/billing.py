"""Console page: billing (being built for issue 18)."""

from __future__ import annotations
