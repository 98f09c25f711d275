"""Errors a user can act on.

A ``LiucunError`` message is one human line naming what is wrong and how to fix it; the
CLI prints it alone (no traceback unless ``--debug``).
"""


class LiucunError(Exception):
    """A problem with the user's input or workspace, worded for the user."""


class SourceError(LiucunError):
    """A source file cannot be read as asked (missing columns, bad format, unreadable)."""


class StrictRejected(LiucunError):
    """``--strict`` ingest found bad rows, so nothing was loaded."""
