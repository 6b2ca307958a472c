"""The console's static files and their content-hashed names.

Every file under ``static/`` is served as ``<stem>.<hash8><suffix>`` (the first
eight hex digits of the SHA-256 of its bytes before the last suffix:
``htmx.min.js`` → ``htmx.min.3f2a9c1b.js``), so a name never changes meaning
and browsers and CloudFront may cache it for a year.  Locally the app serves
them itself (``/console/static/<name>``); deployed, infra/ uploads the same
names to S3 behind the same origin.  One naming function for both.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/console/static/"
# Text files only: the local route serves them as text (a binary type would need the API's binary handling).
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def hashed_name(path: Path) -> str:
    """``htmx.min.js`` → ``htmx.min.<hash8>.js``."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    return f"{path.stem}.{digest}{path.suffix}"


@functools.cache
def manifest() -> dict[str, str]:
    """Plain name → hashed name, for every file shipped under ``static/``."""
    return {p.name: hashed_name(p) for p in sorted(STATIC_DIR.iterdir()) if p.is_file() and p.suffix in CONTENT_TYPES}


@functools.cache
def by_hashed_name() -> dict[str, Path]:
    return {hashed: STATIC_DIR / plain for plain, hashed in manifest().items()}


def url(name: str) -> str:
    """The URL of static file ``name`` (a KeyError for a file that does not exist: a template bug)."""
    return STATIC_PREFIX + manifest()[name]
