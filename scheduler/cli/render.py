"""`loa render`: draw an infographic template to a file, or list the templates."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from content import infographic
from content.errors import ValidationError
from content.files import private_file, write_private
from content.i18n import _
from content.media import IMAGE_LIMITS

_SUFFIX_FORMAT = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``render`` command to ``loa``'s subcommands."""
    p = subparsers.add_parser(
        "render",
        help="render an infographic template to a PNG/JPEG file",
        description=(
            "Render an infographic. Example: loa render --template warning "
            '--field title="Cảnh giác lừa đảo qua mạng" -o canh-bao.png'
        ),
    )
    p.add_argument("--list", action="store_true", help="list the templates and their fields")
    p.add_argument("-t", "--template", metavar="NAME", help="template name (see --list)")
    p.add_argument(
        "-f",
        "--field",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=r"a template field; repeat for each field (\n in a value starts a new line)",
    )
    p.add_argument(
        "--size",
        default=infographic.DEFAULT_SIZE,
        help=f"WIDTHxHEIGHT, e.g. {', '.join(infographic.SIZES)} (default %(default)s)",
    )
    p.add_argument("--image", type=Path, metavar="PATH", help="photo for templates that take one")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="output file (.png or .jpg)")
    p.add_argument(
        "--for",
        dest="channel_kind",
        choices=sorted(IMAGE_LIMITS),
        help="encode as that platform wants it (format and byte limit) instead of by suffix",
    )
    p.add_argument("--office", help="office name in the header (default: from branding)")
    p.add_argument("--primary", help="primary colour, #RRGGBB")
    p.add_argument("--accent", help="accent colour, #RRGGBB")
    p.add_argument("--logo", type=Path, metavar="PATH", help="logo image for the header")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``loa render``; returns the exit code, raises LoaError on bad input."""
    if args.list:
        _print_templates()
        return 0
    if not args.template:
        raise ValidationError("render_no_template", field="render")
    if args.output is None:
        raise ValidationError("render_no_output", field="render")
    fields = parse_fields(args.field)
    img = infographic.render(
        args.template, fields, size=args.size, branding=_branding(args), image=args.image
    )
    if args.channel_kind:
        data, mime = infographic.encode_for_channel(img, args.channel_kind)
        write_private(args.output, data)
        print(
            _("wrote {file} ({mime}, {size} bytes, {width}x{height})").format(
                file=args.output,
                mime=mime,
                size=f"{len(data):,}",
                width=img.width,
                height=img.height,
            )
        )
        return 0
    fmt = _SUFFIX_FORMAT.get(args.output.suffix.lower())
    if fmt is None:
        raise ValidationError("render_suffix", field="--output", path=str(args.output))
    with private_file(args.output) as out:  # mode 600 (or the shared group's 660)
        if fmt == "PNG":
            img.save(out, "PNG", optimize=True)
        else:
            img.save(out, "JPEG", quality=92, optimize=True)
    print(
        _("wrote {file} ({width}x{height})").format(
            file=args.output, width=img.width, height=img.height
        )
    )
    return 0


def parse_fields(pairs: list[str]) -> dict[str, str]:
    """``["title=Cảnh báo", ...]`` -> ``{"title": "Cảnh báo"}``; each key at most once."""
    fields: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValidationError("field_format", field="--field", text=pair)
        if key in fields:
            raise ValidationError("field_twice", field="--field", name=key)
        fields[key] = value
    return fields


def _branding(args: argparse.Namespace) -> infographic.Branding:
    # The main CLI may put the office's configured branding on args; flags override it.
    base = getattr(args, "branding", None) or infographic.Branding()
    changes = {
        "office_name": args.office,
        "primary": args.primary,
        "accent": args.accent,
        "logo_path": args.logo,
    }
    return replace(base, **{k: v for k, v in changes.items() if v is not None})


def _print_templates() -> None:
    out = sys.stdout
    for t in infographic.list_templates():
        photo = {"required": " (needs --image)", "optional": " (--image optional)"}.get(t.image, "")
        out.write(f"{t.name:<14} {t.title}{photo}\n")
        out.write(f"{'':<14} {t.description}\n")
        for f in t.fields:
            flag = "required" if f.required else "optional"
            default = f", default {f.default!r}" if f.default else ""
            out.write(f"{'':<16}{f.name:<10} {flag}, max {f.max_chars} chars{default}\n")
        out.write(f"{'':<14} sizes: {', '.join(t.sizes)}\n\n")
