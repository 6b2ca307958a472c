"""The console's strings through gettext (Babel): English first, other catalogues when they exist.

Templates mark strings with ``{% trans %}`` / ``_()``; ``make messages``
extracts them into ``locale/messages.pot`` (``babel.cfg``) and compiles any
``locale/<lang>/LC_MESSAGES/messages.po``.  With no compiled catalogue the
English source strings are shown.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "en"


@functools.cache
def translations(locale: str = DEFAULT_LOCALE) -> Any:
    from babel.support import Translations

    return Translations.load(str(LOCALE_DIR), [locale], domain="messages")
