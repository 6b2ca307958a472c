"""The console's strings through gettext: English first, other catalogues when they exist.

Templates mark strings with ``{% trans %}`` / ``_()``; ``make messages``
extracts them with Babel (a development tool: ``babel.cfg``) into
``locale/messages.pot``; a translation is compiled to
``locale/<lang>/LC_MESSAGES/messages.mo``.  At run time the standard library's
``gettext`` reads the compiled catalogue (Babel's locale data would add 10 MB to
the Lambda package); with none, the English source strings are shown.
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "en"


@functools.cache
def translations(locale: str = DEFAULT_LOCALE) -> gettext.NullTranslations:
    return gettext.translation("messages", str(LOCALE_DIR), languages=[locale], fallback=True)
