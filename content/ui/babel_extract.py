"""Babel's extraction method for Loa's code: Babel's Python extractor, plus what it cannot see.

The translations are kept with Babel's own commands (``pybabel extract``, ``update``,
``compile``; README, "Translations"), configured once under ``[tool.babel]`` in
pyproject.toml, which names :func:`extract` as the method for every ``.py`` file.

Babel's Python extractor finds ``_()``, ``N_()``, ``ngettext()`` and ``pgettext()`` calls.
Two kinds of label it cannot see, :func:`extract` adds:

- a Textual ``Binding(key, action, description)``'s description: a plain argument,
  translated when a screen is built (:func:`content.ui.i18n.translated_bindings`);
- a ``_()`` call inside an f-string (``f"{_('warning')}: ..."``), which Babel's tokenizer
  reads as one string before Python 3.12.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python

#: What an extraction method yields (Babel's interface): the line, the keyword called (None:
#: a plain label), the message or the call's arguments (None where not a literal), the
#: translator comments.
Found = tuple[int, str | None, str | tuple[str | None, ...], list[str]]


def extract(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Found]:
    """Every label of one Python file: what Babel's Python extractor finds, then the rest.

    Babel's extraction interface (``extract_xxx(fileobj, keywords, comment_tags, options)``);
    Babel applies the keywords' argument specifications (``ngettext:1,2``, ``pgettext:1c,2``)
    to what is yielded here. The labels come in line order, so a file's labels keep their
    order in the catalogue.
    """
    source = fileobj.read()
    found: list[Found] = list(
        extract_python(io.BytesIO(source), keywords, comment_tags, options)  # type: ignore[arg-type]
    )
    # Python 3.12+ tokenizes f-strings, so Babel may find a call inside one itself.
    seen = {(line, funcname, message) for line, funcname, message, _comments in found}
    found += [f for f in unseen_by_babel(source, keywords) if (f[0], f[1], f[2]) not in seen]
    yield from sorted(found, key=lambda f: f[0])


def unseen_by_babel(source: bytes | str, keywords: Collection[str]) -> Iterator[Found]:
    """The labels of ``source`` Babel's Python extractor cannot see (see the module's doc).

    A ``Binding``'s description comes with no keyword (Babel reads it as a plain message);
    a keyword call inside an f-string comes with its keyword and its arguments, as Babel's
    own extractor yields them.
    """
    tree = ast.parse(source)
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
        if name == "Binding":
            found = node.args[2] if len(node.args) > 2 else None
            for kw in node.keywords:
                if kw.arg == "description":
                    found = kw.value
            if isinstance(found, ast.Constant) and isinstance(found.value, str) and found.value:
                yield node.lineno, None, found.value, []
        elif id(node) in in_fstrings and name in keywords and node.args:
            args = tuple(
                a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
                for a in node.args
            )
            message = args if len(args) > 1 else args[0]
            if message is not None:
                yield node.lineno, name, message, []
