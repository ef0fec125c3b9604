"""The errors a Segment raises, worded for the marketer who wrote it."""

from __future__ import annotations


class SegmentError(ValueError):
    """Base of every Segment problem; `str(error)` is a message a marketer can act on."""


class SegmentSyntaxError(SegmentError):
    """The text form could not be read; `column` is 1-based, `expected` says what would fit."""

    def __init__(self, column: int, expected: str, found: str | None = None) -> None:
        self.column = column
        self.expected = expected
        self.found = found
        message = f"at column {column}: {expected}"
        if found is not None:
            message += f", found {found}"
        super().__init__(message)


class SegmentValidationError(SegmentError):
    """The Segment reads fine but asks for something Lumo cannot evaluate as written."""

    def __init__(self, message: str, *, field: str | None = None, column: int | None = None):
        self.field = field
        self.column = column
        super().__init__(f"at column {column}: {message}" if column else message)


class SegmentNameTaken(SegmentValidationError):
    """Another saved Segment of the workspace already has this name."""
