"""The translations are complete and compiled: every label in the code has Vietnamese.

The catalogues are kept with Babel's own commands (``pybabel extract``, ``update``,
``compile``), configured under ``[tool.babel]`` in pyproject.toml. These tests extract the
labels with Babel's API, in memory and with that same configuration, and compare them with
the committed template, ``.po`` and ``.mo`` files.
"""

from __future__ import annotations

import gettext
import io
import logging
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, check_and_call_extract_file, extract_from_dir
from babel.messages.frontend import CommandLineInterface, parse_keywords
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from content.i18n import DOMAIN, LANGUAGES, LOCALE_DIR
from content.ui.i18n import choose_language
from tests.conftest import REPO

#: What to run after adding or changing a label (README, "Translations").
UPDATE = "pybabel extract && pybabel update && pybabel compile"

#: A message's key in a catalogue: (context, msgid), the msgid a pair for ngettext.
Key = tuple[str | None, str | tuple[str, ...]]


def babel_config(root: Path) -> dict[str, Any]:
    """The ``[tool.babel]`` tables of ``root``'s pyproject.toml, as pybabel reads them."""
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["babel"]


def in_code(root: Path) -> Catalog:
    """Every label in ``root``'s code, found as ``pybabel extract`` finds them there."""
    config = babel_config(root)
    options = config["extract_messages"]
    keywords = {} if options.get("no_default_keywords") else dict(DEFAULT_KEYWORDS)
    keywords.update(parse_keywords(options.get("keywords", [])))
    methods = [(m["pattern"], m["method"]) for m in config["mappings"]]
    catalog = Catalog(fuzzy=False)
    for name in options["input_paths"]:
        path = root / name
        if path.is_file():
            found: Iterator[tuple[Any, ...]] = check_and_call_extract_file(
                str(path), methods, {}, None, keywords, (), False, dirpath=str(root)
            )
        else:
            found = extract_from_dir(str(path), methods, keywords=keywords)
        for _file, _line, message, _comments, context in found:
            catalog.add(message, context=context)
    return catalog


def keys(catalog: Catalog) -> set[Key]:
    """The labels of ``catalog``, header aside."""
    return {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)) for m in catalog if m.id}


def compiled(mo: bytes) -> set[tuple[object, ...]]:
    """What a compiled catalogue says (context, msgid, translations), header aside: two .mo
    saying the same are in step whatever Babel version wrote them."""
    said: set[tuple[object, ...]] = set()
    for message in read_mo(io.BytesIO(mo)):
        if message.id:
            ids, forms = message.id, message.string
            key = tuple(ids) if isinstance(ids, (tuple, list)) else ids
            strings = tuple(forms) if isinstance(forms, (tuple, list)) else (forms,)
            said.add((message.context, key, strings))
    return said


def untranslated(catalog: Catalog) -> list[str]:
    """The labels of ``catalog`` without a (non-fuzzy) translation in every plural form."""
    missing = []
    for m in catalog:
        forms = m.string if isinstance(m.string, (tuple, list)) else [m.string]
        if m.id and (m.fuzzy or not all(forms)):
            missing.append(f"{m.context}: {m.id!r}" if m.context else repr(m.id))
    return missing


def _sample(labels: set[Key]) -> str:
    shown = sorted(labels, key=repr)[:5]
    return ", ".join(repr(m if c is None else (c, m)) for c, m in shown)


def problems(root: Path) -> list[str]:
    """Where ``root``'s catalogues are not in step with its code, each saying what to run."""
    config = babel_config(root)
    update = config["update_catalog"]
    code = keys(in_code(root))
    found = []
    template = root / config["extract_messages"]["output_file"]
    with template.open("rb") if template.exists() else io.BytesIO() as handle:
        if keys(read_po(handle)) != code:
            found.append(f"{template}: not in step with the code; run {UPDATE}")
    for lang in LANGUAGES:
        po = root / update["output_dir"] / lang / "LC_MESSAGES" / f"{update['domain']}.po"
        if not po.exists():
            found.append(f"{po}: missing; run pybabel init -l {lang}, then {UPDATE}")
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        if missing := code - keys(catalog):
            found.append(f"{po}: {len(missing)} labels missing ({_sample(missing)}); run {UPDATE}")
        if stale := keys(catalog) - code:
            found.append(f"{po}: {len(stale)} labels not in the code ({_sample(stale)}); {UPDATE}")
        mo, out = po.with_suffix(".mo"), io.BytesIO()
        write_mo(out, catalog)
        if not mo.exists() or compiled(mo.read_bytes()) != compiled(out.getvalue()):
            found.append(f"{mo}: not compiled from {po.name}; run pybabel compile")
        if lang == "vi":
            found += [
                f"{po}: no translation for {label}; fill its msgstr, then run pybabel compile"
                for label in untranslated(catalog)
            ]
    return found


def test_every_label_is_translated_and_compiled():
    found = problems(REPO)
    assert found == [], "\n".join(found)


