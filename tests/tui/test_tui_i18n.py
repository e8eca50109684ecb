"""The translations are complete and compiled: every label in the code has Vietnamese."""

from __future__ import annotations

import gettext

from content.ui import msgfmt
from content.ui.i18n import LOCALE_DIR, choose_language


def test_every_label_is_translated_and_compiled():
    assert msgfmt.problems() == []


def test_compiled_catalogue_is_read_by_gettext():
    vi = gettext.translation("loa", LOCALE_DIR, languages=["vi"])
    assert vi.gettext("New post") == "Bài mới"
    assert vi.ngettext("{n} needs attention", "{n} need attention", 3) == "{n} cần xử lý"


def test_po_round_trip_keeps_quotes_and_newlines():
    keys = ['say "hi"\nnow', ("one", "many")]
    text = msgfmt.render_po(keys, {keys[0]: ["chào"], keys[1]: ["nhiều"]}, "vi")
    parsed = msgfmt.parse_po(text)
    assert parsed[keys[0]] == ["chào"] and parsed[keys[1]] == ["nhiều"]


def test_language_choice():
    assert choose_language("en", {"LOA_LANG": "vi_VN.UTF-8"}) == "vi"
    assert choose_language("en", {}) == "en"
    assert choose_language(None, {"LOA_LANG": "fr"}) == "vi"
