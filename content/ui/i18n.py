"""Labels in Vietnamese and English through gettext.

Code writes English msgids wrapped in ``_()``; ``locale/vi/LC_MESSAGES/loa.po`` holds the
Vietnamese, compiled to ``loa.mo`` by ``python -m content.ui.msgfmt``. The language is one
per process (the TUI is one app), chosen by ``LOA_LANG``, else the office config.
"""

from __future__ import annotations

import gettext
import os
from dataclasses import replace
from pathlib import Path

from textual.binding import Binding, BindingsMap

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "loa"
LANGUAGES = ("vi", "en")

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def choose_language(configured: str | None, environ: dict[str, str] | None = None) -> str:
    """``LOA_LANG`` when it names a known language, else the office's, else Vietnamese."""
    env = os.environ if environ is None else environ
    for candidate in (env.get("LOA_LANG", ""), configured or ""):
        code = candidate.strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "vi"


def set_language(code: str) -> None:
    """Switch every later ``_()`` call to ``code`` ("vi" or "en")."""
    global _translation, _language
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}; expected one of {', '.join(LANGUAGES)}")
    # fallback=True: English needs no catalogue, and a missing .mo must not stop the app.
    _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[code], fallback=True)
    _language = code


def language() -> str:
    """The current language code."""
    return _language


def _(message: str) -> str:
    """The current language's text for an English ``message``."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Singular or plural text for ``n`` in the current language."""
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it yet (class-level labels)."""
    return message


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
