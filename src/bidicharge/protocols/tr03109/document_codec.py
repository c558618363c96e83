"""JSON encoding of meter-data documents (the content inside the CMS envelope).

TR-03109-1 Anlage II carries COSEM/XML on the WAN; bidicharge uses a documented JSON of
the same information (docs/smgw.md) because every EMT of the simulated world is ours.
The encoding is canonical (sorted keys, no spaces, decimals as strings) so the gateway
signs exactly what the EMT hashes; decoding is strict (``bad-document``).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import RemoteProtocolError
from .taf import MeterDataDocument, MeterValue, Taf, ValueStatus

FORMAT = "bidicharge-meterdata/1"


def encode_document(doc: MeterDataDocument) -> bytes:
    body = {
        "format": FORMAT,
        "gateway_id": doc.gateway_id,
        "meter_id": doc.meter_id,
        "emt_id": doc.emt_id,
        "taf": int(doc.taf),
        "profile_id": doc.profile_id,
        "sequence_no": doc.sequence_no,
        "created_at": doc.created_at,
        "period_start": doc.period_start,
        "period_end": doc.period_end,
        "on_request": doc.on_request,
        "values": [
            {
                "obis": v.obis,
                "captured_at": v.captured_at,
                "value": None if v.value is None else str(v.value),
                "unit": v.unit,
                "status": v.status.value,
                "tariff_stage": v.tariff_stage,
                "read_at": v.read_at,
            }
            for v in doc.values
        ],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise RemoteProtocolError(f"field {key!r} missing or not {kind}", reason="bad-document")
    return value


def _value(obj: Any) -> MeterValue:
    if not isinstance(obj, dict):
        raise RemoteProtocolError("value is not an object", reason="bad-document")
    raw = obj.get("value")
    try:
        status = ValueStatus(obj.get("status"))
        value = None if raw is None else Decimal(_get(obj, "value", str))
    except (ValueError, InvalidOperation):
        raise RemoteProtocolError(f"bad value {raw!r}", reason="bad-document") from None
    if (value is None) != (status is ValueStatus.MISSING):
        raise RemoteProtocolError("a value is absent exactly when its status is missing", reason="bad-document")
    stage = obj.get("tariff_stage")
    if stage is not None and not isinstance(stage, str):
        raise RemoteProtocolError("tariff_stage is not a string", reason="bad-document")
    read_at = obj.get("read_at")
    if read_at is not None and (isinstance(read_at, bool) or not isinstance(read_at, int | float)):
        raise RemoteProtocolError("read_at is not a time", reason="bad-document")
    return MeterValue(obis=_get(obj, "obis", str), captured_at=float(_get(obj, "captured_at", (int, float))),
                      value=value, unit=_get(obj, "unit", str), status=status, tariff_stage=stage,
                      read_at=None if read_at is None else float(read_at))


def decode_document(data: bytes) -> MeterDataDocument:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise RemoteProtocolError("content is not JSON", reason="bad-document") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise RemoteProtocolError(f"not a {FORMAT} document", reason="bad-document")
    values = _get(obj, "values", list)
    try:
        taf = Taf(_get(obj, "taf", int))
    except ValueError:
        raise RemoteProtocolError(f"unknown TAF {obj.get('taf')!r}", reason="bad-document") from None
    return MeterDataDocument(
        gateway_id=_get(obj, "gateway_id", str),
        meter_id=_get(obj, "meter_id", str),
        emt_id=_get(obj, "emt_id", str),
        taf=taf,
        profile_id=_get(obj, "profile_id", str),
        sequence_no=_get(obj, "sequence_no", int),
        created_at=float(_get(obj, "created_at", (int, float))),
        period_start=float(_get(obj, "period_start", (int, float))),
        period_end=float(_get(obj, "period_end", (int, float))),
        on_request=_get(obj, "on_request", bool),
        values=tuple(_value(v) for v in values),
    )
