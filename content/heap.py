"""Keep the garbage collector's full passes off the objects a long-running process starts with.

The TUI and the daemon build most of their objects at start-up (modules, the ORM's mappers,
Textual's styles and widgets, compiled statements) and keep them until they exit. CPython's
full (generation 2) collection walks every tracked object each time it runs: in the TUI that
was a 130-170 ms stall in the middle of a keystroke's redraw. Frozen objects are left out of
those walks; what the process allocates later is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Exempt every object alive now from future collections (call once start-up is done)."""
    gc.freeze()
