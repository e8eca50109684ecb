"""Search text that ignores case and Vietnamese diacritics, the same on every database.

Officers type "lua dao", "LỪA ĐẢO" or "lừa đảo" and mean the same posts. Neither SQLite
(its LIKE and lower() fold ASCII only) nor PostgreSQL (ILIKE keeps diacritics) can say so
on their own, so each post keeps a folded copy of what is searched (``Post.search_text``,
written by the queue) and the typed term is folded the same way here before a plain LIKE.

Folding is lossy on purpose: "lửa" (fire) and "lừa" (to cheat) both fold to "lua", as
they do in every Vietnamese search box; a search finds a little more, never less.
"""

from __future__ import annotations

import unicodedata
from typing import Any

#: Between the folded fields, so a typed term never matches across title and text.
FIELD_SEPARATOR = "\n"


def fold(text: str) -> str:
    """``text`` without case, diacritics or runs of whitespace: the form searches compare.

    Case-folded, decomposed (NFD) and stripped of combining marks; đ/Đ, which Unicode does
    not decompose, becomes d.
    """
    decomposed = unicodedata.normalize("NFD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.replace("đ", "d").split())


def search_text(title: str | None, text: str | None, author: str | None) -> str:
    """What a post is searched by: its title, text and author, each folded."""
    return FIELD_SEPARATOR.join(fold(part or "") for part in (title, text, author))


def matches(column: Any, term: str) -> Any:
    """A condition: ``column`` (folded text) contains the folded ``term``.

    ``%`` and ``_`` in the term are matched literally (escaped), not as wildcards.
    """
    return column.contains(fold(term), autoescape=True)
