"""The console's static file names (chalicelib/console/assets.py): a name changes exactly when the content does.

Browsers and CloudFront keep a static file for a year (``immutable``), so a
new version must get a new name, and an unchanged file must keep its name
(or every deploy would empty every cache).  The same function names the files
for the local server and for the S3 upload.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from chalicelib.console import assets

HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{8})(?P<suffix>\.[a-z]+)$")


def test_the_name_carries_the_first_eight_hex_digits_of_the_sha256_before_the_last_suffix(tmp_path: Path) -> None:
    path = tmp_path / "htmx.min.js"
    path.write_bytes(b"console.log('v1');\n")
    digest = hashlib.sha256(b"console.log('v1');\n").hexdigest()[:8]
    assert assets.hashed_name(path) == f"htmx.min.{digest}.js"


def test_the_name_changes_when_the_content_changes_and_only_then(tmp_path: Path) -> None:
    path = tmp_path / "console.css"
    path.write_text(".flag { color: red; }\n")
    first = assets.hashed_name(path)
    assert assets.hashed_name(path) == first
    path.write_text(".flag { color: darkred; }\n")
    second = assets.hashed_name(path)
    assert second != first
    path.write_text(".flag { color: red; }\n")
    assert assets.hashed_name(path) == first
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    (copy / "console.css").write_text(".flag { color: red; }\n")
    assert assets.hashed_name(copy / "console.css") == first  # the bytes name it, not where it lies


def test_a_one_byte_change_changes_the_name(tmp_path: Path) -> None:
    path = tmp_path / "console.js"
    path.write_bytes(b"a" * 4096)
    before = assets.hashed_name(path)
    path.write_bytes(b"a" * 4095 + b"b")
    assert assets.hashed_name(path) != before


def test_every_shipped_static_file_has_a_hashed_name_and_a_content_type() -> None:
    shipped = sorted(p.name for p in assets.STATIC_DIR.iterdir() if p.is_file())
    assert {"console.css", "console.js", "htmx.min.js"} <= set(shipped)
    manifest = assets.manifest()
    assert sorted(manifest) == shipped, "a static file the manifest leaves out would be a 404 in every stage"
    for plain, hashed in manifest.items():
        match = HASHED.match(hashed)
        assert match, hashed
        assert match["stem"] + match["suffix"] == plain
        assert match["suffix"] in assets.CONTENT_TYPES
        assert assets.by_hashed_name()[hashed] == assets.STATIC_DIR / plain


def test_a_url_is_the_static_prefix_and_the_hashed_name() -> None:
    assert assets.url("console.css") == "/console/static/" + assets.hashed_name(assets.STATIC_DIR / "console.css")


def test_a_template_asking_for_a_missing_file_fails_loudly() -> None:
    with pytest.raises(KeyError):
        assets.url("missing.css")
