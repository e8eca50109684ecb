"""Keep the translations in step with the code, without gettext tools installed.

``python -m content.ui.msgfmt`` finds every label in Loa's code (``_()``, ``N_()``,
``ngettext()`` and Binding descriptions: the TUI, the library's messages and the CLI),
adds the new ones to each ``loa.po`` (keeping existing translations), and compiles
``loa.mo``. ``--check`` changes nothing and exits 1
when a label has no Vietnamese translation or a ``.mo`` is out of date (the tests run it).
"""

from __future__ import annotations

import argparse
import ast
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

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
LOCALES = {"vi": "nplurals=1; plural=0;", "en": "nplurals=2; plural=(n != 1);"}

#: A msgid, or (singular, plural) for ngettext.
Key = str | tuple[str, str]


def extract(paths: Iterable[Path] = SOURCES) -> list[Key]:
    """Every translatable label in ``paths``, in order of first appearance."""
    found: dict[Key, None] = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
            if name in ("_", "N_") and args and isinstance(args[0], str):
                found[args[0]] = None
            elif (
                name == "ngettext" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2])
            ):
                found[(str(args[0]), str(args[1]))] = None
            elif name == "Binding":
                desc = args[2] if len(args) > 2 else None
                for kw in node.keywords:
                    if kw.arg == "description" and isinstance(kw.value, ast.Constant):
                        desc = kw.value.value
                if isinstance(desc, str) and desc:
                    found[desc] = None
    found.pop("", None)
    return list(found)


# ---------------------------------------------------------------------------- .po files


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _unquote(text: str) -> str:
    body = text.strip()[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_po(text: str) -> dict[Key, list[str]]:
    """A .po file's entries: key -> translations (one, or one per plural form)."""
    entries: dict[Key, list[str]] = {}
    current: dict[str, str] = {}
    field: str | None = None

    def flush() -> None:
        if "msgid" in current:
            plural = current.get("msgid_plural")
            key: Key = (current["msgid"], plural) if plural is not None else current["msgid"]
            forms = sorted(k for k in current if k.startswith("msgstr"))
            entries[key] = [current[k] for k in forms]
        current.clear()

    for raw in text.splitlines() + [""]:
        line = raw.strip()
        if not line or line.startswith("#"):
            if not line and current:
                flush()
                field = None
            continue
        if line.startswith('"'):
            if field is not None:
                current[field] += _unquote(line)
            continue
        keyword, _sep, rest = line.partition(" ")
        if keyword == "msgid" and "msgstr" in current:
            flush()
        field = keyword
        current[field] = _unquote(rest)
    flush()
    return entries


def render_po(keys: list[Key], old: dict[Key, list[str]], lang: str) -> str:
    """A .po file for ``keys``, keeping the translations in ``old``."""
    header = (
        "Project-Id-Version: loa\\n"
        f"Language: {lang}\\n"
        "MIME-Version: 1.0\\n"
        "Content-Type: text/plain; charset=UTF-8\\n"
        "Content-Transfer-Encoding: 8bit\\n"
        f"Plural-Forms: {LOCALES[lang]}\\n"
    )
    out = [
        f"# Loa terminal UI: {'Vietnamese' if lang == 'vi' else 'English'} labels.",
        "# Update with: python -m content.ui.msgfmt",
        'msgid ""',
        f'msgstr "{header}"',
        "",
    ]
    for key in keys:
        if isinstance(key, tuple):
            forms = old.get(key, [])
            out.append(f"msgid {_quote(key[0])}")
            out.append(f"msgid_plural {_quote(key[1])}")
            count = 1 if lang == "vi" else 2
            for i in range(count):
                out.append(f"msgstr[{i}] {_quote(forms[i] if i < len(forms) else '')}")
        else:
            out.append(f"msgid {_quote(key)}")
            out.append(f"msgstr {_quote((old.get(key) or [''])[0])}")
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------- .mo files


def compile_mo(entries: dict[Key, list[str]]) -> bytes:
    """GNU .mo bytes for the translated entries (untranslated ones fall back to English)."""
    pairs: dict[bytes, bytes] = {}
    for key, forms in entries.items():
        if not forms or not all(forms):
            if key != "":
                continue
        if isinstance(key, tuple):
            pairs["\0".join(key).encode()] = "\0".join(forms).encode()
        else:
            pairs[key.encode()] = forms[0].encode()
    ids = sorted(pairs)
    offsets_start = 7 * 4
    table = offsets_start + len(ids) * 16
    ids_blob = b"".join(i + b"\0" for i in ids)
    strs_blob = b"".join(pairs[i] + b"\0" for i in ids)
    id_offsets, str_offsets = [], []
    pos = table
    for i in ids:
        id_offsets += [len(i), pos]
        pos += len(i) + 1
    for i in ids:
        str_offsets += [len(pairs[i]), pos]
        pos += len(pairs[i]) + 1
    head = struct.pack(
        "<7I", 0x950412DE, 0, len(ids), offsets_start, offsets_start + len(ids) * 8, 0, 0
    )
    return (
        head
        + struct.pack(f"<{len(id_offsets)}I", *id_offsets)
        + struct.pack(f"<{len(str_offsets)}I", *str_offsets)
        + ids_blob
        + strs_blob
    )


def paths(lang: str) -> tuple[Path, Path]:
    """The .po and .mo of one language."""
    folder = HERE / "locale" / lang / "LC_MESSAGES"
    return folder / "loa.po", folder / "loa.mo"


def problems() -> list[str]:
    """What is out of date: untranslated Vietnamese labels, stale .po or .mo files."""
    keys = extract()
    found: list[str] = []
    for lang in LOCALES:
        po, mo = paths(lang)
        entries = parse_po(po.read_text(encoding="utf-8")) if po.exists() else {}
        if render_po(keys, entries, lang) != (
            po.read_text(encoding="utf-8") if po.exists() else ""
        ):
            found.append(f"{po}: not in step with the code")
        if not mo.exists() or mo.read_bytes() != compile_mo(entries):
            found.append(f"{mo}: not compiled from {po.name}")
        if lang == "vi":
            found += [
                f"{po}: no translation for {k!r}" for k in keys if not all(entries.get(k) or [""])
            ]
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
    keys = extract()
    for lang in LOCALES:
        po, mo = paths(lang)
        po.parent.mkdir(parents=True, exist_ok=True)
        old = parse_po(po.read_text(encoding="utf-8")) if po.exists() else {}
        po.write_text(render_po(keys, old, lang), encoding="utf-8")
        entries = parse_po(po.read_text(encoding="utf-8"))
        mo.write_bytes(compile_mo(entries))
        missing = [k for k in keys if not all(entries.get(k) or [""])]
        print(f"{po}: {len(keys)} labels, {len(keys) - len(missing)} translated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
