"""Keep the translations in step with the code, with Babel.

``python -m content.ui.msgfmt`` finds every label in Loa's code (the TUI, the library's
messages, the CLI and the reports), adds the new ones to each ``loa.po`` (keeping the
translations already there) and compiles ``loa.mo``. ``--check`` changes nothing and exits 1
when a label has no Vietnamese translation or a ``.po``/``.mo`` is out of date (the tests run
it).

Babel does the work: its Python extractor finds ``_()``, ``N_()``, ``ngettext()`` and
``pgettext()`` (the reports' words, under the context ``report`` or ``alert``), and
``babel.messages`` reads, merges, writes and compiles the catalogues. The one thing Babel
cannot see (a Textual ``Binding``'s description, a ``_()`` inside an f-string) is found by
:func:`unseen_by_babel`. Both ``.mo`` files are committed: ``pip install .`` needs no build step.
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
#: The TUI first, then the library and the CLI (error messages: content.messages), so
#: labels keep their places in the .po files and new ones come at the end.
SOURCES = [
    ROOT / "tui.py",
    *sorted(HERE.rglob("*.py")),
    *sorted(p for p in (ROOT / "content").rglob("*.py") if HERE not in p.parents),
    *sorted((ROOT / "scheduler").rglob("*.py")),
]
LOCALES = ("vi", "en")
#: What Babel's Python extractor looks for (its keyword specifications).
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
HEADER = "Loa: {language} labels (the TUI, the CLI, the library's messages, the reports).\n"
HEADER += "Update with: python -m content.ui.msgfmt"

#: A msgid, or (singular, plural) for ngettext.
Key = str | tuple[str, str]


def unseen_by_babel(path: Path) -> Iterator[tuple[int, Key, str | None]]:
    """(line, msgid, context) of the labels Babel's extractor cannot see in ``path``.

    Two kinds: a ``Binding(key, action, description)``'s description (a plain argument,
    translated when a screen is built: :func:`content.ui.i18n.translated_bindings`), and a
    ``_()`` call inside an f-string (``f"{_('warning')}: ..."``), which Babel's tokenizer
    reads as one string.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    in_fstrings = {
        id(node)
        for fstring in ast.walk(tree)
        if isinstance(fstring, ast.JoinedStr)
        for node in ast.walk(fstring)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        if name == "Binding":
            found = node.args[2] if len(node.args) > 2 else None
            for kw in node.keywords:
                if kw.arg == "description":
                    found = kw.value
            if isinstance(found, ast.Constant) and isinstance(found.value, str) and found.value:
                yield node.lineno, found.value, None
        elif id(node) not in in_fstrings:
            continue
        elif name in ("_", "N_") and args and isinstance(args[0], str):
            yield node.lineno, args[0], None
        elif name == "ngettext" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
            yield node.lineno, (str(args[0]), str(args[1])), None
        elif name == "pgettext" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
            yield node.lineno, str(args[1]), str(args[0])


def template(paths: Iterable[Path] | None = None) -> Catalog:
    """Every translatable label in ``paths`` (default :data:`SOURCES`), with its context."""
    catalog = Catalog(project="loa", fuzzy=False)
    for path in SOURCES if paths is None else paths:
        found = [
            (line, message, context)
            for line, message, _comments, context in extract_from_file(
                "python", str(path), keywords=KEYWORDS
            )
        ]
        found += list(unseen_by_babel(path))
        for line, message, context in sorted(found, key=lambda f: f[0]):
            if message and message not in ("", ("", "")):
                catalog.add(
                    message, locations=[(str(path.relative_to(ROOT)), line)], context=context
                )
    return catalog


def extract(paths: Iterable[Path] | None = None) -> list[Key]:
    """Every translatable msgid in ``paths`` (contexts left out), in order of appearance."""
    return [m.id if isinstance(m.id, str) else (m.id[0], m.id[1]) for m in template(paths) if m.id]


def paths(lang: str) -> tuple[Path, Path]:
    """The .po and .mo of one language."""
    folder = HERE / "locale" / lang / "LC_MESSAGES"
    return folder / "loa.po", folder / "loa.mo"


def updated(lang: str, code: Catalog) -> Catalog:
    """``lang``'s catalogue with exactly the labels of ``code``, its translations kept.

    No fuzzy matching: a reworded label starts untranslated (``--check`` then names it),
    rather than carrying a guessed translation a translator could miss.
    """
    po, _mo = paths(lang)
    if po.exists():
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang, abort_invalid=True)
    else:
        catalog = Catalog(locale=lang, project="loa")
    catalog.update(code, no_fuzzy_matching=True, update_creation_date=False)
    catalog.obsolete.clear()  # labels gone from the code go from the file too
    catalog.header_comment = "\n".join(
        "# " + line
        for line in HEADER.format(language="Vietnamese" if lang == "vi" else "English").split("\n")
    )
    catalog.project, catalog.version = "loa", ""
    # Babel's placeholders ("FULL NAME <EMAIL@ADDRESS>") say nothing here: the translators
    # are the office's developers, and git says who changed what and when.
    catalog.msgid_bugs_address = catalog.last_translator = catalog.language_team = ""
    catalog.revision_date = catalog.creation_date
    catalog.fuzzy = False
    return catalog


