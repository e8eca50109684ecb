"""Report HTML from Jinja2 templates, escaped by the template engine.

The pages (the weekly mail, ``loa report range --format html``, the alert digest) are
``scheduler/report_templates/*.html``; the code gives them words already translated and
tables of text, and the engine escapes everything it prints (autoescape), so a post's
title or a platform's message cannot inject markup. An office restyles its mails without
Python: copy that folder, edit the copy, and set ``[reporting] templates = "/path/to/copy"``
in channels.toml; a template missing from the copy is taken from Loa's own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

log = logging.getLogger("loa.report")

#: Loa's own templates (shipped as package data).
BUILTIN = Path(__file__).resolve().parent / "report_templates"

_environments: dict[Path | None, Environment] = {}


@dataclass(frozen=True)
class Linked:
    """A table cell with a link under its text (a post and its permalink)."""

    text: str
    url: str
    label: str


Cell = str | Linked


@dataclass(frozen=True)
class Table:
    """What a template's ``table`` macro draws: the header, the rows, the numeric columns
    (right-aligned) and an optional total row in bold."""

    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    numeric: Sequence[int] = field(default_factory=tuple)
    total: Sequence[Cell] | None = None


def linked(text: str, url: str | None, label: str) -> Cell:
    """``text`` with a link to ``url`` when it is http(s) (never a javascript: or other
    scheme), else the text alone."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return text
    return Linked(text, url, label)


def environment(folder: Path | None = None) -> Environment:
    """The template engine: the office's ``folder`` first (when given), then Loa's own."""
    found = _environments.get(folder)
    if found is None:
        if folder is not None and not folder.is_dir():
            # Said once per process: a mistyped [reporting] templates must not pass unseen,
            # nor stop the weekly mail (Loa's own templates still draw it).
            log.warning("[reporting] templates: no folder %s; Loa's own templates are used", folder)
        loaders = [FileSystemLoader(str(folder))] if folder is not None else []
        found = Environment(
            loader=ChoiceLoader([*loaders, FileSystemLoader(str(BUILTIN))]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        _environments[folder] = found
    return found


def render(name: str, folder: Path | None = None, **context: Any) -> str:
    """Template ``name`` (e.g. ``weekly.html``) filled with ``context``."""
    return environment(folder).get_template(name).render(**context)
