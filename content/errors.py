"""Errors a user can cause, each rendered as one line that says what and where."""

from __future__ import annotations


class LoaError(Exception):
    """Base of every error Loa reports to a user: the CLI prints it on one line and exits 2."""

    exit_code = 2
    #: Further lines shown under the message (e.g. one per bad CSV row).
    details: list[str] = []


class ValidationError(LoaError):
    """Input refused before anything was written (a post, a CSV row, a flag)."""

    def __init__(self, message: str, *, field: str | None = None, where: str | None = None):
        self.field = field
        self.where = where
        self.message = message
        parts = [p for p in (where, field) if p]
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class NotFound(LoaError):
    """A post, delivery or channel named by the user does not exist."""


class StateError(LoaError):
    """The requested change is not allowed in the object's current state."""
