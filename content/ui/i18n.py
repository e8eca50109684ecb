"""Labels in Vietnamese and English through gettext, and translated key bindings.

The catalogue and the language (see :mod:`content.i18n`) are shared with the library and
the CLI; this module adds what needs Textual: bindings whose descriptions are translated.
"""

from __future__ import annotations

from dataclasses import replace

from textual.binding import Binding, BindingsMap

# The gettext half lives in the library (content.i18n) so errors can be rendered without
# Textual; re-exported here for the screens.
from content.i18n import (
    DOMAIN,
    LANGUAGES,
    LOCALE_DIR,
    N_,
    _,
    choose_language,
    language,
    ngettext,
    set_language,
    translation,
)

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "_",
    "choose_language",
    "language",
    "ngettext",
    "set_language",
    "translated_bindings",
    "translation",
]


def translated_bindings(bindings: BindingsMap) -> BindingsMap:
    """A copy of ``bindings`` whose descriptions are in the current language.

    BINDINGS are class attributes written once in English; each screen swaps in a
    translated copy when it is built, so the Footer and the help screen speak the user's
    language and a language switch only needs the screens to be rebuilt.
    """
    keys: dict[str, list[Binding]] = {}
    for key, items in bindings.key_to_bindings.items():
        keys[key] = [
            replace(b, description=_(b.description) if b.description else b.description)
            for b in items
        ]
    return BindingsMap.from_keys(keys)
