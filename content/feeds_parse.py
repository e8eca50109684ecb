"""Feed documents (RSS 0.9x/2.0, Atom, RDF) to plain entries: feedparser does the parsing
and the encodings; this module turns its output into clean, comparable values.

Nothing here touches the network or the database: :func:`parse_feed` takes the bytes a
fetch returned (and the HTTP headers, which carry the declared charset).
"""

from __future__ import annotations

import calendar
import hashlib
import io
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import feedparser

#: The longest dedupe key stored as is; longer keys are stored as their hash.
MAX_KEY_LENGTH = 2000

# Elements whose content is never text a reader sees.
_HIDDEN = frozenset(
    {"script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg", "math"}
)
# Elements that start a new paragraph (a blank line before and after).
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "main",
        "nav",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "dl",
        "table",
        "address",
        "form",
        "fieldset",
    }
)
# Elements that only start a new line.
_LINES = frozenset({"li", "tr", "dt", "dd", "caption"})
_VOID_BREAKS = frozenset({"br", "hr"})
_LINE, _PARAGRAPH = 1, 2
_BULLET = "• "

# feedparser flags these as "bozo" although nothing was lost: a server that labels its
# RSS text/html is common and harmless, so it is not reported as a feed error.
_HARMLESS = (feedparser.NonXMLContentType,)


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML fragment, block elements as line breaks.

    ``parts`` holds text and break markers (1: new line, 2: new paragraph); markers are
    merged when the text is assembled, so the source's indentation between tags never
    turns into blank lines.
    """

    def __init__(self) -> None:
        # convert_charrefs: entities (&amp; &nbsp; &#7871;) arrive decoded in handle_data.
        super().__init__(convert_charrefs=True)
        self.parts: list[str | int] = []
        self.hidden = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _VOID_BREAKS:
            self.parts.append(_LINE)
        elif tag in _BLOCKS:
            self.parts.append(_PARAGRAPH)
            self.pre += tag == "pre"
        elif tag in _LINES:
            self.parts.append(_LINE)
            if tag == "li":
                self.parts.append(_BULLET)
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <hr/>, <p/>: a self-closed hidden element (<script/>) hides nothing.
        if tag in _VOID_BREAKS:
            self.parts.append(_LINE)
        elif tag in _BLOCKS:
            self.parts.append(_PARAGRAPH)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append(_PARAGRAPH)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag in _LINES:
            self.parts.append(_LINE)

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre:
            self.parts.append(data)
        else:
            # Outside <pre>, any run of whitespace (line breaks too) is one space.
            words = " ".join(data.split())
            if not words:
                self.parts.append(" ")
                return
            lead = " " if data[0].isspace() else ""
            trail = " " if data[-1].isspace() else ""
            self.parts.append(f"{lead}{words}{trail}")

    def text(self) -> str:
        """The collected text, breaks merged (the strongest break between two texts wins)."""
        out: list[str] = []
        pending = 0
        for part in self.parts:
            if isinstance(part, int):
                pending = max(pending, part)
            elif part.strip():
                if pending and out:
                    out.append("\n" * pending)
                pending = 0
                out.append(part)
            elif out and not pending:
                out.append(" ")
        return "".join(out)


def tidy_text(text: str) -> str:
    """NFC, spaces collapsed within lines, at most one blank line between paragraphs."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    # A bullet alone on its line (an empty <li>) says nothing.
    return "\n".join(line for line in out if line != _BULLET.strip())


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment: entities decoded, scripts and styles dropped,
    paragraphs separated by a blank line, list items on their own lines."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return tidy_text(parser.text())


def one_line(text: str) -> str:
    """NFC and all whitespace (line breaks too) collapsed to single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def normalise_title(title: str) -> str:
    """The form titles are compared in: NFC, case-folded, whitespace collapsed."""
    return one_line(title).casefold()


@dataclass(frozen=True)
class ParsedEntry:
    """One entry of a feed, cleaned: plain-text title and summary, aware UTC date or None."""

    entry_id: str | None
    link: str | None
    title: str | None
    summary: str | None
    published_at: datetime | None

    @property
    def label(self) -> str:
        """How messages name this entry."""
        return self.title or self.link or self.entry_id or "(untitled entry)"

    def dedupe_key(self) -> str | None:
        """The entry id, else the link, else the normalised title (None: nothing to key on)."""
        if self.entry_id:
            key = f"id:{self.entry_id}"
        elif self.link:
            key = f"link:{self.link}"
        elif self.title:
            key = f"title:{normalise_title(self.title)}"
        else:
            return None
        if len(key) > MAX_KEY_LENGTH:
            return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
        return key


@dataclass
class ParsedFeed:
    """What a feed document held, and what went wrong reading it."""

    title: str | None
    version: str
    entries: list[ParsedEntry] = field(default_factory=list)
    #: Entries that cannot be imported: (label, reason).
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Why the document is malformed or not a feed; entries may still have been recovered.
    error: str | None = None


def parse_feed(data: bytes, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse a feed document. ``headers`` are the HTTP response headers (for the charset and
    the base URL of relative links); a malformed document yields what could be recovered."""
    if not data.strip():
        return ParsedFeed(title=None, version="", error="the document is empty")
    # A stream, never the bytes themselves: feedparser would try bytes as a file name first.
    result = feedparser.parse(
        io.BytesIO(data), response_headers={k.lower(): v for k, v in (headers or {}).items()}
    )
    version = str(result.get("version") or "")
    feed_title = _text_of(result.feed, "title") or None
    parsed = ParsedFeed(title=feed_title, version=version)
    for raw in result.entries:
        entry = _entry(raw)
        if not (entry.title or entry.link or entry.summary):
            parsed.skipped.append((entry.label, "the entry has no title, link or text"))
        elif entry.dedupe_key() is None:
            parsed.skipped.append((entry.label, "the entry has no id, link or title"))
        else:
            parsed.entries.append(entry)
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if not version and not result.entries:
        reason = f": {_describe(problem)}" if problem else ""
        parsed.error = f"not an RSS, Atom or RDF feed{reason}"
    elif problem is not None and not isinstance(problem, _HARMLESS):
        count = len(parsed.entries)
        parsed.error = (
            f"malformed feed, {count} {'entry' if count == 1 else 'entries'} recovered: "
            f"{_describe(problem)}"
        )
    return parsed


def _entry(raw: Mapping[str, Any]) -> ParsedEntry:
    content = raw.get("content") or []
    if raw.get("summary"):
        summary = _text_of(raw, "summary")
    elif content:
        # Atom <content> without <summary>: the first content block stands in for it.
        block = content[0]
        summary = _as_text(block.get("value", ""), block.get("type", "text/html"))
    else:
        summary = ""
    entry_id = one_line(str(raw.get("id") or "")) or None
    link = str(raw.get("link") or "").strip() or None
    return ParsedEntry(
        entry_id=entry_id,
        link=link,
        title=one_line(_text_of(raw, "title")) or None,
        summary=summary or None,
        published_at=_date(raw),
    )


def _text_of(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key) or ""
    detail = raw.get(f"{key}_detail") or {}
    return _as_text(str(value), str(detail.get("type") or "text/html"))


def _as_text(value: str, content_type: str) -> str:
    # feedparser has already undone the XML escaping; "text/plain" values are literal text
    # (a "<" in them is a less-than sign), anything else is HTML.
    if "html" in content_type or "xml" in content_type:
        return html_to_text(value)
    return tidy_text(value)


def _date(raw: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            try:
                # feedparser normalises every date it understands to a UTC struct_time.
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (TypeError, ValueError, OverflowError):
                continue
    return None


def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    return message or type(exc).__name__
