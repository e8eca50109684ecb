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


def test_a_label_without_vietnamese_fails_the_check(tmp_path, monkeypatch):
    """A new label in the code is added untranslated, and --check names it until it is."""
    source = tmp_path / "screen.py"
    source.write_text(
        "from textual.binding import Binding\n"
        'BINDINGS = [Binding("x", "go", "Go there")]\n'
        'A = _("say \\"hi\\"\\nnow")\n'
        'B = ngettext("one", "many", 2)\n'
        "C = f\"{_('warning')}: ...\"\n"
        'D = words.pgettext("report", "Total")\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(msgfmt, "SOURCES", [source])
    monkeypatch.setattr(msgfmt, "HERE", tmp_path)
    monkeypatch.setattr(msgfmt, "ROOT", tmp_path)
    assert msgfmt.main([]) == 0
    assert msgfmt.main(["--check"]) == 1
    assert len([p for p in msgfmt.problems() if "no translation" in p]) == 5
    po, mo = msgfmt.paths("vi")
    text = po.read_text(encoding="utf-8")
    for msgid in ("Go there", '"say \\"hi\\"\\n"', "one", "warning", "Total"):
        assert msgid in text
    filled = (
        text.replace('msgid "Go there"\nmsgstr ""', 'msgid "Go there"\nmsgstr "Đến đó"')
        .replace('"now"\nmsgstr ""', '"now"\nmsgstr "chào"')
        .replace('msgstr[0] ""', 'msgstr[0] "nhiều"')
        .replace('msgid "warning"\nmsgstr ""', 'msgid "warning"\nmsgstr "cảnh báo"')
        .replace('msgid "Total"\nmsgstr ""', 'msgid "Total"\nmsgstr "Tổng cộng"')
    )
    po.write_text(filled, encoding="utf-8")
    assert msgfmt.main([]) == 0
    assert msgfmt.problems() == []
    vi = gettext.GNUTranslations(mo.open("rb"))
    assert vi.gettext('say "hi"\nnow') == "chào"
    assert vi.ngettext("one", "many", 1) == "nhiều"
    assert vi.pgettext("report", "Total") == "Tổng cộng"
    assert vi.gettext("Total") == "Total"  # another context, another word


def test_language_choice():
    assert choose_language("en", {"LOA_LANG": "vi_VN.UTF-8"}) == "vi"
    assert choose_language("en", {}) == "en"
    assert choose_language(None, {"LOA_LANG": "fr"}) == "vi"
