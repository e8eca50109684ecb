"""Infographic cards: declarative templates (content/templates/*.toml) drawn with Pillow.

A template names its fields and lists *blocks* (text, numbered list, icon, photo, rule)
stacked top to bottom in one or two columns, separately for portrait/square and for
landscape canvases. Every card shares one frame: a header band in the office's primary
colour with its logo and name, an accent stripe, and an optional footer band.

Text rules (see docs/libraries.md#pillow-and-vietnamese-text for why):

* every field is NFC-normalised before measuring: decomposed input renders identically;
* fonts use the RAQM layout engine explicitly, and we refuse to run without it, because
  Pillow silently falls back to BASIC, which misplaces stacked Vietnamese diacritics;
* lines are wrapped at word boundaries by *measured* advance width, and each block's font
  size is the largest that fits its box, found by our own binary search (Pillow 13's
  ``ImageText`` scaling mis-sizes); a field that cannot fit even at the block's minimum size
  is a :class:`ValidationError` naming the field, never clipped text;
* line height is the font's ascent + descent (not its size), so stacked marks such as
  "Ầ" or "Ộ" never touch the line above.

The package has one module a job, each importing only the ones before it:

* :mod:`.templates`: the template files, branding and colours, sizes, and the checks on
  the fields, size and photo a card is asked for;
* :mod:`.fitting`: the fonts, word wrap, and the largest size at which text fits a box;
* :mod:`.layout`: :func:`plan`, where everything goes (header, footer, each column's stack);
* :mod:`.drawing`: :func:`render`, the plan painted with Pillow, and the channel encoding.

The names below are the package's interface; the modules' other names are its own.
"""

from content.infographic.drawing import encode_for_channel, render
from content.infographic.fitting import FONT_DIR, FONT_FILES, FittedText, raqm_available
from content.infographic.layout import Placed, Plan, plan
from content.infographic.templates import (
    DEFAULT_SIZE,
    SIZES,
    TEMPLATE_DIR,
    Block,
    Branding,
    FieldInfo,
    Layout,
    Template,
    TemplateInfo,
    list_templates,
    sample_fields,
)

__all__ = [
    "DEFAULT_SIZE",
    "FONT_DIR",
    "FONT_FILES",
    "SIZES",
    "TEMPLATE_DIR",
    "Block",
    "Branding",
    "FieldInfo",
    "FittedText",
    "Layout",
    "Placed",
    "Plan",
    "Template",
    "TemplateInfo",
    "encode_for_channel",
    "list_templates",
    "plan",
    "raqm_available",
    "render",
    "sample_fields",
]
