"""Library errors and warnings in the user's language, for the screens.

The library's errors and the queue's warnings carry a code and parameters; the words are in
one catalogue (:mod:`content.messages`), so the TUI says them exactly as the CLI does, each
in its language. Text without a code (another program's message) is shown as written.
"""

from __future__ import annotations

from content.messages import render, say


def error_in_words(error: BaseException) -> str:
    """A library error in the current language, without the field name.

    The field is left out because a form shows the error beside its field; where it was
    found (a file and line, a CSV row) stays.
    """
    return render(error, field=False)


def in_words(text: str) -> str:
    """A warning or message from the library in the current language.

    A :class:`~content.messages.Notice` is said by its code; any other text as written.
    """
    return say(text)
