"""Gettext for all of Loa: the library, the CLI and the TUI, without any UI toolkit.

Code writes English msgids wrapped in ``_()`` (or ``N_()`` where the text is only marked);
the reports, which render in the office's language whatever the process's, call
``translation(language).pgettext("report", ...)`` (the alert mail: ``"alert"``), the context
keeping a report's word apart from the TUI's same English word. One catalogue,
``content/ui/locale/vi/LC_MESSAGES/loa.po``, holds the Vietnamese, kept in step with the code
and compiled to ``loa.mo`` by Babel's ``pybabel extract``, ``update`` and ``compile`` (configured
in pyproject.toml; README, "Translations"). It stays under ``content/ui/`` where the TUI's
labels began; the library reads it from there (it is data, not the TUI's code). Numbers and
dates: :mod:`content.formatting`.

The current language is one per process (the TUI is one app, a CLI run is one command),
chosen by ``LOA_LANG``, else the office config. :func:`translation` gives any language's
catalogue without switching, for code that renders for someone else (a log, a test).
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "ui" / "locale"
DOMAIN = "loa"
LANGUAGES = ("vi", "en")

_catalogues: dict[str, gettext.NullTranslations] = {}
_language = "en"


def choose_language(configured: str | None, environ: dict[str, str] | None = None) -> str:
    """``LOA_LANG`` when it names a known language, else the office's, else Vietnamese."""
    env = os.environ if environ is None else environ
    for candidate in (env.get("LOA_LANG", ""), configured or ""):
        code = candidate.strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "vi"


def translation(code: str) -> gettext.NullTranslations:
    """The catalogue of ``code`` ("vi" or "en"), read once per process."""
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}; expected one of {', '.join(LANGUAGES)}")
    found = _catalogues.get(code)
    if found is None:
        # fallback=True: English needs no catalogue, and a missing .mo must not stop Loa.
        found = gettext.translation(DOMAIN, LOCALE_DIR, languages=[code], fallback=True)
        _catalogues[code] = found
    return found


def set_language(code: str) -> None:
    """Switch every later ``_()`` call to ``code`` ("vi" or "en")."""
    global _language
    translation(code)  # refuses an unknown code before switching
    _language = code


def language() -> str:
    """The current language code."""
    return _language


def _(message: str) -> str:
    """The current language's text for an English ``message``."""
    return translation(_language).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Singular or plural text for ``n`` in the current language."""
    return translation(_language).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it yet (tables, class labels)."""
    return message
