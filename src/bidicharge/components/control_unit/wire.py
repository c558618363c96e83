"""The control unit's application protocol inside the CLS channel (live mode).

One JSON object per line, UTF-8, over the TLS connection that the SMGW's CLS proxy opens
to the control unit: the aEMP writes a payload (`DimmingCommand`, `LimitRelease`,
`StatusQuery`, tagged by ``"type"``), the control unit answers with one `CommandStatus`
line. A line cut off by the end of the stream is not a command (the proxy closes both
ends when either drops; the control unit never applies half a command). Field names are
the dataclass field names, units in the names (W, s).
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any, Final

from bidicharge.components.interfaces.i10_cls import (
    ClsPayload,
    CommandStatus,
    DimmingCommand,
    LimitRelease,
    StatusQuery,
)

PAYLOADS: Final[dict[str, type[Any]]] = {c.__name__: c for c in (DimmingCommand, LimitRelease, StatusQuery)}
MAX_LINE_BYTES: Final = 4096


class WireError(ValueError):
    """A line that is not one of the payloads (answered with a refusal, connection kept)."""


def _build(cls: type[Any], data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    if set(data) != names:
        raise WireError(f"{cls.__name__}: fields {sorted(data)} instead of {sorted(names)}")
    return cls(**data)


def encode_payload(payload: ClsPayload) -> bytes:
    return json.dumps({"type": type(payload).__name__, **asdict(payload)}, separators=(",", ":")).encode() + b"\n"


def decode_payload(line: bytes) -> ClsPayload:
    try:
        data = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("type") not in PAYLOADS:
        raise WireError("no known 'type'")
    cls = PAYLOADS[data.pop("type")]
    payload: ClsPayload = _build(cls, data)
    return payload


def encode_status(status: CommandStatus) -> bytes:
    return json.dumps(asdict(status), separators=(",", ":")).encode() + b"\n"


def decode_status(line: bytes) -> CommandStatus:
    try:
        data = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WireError("status must be an object")
    status: CommandStatus = _build(CommandStatus, data)
    return status
