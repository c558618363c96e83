"""The generated message dataclasses, one module per XML namespace.

Field names are snake_case; each field's XML wire name is in its metadata
(``dataclasses.fields(cls)[i].metadata["xml"]``), generated from the schema, never computed.
"""

from ._generated import ac, acdp, app_protocol, common_messages, common_types, dc, wpt, xmldsig

__all__ = ["ac", "acdp", "app_protocol", "common_messages", "common_types", "dc", "wpt", "xmldsig"]
