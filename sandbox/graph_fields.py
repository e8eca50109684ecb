"""Graph ``fields=`` parsing: ``a,b{c,d},reactions.summary(total_count).limit(0).as(x)``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MODIFIER_RE = re.compile(r"\.([A-Za-z_]+)\(([^()]*)\)")


@dataclass(frozen=True)
class FieldRequest:
    """One requested field with its modifiers (``summary``, ``limit``, ``type``, ``as``)."""

    name: str
    modifiers: dict[str, str] = field(default_factory=dict)
    subfields: tuple[FieldRequest, ...] = ()

    @property
    def key(self) -> str:
        """The name the value is returned under (``.as(alias)`` renames it)."""
        return self.modifiers.get("as", self.name)

    def wants_summary(self) -> bool:
        """``.summary(true)`` or ``.summary(total_count)``."""
        return self.modifiers.get("summary", "false").lower() not in ("false", "0", "")


class FieldSyntaxError(ValueError):
    """The ``fields`` parameter cannot be parsed."""


def split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside ``{}`` or ``()``."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
            if depth < 0:
                raise FieldSyntaxError(text)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise FieldSyntaxError(text)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_fields(text: str | None) -> list[FieldRequest]:
    """Parse a ``fields`` value; an empty or missing value gives an empty list."""
    if not text:
        return []
    return [_parse_one(part) for part in split_top_level(text)]


def _parse_one(text: str) -> FieldRequest:
    match = _NAME_RE.match(text)
    if not match:
        raise FieldSyntaxError(text)
    name, rest = match.group(0), text[match.end() :]
    modifiers: dict[str, str] = {}
    subfields: tuple[FieldRequest, ...] = ()
    while rest:
        if rest.startswith("{"):
            if not rest.endswith("}"):
                raise FieldSyntaxError(text)
            subfields = tuple(parse_fields(rest[1:-1]))
            rest = ""
            continue
        modifier = _MODIFIER_RE.match(rest)
        if not modifier:
            raise FieldSyntaxError(text)
        modifiers[modifier.group(1)] = modifier.group(2).strip()
        rest = rest[modifier.end() :]
    return FieldRequest(name, modifiers, subfields)