def test_the_commands_write_where_loa_reads():
    """``pybabel update`` and ``compile`` work on the catalogues Loa loads."""
    config = babel_config(REPO)
    for table, folder in (("update_catalog", "output_dir"), ("compile_catalog", "directory")):
        assert (REPO / config[table][folder]).resolve() == LOCALE_DIR
        assert config[table]["domain"] == DOMAIN


def test_compiled_catalogue_is_read_by_gettext():
    vi = gettext.translation("loa", LOCALE_DIR, languages=["vi"])
    assert vi.gettext("New post") == "Bài mới"
    assert vi.ngettext("{n} needs attention", "{n} need attention", 3) == "{n} cần xử lý"


@pytest.fixture
def pybabel(tmp_path, monkeypatch):
    """Run a ``pybabel`` command in ``tmp_path`` (a project holding Loa's pyproject.toml)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BABEL_PYPROJECT_TOML", raising=False)
    (tmp_path / "pyproject.toml").write_bytes((REPO / "pyproject.toml").read_bytes())
    babel_log = logging.getLogger("babel")
    handlers, level = list(babel_log.handlers), babel_log.level

    def run(*args: str) -> None:
        assert CommandLineInterface().run(["pybabel", "-q", *args]) in (None, 0)

    yield run
    # The CLI gives Babel's logger a handler on this test's captured stderr: take it back.
    babel_log.handlers[:], babel_log.level = handlers, level


def test_a_label_without_vietnamese_fails_the_check(tmp_path, pybabel):
    """A new label in the code comes untranslated from the commands, and the check names it
    until it is translated; a reworded label starts again untranslated."""
    (tmp_path / "tui.py").write_text("", encoding="utf-8")
    (tmp_path / "scheduler").mkdir()
    (tmp_path / "content" / "ui" / "locale").mkdir(parents=True)
    source = tmp_path / "content" / "screen.py"
    source.write_text(
        "from textual.binding import Binding\n"
        'BINDINGS = [Binding("x", "go", "Go there")]\n'
        'A = _("say \\"hi\\"\\nnow")\n'
        'B = ngettext("one", "many", 2)\n'
        "C = f\"{_('warning')}: ...\"\n"
        'D = words.pgettext("report", "Total")\n'
        'E = gettext("not a Loa keyword")\n',
        encoding="utf-8",
    )
    pybabel("extract")
    pybabel("init", "-l", "vi")
    pybabel("init", "-l", "en")
    pybabel("compile")
    found = problems(tmp_path)
    assert len(found) == 5 and all("no translation" in p for p in found), found
    po = tmp_path / "content" / "ui" / "locale" / "vi" / "LC_MESSAGES" / "loa.po"
    text = po.read_text(encoding="utf-8")
    for msgid in ("Go there", '"say \\"hi\\"\\n"', "one", "warning", "Total"):
        assert msgid in text
    assert "not a Loa keyword" not in text
    filled = (
        text.replace('msgid "Go there"\nmsgstr ""', 'msgid "Go there"\nmsgstr "Đến đó"')
        .replace('"now"\nmsgstr ""', '"now"\nmsgstr "chào"')
        .replace('msgstr[0] ""', 'msgstr[0] "nhiều"')
        .replace('msgid "warning"\nmsgstr ""', 'msgid "warning"\nmsgstr "cảnh báo"')
        .replace('msgid "Total"\nmsgstr ""', 'msgid "Total"\nmsgstr "Tổng cộng"')
    )
    po.write_text(filled, encoding="utf-8")
    assert [p for p in problems(tmp_path) if "loa.mo" in p] != []  # compiled before the edit
    pybabel("compile")
    assert problems(tmp_path) == []
    with po.with_suffix(".mo").open("rb") as handle:
        vi = gettext.GNUTranslations(handle)
    assert vi.gettext('say "hi"\nnow') == "chào"
    assert vi.ngettext("one", "many", 1) == "nhiều"
    assert vi.pgettext("report", "Total") == "Tổng cộng"
    assert vi.gettext("Total") == "Total"  # another context, another word

    source.write_text(source.read_text(encoding="utf-8").replace("Go there", "Go over there"))
    assert any("labels missing" in p for p in problems(tmp_path))
    pybabel("extract")
    pybabel("update")
    pybabel("compile")
    [problem] = problems(tmp_path)
    assert problem.startswith(f"{po}: no translation for 'Go over there'")
    text = po.read_text(encoding="utf-8")
    assert "Go there" not in text and "Đến đó" not in text  # no guess, no obsolete entry
    assert 'msgstr "cảnh báo"' in text  # the other translations kept


def test_language_choice():
    assert choose_language("en", {"LOA_LANG": "vi_VN.UTF-8"}) == "vi"
    assert choose_language("en", {}) == "en"
    assert choose_language(None, {"LOA_LANG": "fr"}) == "vi"
