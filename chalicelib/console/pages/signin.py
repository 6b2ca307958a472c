"""Console page: signin (being built for issue 18)."""

from __future__ import annotations
