"""Helpers the generated message classes use to move values to and from their JSON wire form.

OCPP 2.x Part 2, "Primitive datatypes": ``dateTime`` is RFC 3339 with a time zone; the
schemas mark these fields ``"format": "date-time"``. Inside bidicharge they are aware
``datetime`` objects; on the wire ``Z`` stands for UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta

_ZERO = timedelta(0)


def parse_datetime(text: str) -> datetime:
    """RFC 3339 text (already checked by the schema) to an aware ``datetime``."""
    return datetime.fromisoformat(text.upper())


def format_datetime(value: datetime) -> str:
    """An aware ``datetime`` to RFC 3339 text; UTC is written with ``Z``."""
    text = value.isoformat()
    if value.utcoffset() == _ZERO and text.endswith("+00:00"):
        return text[:-6] + "Z"
    return text
