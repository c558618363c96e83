"""Schema-informed EXI codec for ISO 15118-20 (and SupportedAppProtocol).

W3C EXI 1.0 with the options ISO 15118-20 uses, generated from the vendored -20 XSDs by
``tools/gen_exi.py``. Public API::

    from bidicharge.protocols.exi import encode, decode, NS_COMMON_MESSAGES
    from bidicharge.protocols.exi.messages import common_messages as cm, common_types as ct

    data = encode(cm.SessionSetupReq(header=ct.MessageHeader(session_id=b"\\0" * 8, time_stamp=0),
                                     evccid="PIXV12345678901231"))
    msg = decode(data, NS_COMMON_MESSAGES)

Errors: `LocalProtocolError` (the message does not fit the schema) and
`RemoteProtocolError` (received bytes are not a valid document; carries the response code).
"""

from bidicharge.architecture.registry import ProtocolSpec

from .codec import (
    DEFAULT_CODEC,
    NS_AC,
    NS_ACDP,
    NS_APP_PROTOCOL,
    NS_COMMON_MESSAGES,
    NS_DC,
    NS_WPT,
    NS_XMLDSIG,
    SCHEMA_NAMESPACES,
    ExiCodec,
    decode,
    decode_element,
    encode,
    encode_fragment,
    namespace_of,
)
from .errors import ExiError, LocalProtocolError, RemoteProtocolError
from .wire_json import from_wire_dict, to_wire_dict

PROTOCOL = ProtocolSpec(
    name="EXI (ISO 15118-20 schema-informed)",
    package=__name__,
    interfaces=("I-01",),
    standard="W3C EXI 1.0 (Second Edition); ISO 15118-20:2022 XSDs; ISO 15118-2 AppProtocol XSD",
)

__all__ = [
    "DEFAULT_CODEC",
    "ExiCodec",
    "NS_AC",
    "NS_ACDP",
    "NS_APP_PROTOCOL",
    "NS_COMMON_MESSAGES",
    "NS_DC",
    "NS_WPT",
    "NS_XMLDSIG",
    "PROTOCOL",
    "SCHEMA_NAMESPACES",
    "ExiError",
    "from_wire_dict",
    "to_wire_dict",
    "LocalProtocolError",
    "RemoteProtocolError",
    "decode",
    "decode_element",
    "encode",
    "encode_fragment",
    "namespace_of",
]