def render_po(catalog: Catalog) -> bytes:
    """The .po file of ``catalog``: no source locations (they change with every edit of the
    code and would make each update a large diff), no wrapping."""
    out = io.BytesIO()
    write_po(out, catalog, width=0, no_location=True, ignore_obsolete=True)
    # Without "Generated-By: Babel x.y": another Babel version must not make the file stale.
    lines = out.getvalue().splitlines(keepends=True)
    return b"".join(line for line in lines if not line.startswith(b'"Generated-By: '))


def render_mo(catalog: Catalog) -> bytes:
    """The compiled catalogue (untranslated and fuzzy labels fall back to English)."""
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _label(message: object) -> str:
    msgid = getattr(message, "id", "")
    context = getattr(message, "context", None)
    return f"{context}: {msgid!r}" if context else repr(msgid)


def entries(catalog: Catalog) -> list[tuple[object, ...]]:
    """What a catalogue says, in order (context, msgid, translation, fuzzy), header aside:
    two files saying the same are in step whatever Babel version wrote or compiled them."""
    return [
        (m.context, m.id, m.string, m.fuzzy) for m in catalog if m.id and not isinstance(m, str)
    ]


def _compiled(mo: bytes) -> set[tuple[object, ...]]:
    """What a compiled catalogue says (context, msgid, translations), header aside."""
    kept: set[tuple[object, ...]] = set()
    for message in read_mo(io.BytesIO(mo)):
        if message.id:
            ids, forms = message.id, message.string
            key = tuple(ids) if isinstance(ids, (tuple, list)) else ids
            strings = tuple(forms) if isinstance(forms, (tuple, list)) else (forms,)
            kept.add((message.context, key, strings))
    return kept


def untranslated(catalog: Catalog) -> list[str]:
    """The labels of ``catalog`` without a (non-fuzzy) translation in every plural form."""
    missing = []
    for message in catalog:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, (tuple, list)) else [message.string]
        if message.fuzzy or not all(forms):
            missing.append(_label(message))
    return missing


def problems() -> list[str]:
    """What is out of date: untranslated Vietnamese labels, stale .po or .mo files."""
    code = template()
    found: list[str] = []
    for lang in LOCALES:
        po, mo = paths(lang)
        catalog = updated(lang, code)
        with po.open("rb") if po.exists() else io.BytesIO() as handle:
            on_disk = read_po(handle, locale=lang)
        if entries(on_disk) != entries(catalog):
            found.append(f"{po}: not in step with the code (run python -m content.ui.msgfmt)")
        if not mo.exists():
            found.append(f"{mo}: missing; run python -m content.ui.msgfmt")
        elif _compiled(mo.read_bytes()) != _compiled(render_mo(on_disk)):
            found.append(f"{mo}: not compiled from {po.name}")
        if lang == "vi":
            found += [f"{po}: no translation for {label}" for label in untranslated(catalog)]
    return found


def main(argv: list[str] | None = None) -> int:
    """Update the .po files from the code and compile them (or only check, with --check)."""
    parser = argparse.ArgumentParser(prog="python -m content.ui.msgfmt", description=__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        for line in found:
            print(line)
        return 1 if found else 0
    code = template()
    for lang in LOCALES:
        po, mo = paths(lang)
        po.parent.mkdir(parents=True, exist_ok=True)
        catalog = updated(lang, code)
        po.write_bytes(render_po(catalog))
        mo.write_bytes(render_mo(catalog))
        missing = untranslated(catalog) if lang == "vi" else []
        total = len(catalog) - 1  # the header
        print(f"{po}: {total} labels, {total - len(missing)} translated")
        for label in missing:
            print(f"  no translation: {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
