"""Segments: conditions that pick LINE friends when used (text form, JSON form, SQL).

Start with `parse_segment` / `format_segment` for the text form, `Segment.to_json` /
`Segment.from_json` for storage, `validate_segment` to check one against the registered fields
and `lumo.segments.service` to count, list, preview and save in a workspace.
"""

from lumo.segments.errors import SegmentError, SegmentSyntaxError, SegmentValidationError
from lumo.segments.fields import FieldType, FunctionParam, SegmentField, SegmentFieldRegistry
from lumo.segments.model import (
    And,
    Condition,
    DateOffset,
    FunctionCondition,
    Node,
    Not,
    Op,
    Or,
    RelativeDay,
    Segment,
)
from lumo.segments.parser import parse_segment
from lumo.segments.printer import format_segment
from lumo.segments.validation import validate_segment

__all__ = [
    "And",
    "Condition",
    "DateOffset",
    "FieldType",
    "FunctionCondition",
    "FunctionParam",
    "Node",
    "Not",
    "Op",
    "Or",
    "RelativeDay",
    "Segment",
    "SegmentError",
    "SegmentField",
    "SegmentFieldRegistry",
    "SegmentSyntaxError",
    "SegmentValidationError",
    "format_segment",
    "parse_segment",
    "validate_segment",
]
