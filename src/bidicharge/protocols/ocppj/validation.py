"""Schema validation of OCPP payloads with fastjsonschema.

Each official schema (vendored under ``schemas/``) is compiled to Python at most once per
process, on first use, and cached; compiled validators are shared by every connection.
fastjsonschema enforces ``"format": "date-time"`` (RFC 3339), so ``"yesterday"`` is refused.

A failed rule is mapped to the OCPP-J error code of Part 4 §4.3:
``type`` -> TypeConstraintViolation; ``required``/``minItems``/``maxItems`` ->
OccurrenceConstraintViolation; value rules (``enum``, ``maxLength``, ``minimum``, ``maximum``,
``format``) -> PropertyConstraintViolation; anything else (e.g. an unknown property under
``additionalProperties: false``) -> FormatViolation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib.resources import files
from typing import Any, Final

import fastjsonschema

from .errors import ErrorCode
from .versions import OcppVersion

RULE_CODES: Final = {
    "type": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "required": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "minItems": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "maxItems": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "enum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "maxLength": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minLength": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minimum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "maximum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "format": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "pattern": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
}


class SchemaViolation(Exception):
    """A payload does not match its schema; ``code`` is the OCPP-J error code to answer."""

    def __init__(self, schema: str, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{schema}: {detail}")
        self.schema = schema
        self.code = code
        self.detail = detail


def load_schema(version: OcppVersion, schema: str) -> dict[str, Any]:
    """The official schema ``<schema>.json`` of ``version`` as a dict."""
    text = files("bidicharge.protocols.ocppj").joinpath("schemas", version.package, f"{schema}.json").read_text(
        encoding="utf-8"
    )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def compiled(version: OcppVersion, schema: str) -> Callable[[Any], Any]:
    """The compiled validator of one schema; compiled once per process."""
    validator: Callable[[Any], Any] = fastjsonschema.compile(load_schema(version, schema))
    return validator


def validate(version: OcppVersion, schema: str, payload: Any) -> None:
    """Raise ``SchemaViolation`` when ``payload`` does not match ``schema``."""
    try:
        compiled(version, schema)(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        rule = exc.rule or ""
        raise SchemaViolation(schema, RULE_CODES.get(rule, ErrorCode.FORMAT_VIOLATION), exc.message) from None
