"""SML 1.04 (Smart Message Language, BSI TR-03109-1 Anlage IV): encoder and decoder.

Sans-I/O: `encode_file(messages) -> bytes`, `decode_file(bytes) -> SmlFile` and the
incremental `SmlStreamDecoder` for a meter's byte stream; `reading_messages` and
`parse_reading` map a bidirectional meter's registers (OBIS 1.8.0, 2.8.0, 16.7.0) to and
from the messages a real meter sends.
"""

from bidicharge.architecture.registry import ProtocolSpec

from .crc import crc16_x25
from .errors import LocalProtocolError, RemoteProtocolError, SmlError
from .messages import (
    GetListRes,
    ListEntry,
    Message,
    PublicCloseRes,
    PublicOpenRes,
    SecIndex,
    SmlTime,
    Timestamp,
    decode_message,
    encode_message,
)
from .meter import MeterReading, entry_value, parse_reading, reading_messages, server_id
from .obis import ACTIVE_POWER_TOTAL, EXPORT_ENERGY_TOTAL, IMPORT_ENERGY_TOTAL, PUBLIC_KEY, Obis, Unit
from .transport import SmlFile, SmlStreamDecoder, decode_file, decode_payload, encode_file

PROTOCOL = ProtocolSpec(
    name="SML 1.04",
    package=__name__,
    interfaces=("I-15",),
    standard="SML 1.04 (BSI TR-03109-1 Anlage IV), transport protocol v1",
)

__all__ = [
    "ACTIVE_POWER_TOTAL",
    "EXPORT_ENERGY_TOTAL",
    "IMPORT_ENERGY_TOTAL",
    "PROTOCOL",
    "PUBLIC_KEY",
    "GetListRes",
    "ListEntry",
    "LocalProtocolError",
    "Message",
    "MeterReading",
    "Obis",
    "PublicCloseRes",
    "PublicOpenRes",
    "RemoteProtocolError",
    "SecIndex",
    "SmlError",
    "SmlFile",
    "SmlStreamDecoder",
    "SmlTime",
    "Timestamp",
    "Unit",
    "crc16_x25",
    "decode_file",
    "decode_payload",
    "decode_message",
    "encode_file",
    "encode_message",
    "entry_value",
    "parse_reading",
    "reading_messages",
    "server_id",
]
