"""Errors a user can cause, as data: a code, its parameters, and where it happened.

The words come from :data:`content.messages.CATALOGUE`, so the CLI, the TUI and the logs
say one error the same way, each in its language (:func:`content.messages.render`).
``str()`` is the English line, ``where: field: message``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from content.messages import Notice, message, render


class LoaError(Exception):
    """Base of every error Loa reports to a user: the CLI prints it on one line and exits 2.

    ``code`` names the message in the catalogue and ``params`` fill it in; ``field`` is the
    flag, form field or column at fault, ``where`` the file and line (or CSV row) it was
    found at (a :class:`~content.messages.Notice` when it has words to translate).
    ``details`` are further lines shown under the message (one per bad CSV row), each a
    :class:`~content.messages.Notice`, an error or plain text.
    """

    exit_code = 2

    def __init__(
        self,
        code: str,
        /,
        *,
        field: str | None = None,
        where: str | None = None,
        details: Sequence[Notice | LoaError | str] = (),
        **params: Any,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
        self.field = field
        self.where = where
        self.details: list[Notice | LoaError | str] = list(details)

    @property
    def message(self) -> str:
        """The English message alone, without where and field."""
        return message(self.code, self.params, "en")

    def notice(self) -> Notice:
        """The message alone as a :class:`Notice`, to be the reason inside another one."""
        return Notice(self.code, **self.params)

    def located(self, *, field: str | None = None, where: str | None = None) -> LoaError:
        """A copy of this error that names ``field`` and/or ``where`` instead."""
        moved = copy.copy(self)
        if field is not None:
            moved.field = field
        if where is not None:
            moved.where = where
        return moved

    def __str__(self) -> str:
        return render(self, "en")

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword parameters do not survive Exception's default pickling (args only).
        return (_rebuild, (type(self), self.code, self.__dict__))


def _rebuild(cls: type[LoaError], code: str, state: dict[str, Any]) -> LoaError:
    error = cls.__new__(cls)
    Exception.__init__(error, code)
    error.__dict__.update(state)
    return error


class ValidationError(LoaError):
    """Input refused before anything was written (a post, a CSV row, a flag)."""


class NotFound(LoaError):
    """A post, delivery or channel named by the user does not exist."""


class StateError(LoaError):
    """The requested change is not allowed in the object's current state."""
